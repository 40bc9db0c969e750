"""Training the GAN behind ``train.py`` (``run``): fitted inside a run folder (``models.runs``
describes the folder) with checkpoints, TensorBoard, samples, FID and completion previews, a
graceful stop and a stop on divergence (``fitting``), under any strategy (``distribute``),
resumed from the run's newest checkpoint. Inference never imports this package: it loads
models through ``serving.loading``.
"""

import contextlib
import dataclasses
import functools
import glob
import hashlib
import logging
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import files
from dcgan_tf.evaluation import inception
from dcgan_tf.inpainting import masks as mask_lib
from dcgan_tf.inpainting.settings import search_settings
from dcgan_tf.models import averaging, gan, runs, sampling
from dcgan_tf.models.augment import parse_policy
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.photo import align
from dcgan_tf.serving import loading
from dcgan_tf.training import callbacks as run_callbacks, distribute, fitting, inputs
from dcgan_tf.training.fitting import TrainResult

log = logging.getLogger(__name__)

FIXED_LATENTS_SEED = 2 ** 31 - 1  # second seed word of the fixed sample latents
PREVIEW_MASKS = ("center", "left", "thick", "random")
PREVIEW_STEPS = 100  # steps of their search


@dataclasses.dataclass
class Networks:
    """The trained objects of a GAN run: the compiled DCGAN, its checkpoint and fixed latents."""

    gan: gan.DCGAN
    checkpoint: tf.train.Checkpoint
    fixed_latents: tf.Variable


def build_compiled_gan(config: TrainConfig, replicas: int = 1) -> Networks:
    """Builds G and D (``loading.build_gan_networks``), the compiled DCGAN, the fixed sample
    latents and their checkpoint.

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
    # The run records the template of its crop, so its model completes photos (--align) at
    # once; with --crop=align its faces are framed by it too.
    if config.crop == "align" or not config.face_template:
        config = dataclasses.replace(
            config, face_template=align.crop_template(config.crop, config.align_framing))
    strategy = _strategy(config, strategy, run_dir)
    keras.utils.set_random_seed(config.seed)
    run_dir, chief = _prepare_run_dir(config, run_dir, strategy)
    data = inputs.training_data(config, images, run_dir)
    # Under MultiWorkerMirroredStrategy every worker saves (saving may need collective reads),
    # but only the chief into the run; the others write to a private folder deleted at the end
    # (or, after a SIGKILL, when the worker starts again). Every worker restores from the run's
    # checkpoints (a folder all workers must see).
    save_dir = (os.path.join(run_dir, runs.CHECKPOINTS_DIR) if chief
                else _worker_save_dir(run_dir, strategy))
    try:
        networks, manager, restored = _build_or_restore(config, strategy, run_dir, save_dir)
        history = _fit_gan(networks, manager, data, config, run_dir=run_dir, chief=chief,
                           strategy=strategy, verbose=verbose, restored=restored)
    finally:
        if not chief:
            shutil.rmtree(save_dir, ignore_errors=True)
    return TrainResult(run_dir, run_callbacks.global_step(networks.gan), history, networks)


def _strategy(config: TrainConfig, strategy: tf.distribute.Strategy | None,
              run_dir: str) -> tf.distribute.Strategy:
    """``strategy``, or the one ``config.strategy`` names.

    Raises:
        ValueError: for several workers without a run folder they all share.
    """
    multi_worker = (config.strategy == "multi_worker" if strategy is None
                    else distribute.worker_count(strategy) > 1)
    if multi_worker and not run_dir:
        raise ValueError("--strategy=multi_worker needs --run_dir: every worker must train in "
                         "the same run folder (on storage all workers see)")
    return strategy or distribute.get_strategy(config.strategy, config.devices)


def _prepare_run_dir(config: TrainConfig, run_dir: str,
                     strategy: tf.distribute.Strategy) -> tuple[str, bool]:
    """The run folder (a new numbered one when ``run_dir`` is empty), checked writable and
    resumable with ``config``, and whether this worker is the chief; the chief makes its
    folders and saves the config.

    Raises:
        ValueError: naming the flag of an unwritable folder, or each flag that differs from the
            run's architecture.
    """
    if not run_dir:
        files.check_writable_dir(config.runs_dir, "runs_dir")
        run_dir = runs.new_run_dir(config.runs_dir, runs.default_run_name(config))
    chief = distribute.is_chief(strategy)
    if chief:
        files.check_writable_dir(run_dir, "run_dir")
        os.makedirs(run_dir, exist_ok=True)
    runs.check_resumable(runs.load_config(run_dir), config, run_dir)
    if chief:
        for name in (runs.CHECKPOINTS_DIR, runs.LOGS_DIR, runs.SAMPLES_DIR):
            os.makedirs(os.path.join(run_dir, name), exist_ok=True)
        runs.save_config(run_dir, config)
    log.info("Run folder: %s", run_dir)
    log.info("TensorBoard: tensorboard --logdir %s", os.path.join(run_dir, runs.LOGS_DIR))
    return run_dir, chief


def _build_or_restore(config: TrainConfig, strategy: tf.distribute.Strategy, run_dir: str,
                      save_dir: str) -> tuple[Networks, tf.train.CheckpointManager, str | None]:
    """The compiled networks under ``strategy``, restored from the run's newest checkpoint when
    it has one (with the learning rates of ``config``), the manager that saves them in
    ``save_dir``, and the checkpoint restored (None for a new run)."""
    checkpoint_dir = os.path.join(run_dir, runs.CHECKPOINTS_DIR)
    with strategy.scope():
        networks = build_compiled_gan(config, strategy.num_replicas_in_sync)
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
    return networks, manager, restored


def _fit_gan(networks: Networks, manager: tf.train.CheckpointManager, data: inputs.TrainingData,
             config: TrainConfig, *, run_dir: str, chief: bool, strategy: tf.distribute.Strategy,
             verbose, restored: str | None) -> dict:
    """Fits the GAN from its step to ``epochs * steps_per_epoch`` steps (``fitting.fit_in_run``)
    with the GAN's own callbacks (``_gan_callbacks``); returns the Keras history."""
    step = run_callbacks.global_step(networks.gan)
    total_steps = config.epochs * data.steps_per_epoch
    if restored:
        log.info("Resumed from %s at step %d of %d", restored, step, total_steps)
    return fitting.fit_in_run(
        networks.gan, manager, data.dataset, config, run_dir=run_dir, step=step,
        steps_per_epoch=data.steps_per_epoch, total_steps=total_steps,
        logs_dir=os.path.join(run_dir, runs.LOGS_DIR),
        extra_callbacks=functools.partial(_gan_callbacks, config, networks, data, run_dir),
        chief=chief, strategy=strategy, verbose=verbose, raise_flags="--epochs")


def _gan_callbacks(config: TrainConfig, networks: Networks, data: inputs.TrainingData,
                   run_dir: str, writer: tf.summary.SummaryWriter, guard) -> list:
    """The chief's callbacks of a GAN run: sample grids, and FID and completion previews when
    asked for."""
    extra = [run_callbacks.SampleGrid(networks.fixed_latents,
                                      os.path.join(run_dir, runs.SAMPLES_DIR),
                                      config.sample_every, writer, guard)]
    if config.fid_every:
        extra.append(_fid_monitor(config, data.images, writer, guard))
    if config.preview_every and len(data.held_out):
        extra.append(_completion_preview(config, data.held_out, writer, guard))
    elif config.preview_every:
        log.info("No completion previews: the run holds out no faces "
                 "(--held_out_faces=0 when it started)")
    return extra


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


def _fid_monitor(config: TrainConfig, training_images: np.ndarray,
                 writer: tf.summary.SummaryWriter, guard) -> run_callbacks.FIDMonitor:
    """The --fid_every callback: real images from --fid_real, else the first training images."""
    if config.fid_real:
        real = inputs.load_images(config, config.fid_real, max_images=config.fid_samples)
    else:
        real = training_images[:config.fid_samples]
    extractor = inception.FeatureExtractor(config.fid_inception)
    return run_callbacks.FIDMonitor(extractor, real, config.fid_samples, config.fid_every, writer,
                                    seed=sampling.FID_SEED, guard=guard)


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
