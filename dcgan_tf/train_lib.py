"""The injectable core behind ``train.py``: run directories, model building, resuming, ``fit``.

A run lives in ``<runs_dir>/NNNNN-<name>/``:
    config.json        the TrainConfig of the run
    checkpoints/       tf.train checkpoints (generator, discriminator, both optimizers, fixed z)
    logs/              TensorBoard events: scalars, sample grids, the G -> D graph
    samples/           step-NNNNNN.png grids of G(fixed z) and progress.gif
    encoder/           with ``train.py --encoder``: checkpoints of the encoder (and of the
                       generator step it was trained against); logs/encoder/ and
                       samples/encoder-step-NNNNNN.png hold its curves and reconstructions
"""

import dataclasses
import json
import logging
import os
import re
import shutil
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import callbacks as run_callbacks
from dcgan_tf import data, distribute, encoder as encoder_lib, gan, images as image_utils
from dcgan_tf import inception, masks as mask_lib, models, pretrained
from dcgan_tf.config import ARCHITECTURE_FIELDS, TrainConfig

log = logging.getLogger(__name__)

_RUN_DIR = re.compile(r"^(\d{5})-(.+)$")
CONFIG_FILE = "config.json"
ENCODER_DIR = "encoder"
FIXED_LATENTS_SEED = 2 ** 31 - 1  # second seed word of the fixed sample latents
FID_SEED = 2_000_003  # first seed word of the latents FID is measured on


class TrainingDiverged(ValueError):
    """The losses became NaN or infinite; the message says which step and how to resume."""


@dataclasses.dataclass
class Networks:
    """The trained objects of a run, as restored from its checkpoint."""

    gan: gan.DCGAN
    checkpoint: tf.train.Checkpoint
    fixed_latents: tf.Variable
    encoder: keras.Model | None = None  # when the run trained one (train.py --encoder)
    encoder_generator_step: int = -1  # the generator step the encoder was trained against


@dataclasses.dataclass
class TrainResult:
    """What a finished (or stopped) run reports: its folder, global step, the Keras history of
    this invocation and the networks as they are in this process."""

    run_dir: str
    step: int
    history: dict
    networks: Networks | None = None


def default_run_name(config: TrainConfig) -> str:
    """``run_name``, or a name from the data source and image size, e.g. ``celeba_train-64``."""
    if config.run_name:
        return config.run_name
    stem = os.path.splitext(os.path.basename(os.path.normpath(config.data)))[0] or "data"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    return f"{stem}-{config.image_size}"


def list_runs(runs_dir: str, name: str = "") -> list[str]:
    """Run folders in ``runs_dir`` (optionally only those called ``name``), oldest first."""
    if not os.path.isdir(runs_dir):
        return []
    runs = []
    for entry in os.listdir(runs_dir):
        match = _RUN_DIR.match(entry)
        if match and os.path.isdir(os.path.join(runs_dir, entry)) and name in ("", match[2]):
            runs.append((int(match[1]), os.path.join(runs_dir, entry)))
    return [path for _, path in sorted(runs)]


def new_run_dir(runs_dir: str, name: str) -> str:
    """Creates and returns ``<runs_dir>/<next number>-<name>``."""
    os.makedirs(runs_dir, exist_ok=True)
    numbers = [int(_RUN_DIR.match(os.path.basename(p))[1]) for p in list_runs(runs_dir)]
    path = os.path.join(runs_dir, f"{max(numbers, default=-1) + 1:05d}-{name}")
    os.makedirs(path)
    return path


def latest_run_dir(runs_dir: str, name: str = "") -> str:
    """The newest run (of that name, if given); ValueError if there is none."""
    runs = list_runs(runs_dir, name)
    if not runs:
        what = f"runs named {name!r}" if name else "runs"
        raise ValueError(f"--resume: no {what} to resume in --runs_dir {runs_dir}")
    return runs[-1]


def load_run_config(run_dir: str) -> TrainConfig | None:
    """The run's saved config, or None for a new (empty) run folder."""
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as handle:
            return TrainConfig.from_dict(json.load(handle))
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} is not a valid run config: {error}") from error


def check_resumable(saved: TrainConfig | None, config: TrainConfig, run_dir: str) -> None:
    """Refuses to resume with a different architecture than the checkpoint was trained with."""
    if saved is None:
        return
    changed = [f"--{field} {getattr(saved, field)} -> {getattr(config, field)}"
               for field in ARCHITECTURE_FIELDS if getattr(saved, field) != getattr(config, field)]
    if changed:
        raise ValueError(f"cannot resume {run_dir} with a different architecture: "
                         f"{', '.join(changed)}")


def build_networks(config: TrainConfig, replicas: int = 1) -> Networks:
    """Builds G, D, the compiled DCGAN, the fixed sample latents and their checkpoint.

    Call inside ``strategy.scope()``.
    """
    synchronized = config.sync_batchnorm and replicas > 1
    generator = models.build_generator(config.latent_dim, config.image_size, config.g_filters,
                                       config.kernel_size, synchronized_bn=synchronized)
    discriminator = models.build_discriminator(config.image_size, config.d_filters,
                                               config.kernel_size, synchronized_bn=synchronized)
    model = gan.DCGAN(generator, discriminator, g_loss=config.g_loss, g_steps=config.g_steps,
                      seed=config.seed, latent_prior=config.latent_prior)
    average = {"use_ema": True, "ema_momentum": config.g_ema} if config.g_ema else {}
    model.compile(
        d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta1),
        g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=config.beta1, **average))
    fixed_latents = tf.Variable(
        gan.sample_latents([config.num_samples, config.latent_dim],
                           tf.constant([config.seed, FIXED_LATENTS_SEED], tf.int64),
                           config.latent_prior),
        trainable=False, name="fixed_latents")
    checkpoint = tf.train.Checkpoint(
        generator=generator, discriminator=discriminator, d_optimizer=model.d_optimizer,
        g_optimizer=model.g_optimizer, fixed_latents=fixed_latents)
    return Networks(model, checkpoint, fixed_latents)


def restore_latest(networks: Networks, checkpoint_dir: str) -> str | None:
    """Restores the newest checkpoint in ``checkpoint_dir``, if any; returns its path."""
    path = tf.train.latest_checkpoint(checkpoint_dir)
    if path:
        networks.checkpoint.restore(path).assert_existing_objects_matched()
    return path


def load_networks(model: str = "", runs_dir: str = "runs") -> tuple[TrainConfig, Networks]:
    """Builds a run's networks and restores a checkpoint, for inference. When the run kept a
    moving average of the generator's weights (--g_ema), the generator holds that average.

    Args:
        model: a run folder (its newest checkpoint), a checkpoint prefix such as
            ``runs/00000-x/checkpoints/ckpt-1200``, the name of a packaged model (e.g.
            ``celeba64``), or "" for the newest run in ``runs_dir`` (the packaged default model
            when there is none).
        runs_dir: where to look when ``model`` is empty.

    Raises:
        ValueError: naming --model when it is none of these, or has no checkpoint.
    """
    if not model:
        try:
            model = latest_run_dir(runs_dir)
        except ValueError:
            if not pretrained.model_dir(pretrained.DEFAULT_MODEL):
                raise
            model = pretrained.DEFAULT_MODEL
            log.info("No run in %s: using the packaged model %s", runs_dir, model)
    packaged = None if os.path.exists(model) else pretrained.model_dir(model)
    if packaged:
        return _load_packaged(packaged)
    if os.path.exists(model + ".index"):
        checkpoint, run_dir = model, os.path.dirname(os.path.dirname(os.path.abspath(model)))
    elif os.path.isdir(model):
        run_dir = model
        checkpoint = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
        if checkpoint is None:
            raise ValueError(f"--model {model} has no checkpoint in checkpoints/")
    else:
        names = ", ".join(pretrained.available()) or "none"
        raise ValueError(f"--model must be a run folder, a checkpoint prefix or a packaged model "
                         f"name (packaged: {names}); got {model}")
    config = load_run_config(run_dir)
    if config is None:
        raise ValueError(f"--model {model}: {os.path.join(run_dir, CONFIG_FILE)} is missing")
    networks = build_networks(config)
    networks.checkpoint.restore(checkpoint).expect_partial().assert_existing_objects_matched()
    generator = networks.gan.generator
    networks.gan.g_optimizer.finalize_variable_values(generator.trainable_variables)
    networks.encoder, networks.encoder_generator_step = _restore_encoder(
        config, os.path.join(run_dir, ENCODER_DIR), run_callbacks.global_step(networks.gan))
    return config, networks


def _encoder_checkpoint(config: TrainConfig) -> tuple[keras.Model, tf.train.Checkpoint]:
    """A new encoder for a run's config, and its checkpoint (with the generator step it was
    trained against, -1 until set)."""
    encoder = models.build_encoder(config.image_size, config.latent_dim, config.encoder_filters,
                                   config.kernel_size, config.latent_prior)
    generator_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="generator_step")
    return encoder, tf.train.Checkpoint(encoder=encoder, generator_step=generator_step)


def _restore_encoder(config: TrainConfig, directory: str,
                     gan_step: int) -> tuple[keras.Model | None, int]:
    """The run's newest encoder and the generator step it was trained against, or (None, -1)
    when it has none or it does not fit the config (a warning says so); warns when it was
    trained against another generator checkpoint than the one loaded (it then starts
    completions less well)."""
    path = tf.train.latest_checkpoint(directory)
    if path is None:
        return None, -1
    encoder, checkpoint = _encoder_checkpoint(config)
    try:
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        log.warning("Ignoring the encoder %s: it does not fit --encoder_filters=%d (%s)", path,
                    config.encoder_filters, str(error).splitlines()[0])
        return None, -1
    trained_against = int(checkpoint.generator_step.numpy())
    if trained_against != gan_step:
        log.warning("The encoder %s was trained against the generator at step %d, but the "
                    "generator loaded is at step %d; retrain it with train.py --encoder",
                    path, trained_against, gan_step)
    return encoder, trained_against


def _load_packaged(directory: str) -> tuple[TrainConfig, Networks]:
    """A packaged model's networks (its generator weights are already the averaged ones)."""
    config = load_run_config(directory)
    networks = build_networks(config)
    networks.gan.generator.load_weights(os.path.join(directory, pretrained.GENERATOR_FILE))
    networks.gan.discriminator.load_weights(
        os.path.join(directory, pretrained.DISCRIMINATOR_FILE))
    if os.path.isfile(os.path.join(directory, pretrained.ENCODER_FILE)):
        networks.encoder, _ = _encoder_checkpoint(config)
        networks.encoder.load_weights(os.path.join(directory, pretrained.ENCODER_FILE))
        networks.encoder_generator_step = run_callbacks.global_step(networks.gan)
    return config, networks


def run(config: TrainConfig, *, run_dir: str = "", images: np.ndarray | None = None,
        strategy: tf.distribute.Strategy | None = None, verbose="auto") -> TrainResult:
    """Trains (or resumes) a run until ``epochs * steps_per_epoch`` steps are done.

    Args:
        config: validated here; its architecture must match the run's saved config.
        run_dir: the run folder (resumed if it has checkpoints); empty = a new numbered run.
        images: uint8 [N, S, S, 3] to train on instead of loading ``config.data``.
        strategy: distribution strategy; None = ``distribute.get_strategy(config.strategy)``.
        verbose: Keras progress bar setting; "auto" = a live bar on a terminal, one line per
            epoch when the output goes to a file.

    Returns:
        The run folder, the final global step and the Keras history of this invocation.
    """
    config.validate()
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    multi_worker = (config.strategy == "multi_worker" if strategy is None
                    else distribute.worker_count(strategy) > 1)
    if multi_worker and not run_dir:
        raise ValueError("--strategy=multi_worker needs --run_dir: every worker must train in "
                         "the same run folder (on storage all workers see)")
    strategy = strategy or distribute.get_strategy(config.strategy, config.devices)
    keras.utils.set_random_seed(config.seed)
    if not run_dir:
        image_utils.check_writable_dir(config.runs_dir, "runs_dir")
        run_dir = new_run_dir(config.runs_dir, default_run_name(config))
    chief = distribute.is_chief(strategy)
    if chief:
        image_utils.check_writable_dir(run_dir, "run_dir")
        os.makedirs(run_dir, exist_ok=True)
    check_resumable(load_run_config(run_dir), config, run_dir)
    paths = {name: os.path.join(run_dir, name) for name in ("checkpoints", "logs", "samples")}
    if chief:
        for path in paths.values():
            os.makedirs(path, exist_ok=True)
        image_utils.atomic_write(os.path.join(run_dir, CONFIG_FILE),
                                 lambda temporary: _write_text(temporary, config.to_json()))
    log.info("Run folder: %s", run_dir)
    log.info("TensorBoard: tensorboard --logdir %s", paths["logs"])

    if images is None:
        images = data.load_images(config.data, crop=config.crop, image_size=config.image_size,
                                  max_images=config.max_images,
                                  synthetic_images=config.synthetic_images, seed=config.seed)
    steps_per_epoch = config.steps_per_epoch or max(1, len(images) // config.batch_size)
    total_steps = config.epochs * steps_per_epoch
    dataset = data.training_dataset(images, config.batch_size, seed=config.seed, flip=config.flip)

    # Under MultiWorkerMirroredStrategy every worker saves (saving may need collective reads),
    # but only the chief into the run; the others write to a private folder deleted at the end.
    # Every worker restores from the run's checkpoints (a folder all workers must see).
    save_dir = paths["checkpoints"] if chief else tempfile.mkdtemp(prefix="dcgan-worker-ckpt-")
    try:
        with strategy.scope():
            networks = build_networks(config, strategy.num_replicas_in_sync)
            manager = tf.train.CheckpointManager(networks.checkpoint, save_dir,
                                                 max_to_keep=config.keep_checkpoints)
            restored = restore_latest(networks, paths["checkpoints"])
            for optimizer in (networks.gan.d_optimizer, networks.gan.g_optimizer):
                optimizer.learning_rate = config.learning_rate  # --learning_rate wins on resume
        model = networks.gan
        step = run_callbacks.global_step(model)
        if restored:
            log.info("Resumed from %s at step %d of %d", restored, step, total_steps)
        history = {}
        if step < total_steps:
            writer = tf.summary.create_file_writer(paths["logs"]) if chief else None
            guard = run_callbacks.StopOnNonFinite()  # first: it vetoes the saves of its step
            together = strategy if distribute.worker_count(strategy) > 1 else None
            callbacks = [guard, run_callbacks.GracefulStop(together),
                         run_callbacks.PeriodicCheckpoint(manager, config.checkpoint_every,
                                                          guard)]
            if chief:
                callbacks += [run_callbacks.TensorBoardLogger(writer, config.log_every),
                              run_callbacks.SampleGrid(networks.fixed_latents, paths["samples"],
                                                       config.sample_every, writer, guard)]
                if config.fid_every:
                    callbacks.append(_fid_monitor(config, images, writer, guard))
            history = _fit(model, dataset, callbacks, step, steps_per_epoch, total_steps,
                           verbose)
            if guard.diverged is not None:
                raise TrainingDiverged(_divergence_message(guard.diverged, run_dir,
                                                           paths["checkpoints"]))
        else:
            log.info("Run %s already reached %d steps; raise --epochs to train further",
                     run_dir, total_steps)
    finally:
        if not chief:
            shutil.rmtree(save_dir, ignore_errors=True)
    return TrainResult(run_dir, run_callbacks.global_step(model), history, networks)


def train_encoder(config: TrainConfig, run_dir: str, *, images: np.ndarray | None = None,
                  strategy: tf.distribute.Strategy | None = None,
                  verbose="auto") -> TrainResult:
    """Trains (or resumes) the run's encoder against its newest generator for
    ``config.encoder_steps`` steps in all (``train.py --encoder``), on the run's data pipeline.

    Args:
        config: the run's config (with any flags given on this command line); its architecture
            must match the run's.
        run_dir: a run folder with a GAN checkpoint.
        images: uint8 [N, S, S, 3] instead of loading ``config.data``.
        strategy: as for ``run``; the encoder's batch is the run's global batch.

    Returns:
        The run folder, the encoder's step, the Keras history and the networks (with the encoder).
    """
    config.validate()
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    saved = load_run_config(run_dir)
    check_resumable(saved, config, run_dir)
    encoder_dir = os.path.join(run_dir, ENCODER_DIR)
    if (saved and saved.encoder_filters != config.encoder_filters
            and tf.train.latest_checkpoint(encoder_dir)):
        raise ValueError(f"cannot resume the encoder of {run_dir} with a different width: "
                         f"--encoder_filters {saved.encoder_filters} -> {config.encoder_filters}")
    gan_checkpoint = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    if gan_checkpoint is None:
        raise ValueError(f"--encoder: {run_dir} has no GAN checkpoint to train an encoder "
                         f"against; train the GAN first")
    strategy = strategy or distribute.get_strategy(config.strategy, config.devices)
    if distribute.worker_count(strategy) > 1:
        raise ValueError("--encoder trains on one machine; use --strategy=mirrored for its GPUs")
    keras.utils.set_random_seed(config.seed)
    image_utils.check_writable_dir(run_dir, "run_dir")
    for path in (encoder_dir, os.path.join(run_dir, "samples")):
        os.makedirs(path, exist_ok=True)
    # Only the encoder's fields change in the run's config: the GAN's settings stay as trained.
    recorded = dataclasses.replace(saved or config, encoder_filters=config.encoder_filters,
                                   encoder_steps=config.encoder_steps,
                                   encoder_learning_rate=config.encoder_learning_rate)
    image_utils.atomic_write(os.path.join(run_dir, CONFIG_FILE),
                             lambda temporary: _write_text(temporary, recorded.to_json()))
    if images is None:
        images = data.load_images(config.data, crop=config.crop, image_size=config.image_size,
                                  max_images=config.max_images,
                                  synthetic_images=config.synthetic_images, seed=config.seed)
    steps_per_epoch = min(config.steps_per_epoch or max(1, len(images) // config.batch_size),
                          config.encoder_steps)
    dataset = data.training_dataset(images, config.batch_size, seed=config.seed, flip=config.flip)

    with strategy.scope():
        networks = build_networks(config, strategy.num_replicas_in_sync)
        networks.checkpoint.restore(gan_checkpoint).expect_partial() \
            .assert_existing_objects_matched()
        gan_step = run_callbacks.global_step(networks.gan)
        encoder, checkpoint = _encoder_checkpoint(config)
        trainer = encoder_lib.EncoderTrainer(
            encoder, networks.gan.generator, image_size=config.image_size,
            latent_prior=config.latent_prior, seed=config.seed)
        trainer.compile(keras.optimizers.Adam(config.encoder_learning_rate))
        checkpoint.optimizer = trainer.optimizer
        manager = tf.train.CheckpointManager(checkpoint, encoder_dir,
                                             max_to_keep=config.keep_checkpoints)
        restored = manager.latest_checkpoint
        if restored:
            checkpoint.restore(restored).assert_existing_objects_matched()
            trainer.optimizer.learning_rate = config.encoder_learning_rate
    networks.gan.g_optimizer.finalize_variable_values(networks.gan.generator.trainable_variables)
    previous = int(checkpoint.generator_step.numpy())
    if restored and previous != gan_step:
        log.warning("Resuming the encoder trained against the generator at step %d with the "
                    "generator at step %d", previous, gan_step)
    checkpoint.generator_step.assign(gan_step)
    networks.encoder, networks.encoder_generator_step = encoder, gan_step
    step = run_callbacks.global_step(trainer)
    log.info("Training the encoder of %s against %s%s", run_dir, gan_checkpoint,
             f", resumed from {restored} at step {step}" if restored else "")
    history = {}
    if step < config.encoder_steps:
        writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs", ENCODER_DIR))
        shown = images[:8].astype(np.float32) / 127.5 - 1.0
        kinds = ("center", "random", "left", "thick", "box", "medium", "top", "known")
        shown_masks = np.stack([
            np.ones_like(shown[0, ..., :1]) if kind == "known" else
            mask_lib.make_masks(kind, 1, config.image_size, seed=index)[0]
            for index, kind in enumerate(kinds[:len(shown)])])
        guard = run_callbacks.StopOnNonFinite()
        callbacks = [guard, run_callbacks.GracefulStop(),
                     run_callbacks.PeriodicCheckpoint(manager, config.checkpoint_every, guard),
                     run_callbacks.TensorBoardLogger(writer, config.log_every, graph=False),
                     run_callbacks.ReconstructionGrid(shown, shown_masks,
                                                      os.path.join(run_dir, "samples"),
                                                      config.sample_every, writer, guard)]
        history = _fit(trainer, dataset, callbacks, step, steps_per_epoch, config.encoder_steps,
                       verbose)
        if guard.diverged is not None:
            raise TrainingDiverged(_divergence_message(
                guard.diverged, run_dir, encoder_dir, "--encoder --encoder_learning_rate=3e-4"))
    else:
        log.info("The encoder of %s already reached %d steps; raise --encoder_steps to train "
                 "further", run_dir, config.encoder_steps)
    return TrainResult(run_dir, run_callbacks.global_step(trainer), history, networks)


def _divergence_message(diverged, run_dir: str, checkpoint_dir: str,
                        lower_rate: str = "--learning_rate=1e-4") -> str:
    step, losses = diverged
    last = tf.train.latest_checkpoint(checkpoint_dir)
    kept = (f"the last good checkpoint, {os.path.basename(last)}, is kept" if last
            else "no checkpoint was written before it")
    return (f"training diverged at step {step}: {', '.join(losses)} became NaN or infinite, so "
            f"the run stopped without saving; {kept}. Resume from it with a lower learning "
            f"rate: python train.py --run_dir={run_dir} {lower_rate}")


def _fid_monitor(config: TrainConfig, training_images: np.ndarray,
                 writer: tf.summary.SummaryWriter, guard) -> run_callbacks.FIDMonitor:
    """The --fid_every callback: real images from --fid_real, else the first training images."""
    if config.fid_real:
        real = data.load_images(config.fid_real, crop=config.crop, image_size=config.image_size,
                                max_images=config.fid_samples)
    else:
        real = training_images[:config.fid_samples]
    extractor = inception.FeatureExtractor(config.fid_inception)
    return run_callbacks.FIDMonitor(extractor, real, config.fid_samples, config.fid_every, writer,
                                    seed=FID_SEED, guard=guard)


def _fit(model, dataset, callbacks, step, steps_per_epoch, total_steps, verbose) -> dict:
    """Runs ``fit`` from global ``step`` to ``total_steps``: first the rest of a partly done
    epoch, then whole ones, then a last partial one when ``total_steps`` is not a multiple of
    ``steps_per_epoch``."""
    history = {}
    epoch, done_in_epoch = divmod(step, steps_per_epoch)
    phases = []
    if done_in_epoch:
        phases.append((epoch, epoch + 1, min(steps_per_epoch - done_in_epoch,
                                             total_steps - step)))
        epoch += 1
    whole = (total_steps - epoch * steps_per_epoch) // steps_per_epoch
    if whole > 0:
        phases.append((epoch, epoch + whole, steps_per_epoch))
        epoch += whole
    if total_steps - epoch * steps_per_epoch > 0:
        phases.append((epoch, epoch + 1, total_steps - epoch * steps_per_epoch))
    for initial_epoch, epochs, steps in phases:
        result = model.fit(dataset, initial_epoch=initial_epoch, epochs=epochs,
                           steps_per_epoch=steps, callbacks=callbacks, verbose=verbose,
                           shuffle=False)  # the dataset shuffles itself
        for name, values in result.history.items():
            history.setdefault(name, []).extend(values)
        if model.stop_training:
            break
    return history


def _write_text(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text + "\n")
