"""Training behind ``train.py``: the GAN (``run``) and its encoder (``train_encoder``), each
fitted inside a run folder (``dcgan_tf.runs`` describes the folder) with checkpoints,
TensorBoard, samples, a graceful stop and a stop on divergence. Inference never imports this
module: it loads models through ``dcgan_tf.loading``.
"""

import contextlib
import dataclasses
import glob
import hashlib
import logging
import os
import shutil
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import callbacks as run_callbacks, distribute, files, images as image_utils
from dcgan_tf.data import pipeline, synthetic
from dcgan_tf.evaluation import inception
from dcgan_tf.inpainting import masks as mask_lib
from dcgan_tf.inpainting.settings import search_settings
from dcgan_tf.models import averaging, gan, runs, sampling
from dcgan_tf.models.augment import parse_policy
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.photo import align, aligned_faces
from dcgan_tf.serving import loading
from dcgan_tf.training import encoder_trainer as encoder_lib

log = logging.getLogger(__name__)

FIXED_LATENTS_SEED = 2 ** 31 - 1  # second seed word of the fixed sample latents
PREVIEW_MASKS = ("center", "left", "thick", "random")
PREVIEW_STEPS = 100  # steps of their search


class TrainingDiverged(ValueError):
    """The losses became NaN or infinite; the message says which step and how to resume."""


@dataclasses.dataclass
class Networks:
    """The trained objects of a GAN run: the compiled DCGAN, its checkpoint and fixed latents."""

    gan: gan.DCGAN
    checkpoint: tf.train.Checkpoint
    fixed_latents: tf.Variable


@dataclasses.dataclass
class TrainResult:
    """What a finished (or stopped) run reports: its folder, global step, the Keras history of
    this invocation and the trained objects as they are in this process (``Networks`` for the
    GAN, the ``EncoderTrainer`` for the encoder)."""

    run_dir: str
    step: int
    history: dict
    trained: object = None


def build_networks(config: TrainConfig, replicas: int = 1) -> Networks:
    """Builds G, D, the compiled DCGAN, the fixed sample latents and their checkpoint.

    Call inside ``strategy.scope()``. Under --mixed_precision the networks compute in float16
    or bfloat16 (their variables, outputs and checkpoints stay float32) and, for float16, both
    optimizers scale the loss.
    """
    with _precision(config.mixed_precision):
        generator, discriminator = loading.build_gan_networks(
            config, synchronized_bn=config.sync_batchnorm and replicas > 1)
    model = gan.DCGAN(generator, discriminator, g_loss=config.g_loss, d_loss=config.d_loss,
                      g_steps=config.g_steps, seed=config.seed, latent_prior=config.latent_prior,
                      augment=parse_policy(config.augment))
    d_optimizer = keras.optimizers.Adam(config.d_rate, beta_1=config.beta1)
    if config.g_ema_kimg:
        g_optimizer = averaging.AveragingAdam(
            config.g_rate, beta_1=config.beta1, half_life_kimg=config.g_ema_kimg,
            rampup=config.g_ema_rampup, images_per_update=config.batch_size)
    else:
        g_optimizer = keras.optimizers.Adam(config.g_rate, beta_1=config.beta1)
    if config.mixed_precision == "float16":
        d_optimizer = keras.optimizers.LossScaleOptimizer(d_optimizer)
        g_optimizer = keras.optimizers.LossScaleOptimizer(g_optimizer)
    model.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer,
                  jit_compile=config.jit_compile)
    fixed_latents = tf.Variable(
        sampling.sample_latents([config.num_samples, config.latent_dim],
                                tf.constant([config.seed, FIXED_LATENTS_SEED], tf.int64),
                                config.latent_prior),
        trainable=False, name="fixed_latents")
    checkpoint = tf.train.Checkpoint(
        generator=generator, discriminator=discriminator, d_optimizer=model.d_optimizer,
        g_optimizer=model.g_optimizer, fixed_latents=fixed_latents, steps_done=model.steps_done)
    return Networks(model, checkpoint, fixed_latents)


@contextlib.contextmanager
def _precision(mixed_precision: str):
    """Within the block, new Keras layers compute in ``mixed_precision`` ("off", "float16",
    "bfloat16"); the global policy comes back after."""
    previous = keras.config.dtype_policy()
    if mixed_precision != "off":
        keras.config.set_dtype_policy(f"mixed_{mixed_precision}")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


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
        The run folder, the final global step, the Keras history of this invocation and the
        ``Networks``.
    """
    config.validate()
    if config.crop == "align" and not config.face_template:
        config = dataclasses.replace(config, face_template=align.DEFAULT_TEMPLATE)
    multi_worker = (config.strategy == "multi_worker" if strategy is None
                    else distribute.worker_count(strategy) > 1)
    if multi_worker and not run_dir:
        raise ValueError("--strategy=multi_worker needs --run_dir: every worker must train in "
                         "the same run folder (on storage all workers see)")
    strategy = strategy or distribute.get_strategy(config.strategy, config.devices)
    keras.utils.set_random_seed(config.seed)
    if not run_dir:
        files.check_writable_dir(config.runs_dir, "runs_dir")
        run_dir = runs.new_run_dir(config.runs_dir, runs.default_run_name(config))
    chief = distribute.is_chief(strategy)
    if chief:
        files.check_writable_dir(run_dir, "run_dir")
        os.makedirs(run_dir, exist_ok=True)
    runs.check_resumable(runs.load_config(run_dir), config, run_dir)
    checkpoint_dir = os.path.join(run_dir, runs.CHECKPOINTS_DIR)
    if chief:
        for name in (runs.CHECKPOINTS_DIR, runs.LOGS_DIR, runs.SAMPLES_DIR):
            os.makedirs(os.path.join(run_dir, name), exist_ok=True)
        runs.save_config(run_dir, config)
    log.info("Run folder: %s", run_dir)
    log.info("TensorBoard: tensorboard --logdir %s", os.path.join(run_dir, runs.LOGS_DIR))
    images, dataset, steps_per_epoch, preview_faces = _training_data(config, images, run_dir)

    # Under MultiWorkerMirroredStrategy every worker saves (saving may need collective reads),
    # but only the chief into the run; the others write to a private folder deleted at the end
    # (or, after a SIGKILL, when the worker starts again). Every worker restores from the run's
    # checkpoints (a folder all workers must see).
    save_dir = checkpoint_dir if chief else _worker_save_dir(run_dir, strategy)
    try:
        with strategy.scope():
            networks = build_networks(config, strategy.num_replicas_in_sync)
            manager = tf.train.CheckpointManager(networks.checkpoint, save_dir,
                                                 max_to_keep=config.keep_checkpoints)
            restored = tf.train.latest_checkpoint(checkpoint_dir)
            if restored:
                networks.checkpoint.restore(restored).assert_existing_objects_matched()
                if int(networks.gan.steps_done.numpy()) == 0:  # saved before steps_done
                    networks.gan.steps_done.assign(networks.gan.d_optimizer.iterations)
            # The learning rates given now win on resume.
            networks.gan.d_optimizer.learning_rate = config.d_rate
            networks.gan.g_optimizer.learning_rate = config.g_rate
        model = networks.gan
        step = run_callbacks.global_step(model)
        total_steps = config.epochs * steps_per_epoch
        if restored:
            log.info("Resumed from %s at step %d of %d", restored, step, total_steps)

        def extra_callbacks(writer, guard):
            extra = [run_callbacks.SampleGrid(networks.fixed_latents,
                                              os.path.join(run_dir, runs.SAMPLES_DIR),
                                              config.sample_every, writer, guard)]
            if config.fid_every:
                extra.append(_fid_monitor(config, images, writer, guard))
            if config.preview_every and len(preview_faces):
                extra.append(_completion_preview(config, preview_faces, writer, guard))
            elif config.preview_every:
                log.info("No completion previews: the run holds out no faces "
                         "(--held_out_faces=0 when it started)")
            return extra

        history = _fit_in_run(
            model, manager, dataset, config, run_dir=run_dir, step=step,
            steps_per_epoch=steps_per_epoch, total_steps=total_steps,
            logs_dir=os.path.join(run_dir, runs.LOGS_DIR), extra_callbacks=extra_callbacks,
            chief=chief, strategy=strategy, verbose=verbose, raise_flags="--epochs")
    finally:
        if not chief:
            shutil.rmtree(save_dir, ignore_errors=True)
    return TrainResult(run_dir, run_callbacks.global_step(model), history, networks)


def _worker_save_dir(run_dir: str, strategy: tf.distribute.Strategy) -> str:
    """A new temporary folder for the checkpoints of this worker (not the chief), named after
    the run and the worker, once the folders of its earlier starts are deleted: a SIGKILLed
    worker, which the launcher restarts, never deletes its own."""
    resolver = strategy.cluster_resolver
    run_key = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:12]
    prefix = f"dcgan-worker-ckpt-{run_key}-{resolver.task_type}-{resolver.task_id}-"
    for stale in glob.glob(os.path.join(glob.escape(tempfile.gettempdir()), prefix + "*")):
        shutil.rmtree(stale, ignore_errors=True)
    return tempfile.mkdtemp(prefix=prefix)


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
        The run folder, the encoder's step, the Keras history and the ``EncoderTrainer``
        (``.encoder`` and the frozen ``.generator``).
    """
    config.validate()
    saved = runs.load_config(run_dir)
    runs.check_resumable(saved, config, run_dir)
    encoder_dir = os.path.join(run_dir, runs.ENCODER_DIR)
    if (saved and saved.encoder_filters != config.encoder_filters
            and tf.train.latest_checkpoint(encoder_dir)):
        raise ValueError(f"cannot resume the encoder of {run_dir} with a different width: "
                         f"--encoder_filters {saved.encoder_filters} -> {config.encoder_filters}")
    gan_checkpoint = tf.train.latest_checkpoint(os.path.join(run_dir, runs.CHECKPOINTS_DIR))
    if gan_checkpoint is None:
        raise ValueError(f"--encoder: {run_dir} has no GAN checkpoint to train an encoder "
                         f"against; train the GAN first")
    strategy = strategy or distribute.get_strategy(config.strategy, config.devices)
    if distribute.worker_count(strategy) > 1:
        raise ValueError("--encoder trains on one machine; use --strategy=mirrored for its GPUs")
    keras.utils.set_random_seed(config.seed)
    files.check_writable_dir(run_dir, "run_dir")
    for path in (encoder_dir, os.path.join(run_dir, runs.SAMPLES_DIR)):
        os.makedirs(path, exist_ok=True)
    # Only the encoder's fields change in the run's config: the GAN's settings stay as trained.
    runs.save_config(run_dir, dataclasses.replace(
        saved or config, encoder_filters=config.encoder_filters,
        encoder_steps=config.encoder_steps, encoder_learning_rate=config.encoder_learning_rate))
    images, dataset, steps_per_epoch, _ = _training_data(config, images, run_dir)

    with strategy.scope():
        generator, _ = loading.build_gan_networks(config)
        # The generator as inference loads it (its weights' average when the run keeps one).
        gan_step = loading.restore_gan(gan_checkpoint, config, generator)
        encoder, checkpoint = loading.encoder_checkpoint(config)
        trainer = encoder_lib.EncoderTrainer(
            encoder, generator, image_size=config.image_size,
            latent_prior=config.latent_prior, seed=config.seed)
        trainer.compile(keras.optimizers.Adam(config.encoder_learning_rate))
        checkpoint.optimizer = trainer.optimizer
        manager = tf.train.CheckpointManager(checkpoint, encoder_dir,
                                             max_to_keep=config.keep_checkpoints)
        restored = manager.latest_checkpoint
        if restored:
            checkpoint.restore(restored).assert_existing_objects_matched()
            trainer.optimizer.learning_rate = config.encoder_learning_rate
    previous = int(checkpoint.generator_step.numpy())
    if restored and previous != gan_step:
        log.warning("Resuming the encoder trained against the generator at step %d with the "
                    "generator at step %d", previous, gan_step)
    checkpoint.generator_step.assign(gan_step)
    step = run_callbacks.global_step(trainer)
    log.info("Training the encoder of %s against %s%s", run_dir, gan_checkpoint,
             f", resumed from {restored} at step {step}" if restored else "")

    def extra_callbacks(writer, guard):
        shown = image_utils.to_float(images[:8])
        kinds = ("center", "random", "left", "thick", "box", "medium", "top", "known")
        shown_masks = np.stack([
            np.ones_like(shown[0, ..., :1]) if kind == "known" else
            mask_lib.make_masks(kind, 1, config.image_size, seed=index)[0]
            for index, kind in enumerate(kinds[:len(shown)])])
        return [run_callbacks.ReconstructionGrid(shown, shown_masks,
                                                 os.path.join(run_dir, runs.SAMPLES_DIR),
                                                 config.sample_every, writer, guard)]

    history = _fit_in_run(
        trainer, manager, dataset, config, run_dir=run_dir, step=step,
        steps_per_epoch=min(steps_per_epoch, config.encoder_steps),
        total_steps=config.encoder_steps,
        logs_dir=os.path.join(run_dir, runs.LOGS_DIR, runs.ENCODER_DIR),
        extra_callbacks=extra_callbacks, graph=False, verbose=verbose,
        raise_flags="--encoder_steps", lower_rate="--encoder --encoder_learning_rate=3e-4")
    return TrainResult(run_dir, run_callbacks.global_step(trainer), history, trainer)


def _training_data(config: TrainConfig, images: np.ndarray | None, run_dir: str):
    """The run's training images (uint8 [N, S, S, 3], loaded from ``config.data`` unless given;
    with --crop=align the detected landmarks are kept in ``<run>/landmarks.npz``), its
    ``tf.data`` pipeline of global batches, the steps of one epoch, and the faces held out for
    completion previews (``_held_out``)."""
    if images is None:
        images = _load_images(config, config.data, max_images=config.max_images,
                              synthetic_images=config.synthetic_images, seed=config.seed,
                              landmarks_cache=os.path.join(run_dir, runs.LANDMARKS_FILE))
    held_out, images = _held_out(config, images)
    steps_per_epoch = config.steps_per_epoch or max(1, len(images) // config.batch_size)
    dataset = pipeline.training_dataset(images, config.batch_size, seed=config.seed,
                                        flip=config.flip)
    return images, dataset, steps_per_epoch, held_out


def _load_images(config: TrainConfig, source: str, *, max_images: int, landmarks_cache: str = "",
                 **synthetic) -> np.ndarray:
    """``source``'s images as the run trains on them, uint8 [N, S, S, 3]: cropped by
    ``config.crop`` (``pipeline.load_images``, where ``synthetic`` holds the synthetic faces'
    options), or with --crop=align each photo's face aligned to ``config.face_template``
    (``aligned_faces.load_aligned_faces``, its landmarks kept in ``landmarks_cache``)."""
    if config.crop == "align":
        return aligned_faces.load_aligned_faces(
            source, image_size=config.image_size, face_template=config.face_template,
            max_images=max_images, landmarks_cache=landmarks_cache)
    return pipeline.load_images(source, crop=config.crop, image_size=config.image_size,
                                max_images=max_images, **synthetic)


def _held_out(config: TrainConfig, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``config.held_out_faces`` faces for the completion previews that the run never trains on
    (uint8 [K, S, S, 3]), and the images it trains on: synthetic data gets faces of another
    stream (``synthetic.HELD_OUT_SEED``); other data gives up its first K images."""
    count = config.held_out_faces
    if config.data == "synthetic":
        return synthetic.faces(count, seed=synthetic.HELD_OUT_SEED,
                               image_size=config.image_size), images
    if len(images) < 2 * count:
        raise ValueError(f"--held_out_faces holds out {count} images for completion previews "
                         f"and {config.data} has only {len(images)}: give more, or "
                         f"--held_out_faces=0")
    return images[:count], images[count:]


def _completion_preview(config: TrainConfig, faces: np.ndarray,
                        writer: tf.summary.SummaryWriter, guard) -> run_callbacks.CompletionPreview:
    """The --preview_every callback: each held-out face with one of ``PREVIEW_MASKS`` (in turn),
    completed by ``PREVIEW_STEPS`` steps of the default search."""
    size = config.image_size
    kinds = [PREVIEW_MASKS[index % len(PREVIEW_MASKS)] for index in range(len(faces))]
    masks = np.concatenate([mask_lib.make_masks(kind, 1, size, seed=index)
                            for index, kind in enumerate(kinds)])
    settings = search_settings("default", steps=PREVIEW_STEPS).for_model(config.latent_prior)
    return run_callbacks.CompletionPreview(faces, masks, settings, config.preview_every, writer,
                                           guard)


def _fit_in_run(model: keras.Model, manager: tf.train.CheckpointManager, dataset,
                config: TrainConfig, *, run_dir: str, step: int, steps_per_epoch: int,
                total_steps: int, logs_dir: str, extra_callbacks, chief: bool = True,
                strategy: tf.distribute.Strategy | None = None, graph: bool = True,
                verbose="auto", raise_flags: str,
                lower_rate: str = "--learning_rate=1e-4") -> dict:
    """Fits ``model`` from global ``step`` to ``total_steps`` with the callbacks every run has:
    a stop on NaN/Inf losses (first, so it vetoes the saves of its step), a graceful stop on
    SIGINT/SIGTERM (agreed across workers), checkpoints through ``manager`` every
    ``config.checkpoint_every`` steps and at the end, and on the chief TensorBoard scalars in
    ``logs_dir`` (with the model's graph when ``graph``) plus
    ``extra_callbacks(writer, guard)``.

    Returns:
        The Keras history of this invocation ({} when ``step`` already reached the end).

    Raises:
        TrainingDiverged: saying how to resume with a lower rate (``lower_rate``).
    """
    if step >= total_steps:
        log.info("%s already reached %d steps; raise %s to train further", run_dir, total_steps,
                 raise_flags)
        return {}
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    guard = run_callbacks.StopOnNonFinite()
    together = strategy if strategy and distribute.worker_count(strategy) > 1 else None
    callbacks = [guard, run_callbacks.GracefulStop(together),
                 run_callbacks.PeriodicCheckpoint(manager, config.checkpoint_every, guard)]
    if chief:
        writer = tf.summary.create_file_writer(logs_dir)
        callbacks += [run_callbacks.TensorBoardLogger(writer, config.log_every, graph=graph),
                      *extra_callbacks(writer, guard)]
    history = _fit(model, dataset, callbacks, step, steps_per_epoch, total_steps, verbose)
    if guard.diverged is not None:
        diverged_step, losses = guard.diverged
        last = manager.latest_checkpoint
        kept = (f"the last good checkpoint, {os.path.basename(last)}, is kept" if last
                else "no checkpoint was written before it")
        raise TrainingDiverged(
            f"training diverged at step {diverged_step}: {', '.join(losses)} became NaN or "
            f"infinite, so the run stopped without saving; {kept}. Resume from it with a lower "
            f"learning rate: python train.py --run_dir={run_dir} {lower_rate}")
    return history


def _fid_monitor(config: TrainConfig, training_images: np.ndarray,
                 writer: tf.summary.SummaryWriter, guard) -> run_callbacks.FIDMonitor:
    """The --fid_every callback: real images from --fid_real, else the first training images."""
    if config.fid_real:
        real = _load_images(config, config.fid_real, max_images=config.fid_samples)
    else:
        real = training_images[:config.fid_samples]
    extractor = inception.FeatureExtractor(config.fid_inception)
    return run_callbacks.FIDMonitor(extractor, real, config.fid_samples, config.fid_every, writer,
                                    seed=sampling.FID_SEED, guard=guard)


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
