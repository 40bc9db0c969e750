"""Training the encoder E (``models.encoder``) of a run (``train_encoder``, ``train.py
--encoder``) against its frozen generator (BatchNorm in inference mode) on two batches per step,
each with masks drawn from a bank of every mask kind (plus no mask at all):
    generated images G(z):  latent loss ||E(G(z) masked) - z||^2 (in-domain inversion) and
                            image loss |G(E(G(z) masked)) - G(z)|
    real images x:          image loss |G(E(x masked)) - x|
    loss per example = the two image losses (each the mean L1 over all pixels, hole included)
                       + latent_weight (1 by default) * the latent loss (mean over z's entries).
"""

import dataclasses
import functools
import logging
import os

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import files, images as image_utils
from dcgan_tf.inpainting import masks as mask_lib
from dcgan_tf.models import losses, runs
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.models.encoder import encoder_inputs
from dcgan_tf.models.sampling import sample_latents
from dcgan_tf.serving import loading
from dcgan_tf.training import callbacks as run_callbacks, distribute, fitting, inputs
from dcgan_tf.training.fitting import TrainResult

log = logging.getLogger(__name__)

# Kinds in the training bank; each is drawn equally often, "known" (no hole) included.
TRAINING_MASK_KINDS = ("center", "random", "left", "right", "top", "bottom", "box", "thin",
                       "medium", "thick", "known")
MASK_BANK_SEED = 7_000_001  # never the seed of the benchmark's or complete.py's masks
MASKS_PER_KIND = 64



def mask_bank(image_size: int) -> np.ndarray:
    """float32 [K * MASKS_PER_KIND, S, S, 1]: ``MASKS_PER_KIND`` masks of every training kind."""
    bank = []
    for kind in TRAINING_MASK_KINDS:
        if kind == "known":
            bank.append(np.ones((MASKS_PER_KIND, image_size, image_size, 1), np.float32))
        else:
            bank.append(mask_lib.make_masks(kind, MASKS_PER_KIND, image_size,
                                            seed=MASK_BANK_SEED))
    return np.concatenate(bank)


class EncoderTrainer(keras.Model):
    """Trains ``encoder`` to invert the frozen ``generator`` (see the module docstring).

    ``fit`` it on batches of real images [b, S, S, 3] in [-1, 1]; it draws as many latents.
    """

    def __init__(self, encoder: keras.Model, generator: keras.Model, *, image_size: int,
                 latent_prior: str = "normal", latent_weight: float = 1.0, seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.generator = encoder, generator
        self.latent_dim = generator.input_shape[-1]
        self.latent_prior, self.latent_weight, self.seed = latent_prior, latent_weight, seed
        self.masks = tf.constant(mask_bank(image_size).astype(np.uint8))  # 4x smaller
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss", "latent_loss", "image_loss", "real_l1")}
        self.built = True

    def compile(self, optimizer: keras.optimizers.Optimizer, **kwargs):
        """Call inside the strategy scope (the optimizer's slots are built here)."""
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=optimizer, **kwargs)
        optimizer.build(self.encoder.trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.encoder(inputs, training=training)

    def _draw(self, count, replicas):
        """This replica's latents [count, L] and two mask batches [count, S, S, 1]."""
        step = tf.cast(self.optimizer.iterations, tf.int64)
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        seed = tf.stack([tf.constant(self.seed, tf.int64), step])
        latents = sample_latents([count * replicas, self.latent_dim], seed, self.latent_prior)
        picks = tf.random.stateless_uniform([2, count * replicas], seed + 1, 0,
                                            tf.shape(self.masks)[0], dtype=tf.int32)
        rows = tf.range(replica * count, (replica + 1) * count)
        local = tf.gather(picks, rows, axis=1)
        return (tf.gather(latents, rows), tf.cast(tf.gather(self.masks, local[0]), tf.float32),
                tf.cast(tf.gather(self.masks, local[1]), tf.float32))

    def train_step(self, real_images):
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        count = tf.shape(real_images)[0]
        latents, fake_masks, real_masks = self._draw(count, replicas)
        fake_images = self.generator(latents, training=False)
        targets = tf.concat([fake_images, real_images], axis=0)
        inputs = encoder_inputs(targets, tf.concat([fake_masks, real_masks], axis=0))
        with tf.GradientTape() as tape:
            estimates = self.encoder(inputs, training=True)
            latent_error = tf.reduce_mean(tf.square(estimates[:count] - latents), axis=1)
            image_error = tf.reduce_mean(
                tf.abs(self.generator(estimates, training=False) - targets), axis=[1, 2, 3])
            per_example = (image_error[:count] + image_error[count:]
                           + self.latent_weight * latent_error)
            loss = losses.average_over_global_batch(per_example, count * replicas)
        weights = self.encoder.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        values = {"loss": tf.reduce_mean(per_example), "latent_loss": tf.reduce_mean(latent_error),
                  "image_loss": tf.reduce_mean(image_error), "real_l1":
                  tf.reduce_mean(image_error[count:])}
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


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
        strategy: as for ``loop.run``; the encoder's batch is the run's global batch.

    Returns:
        The run folder, the encoder's step, the Keras history and the ``EncoderTrainer``
        (``.encoder`` and the frozen ``.generator``).
    """
    config.validate()
    saved, gan_checkpoint = _check_run(config, run_dir)
    strategy = strategy or distribute.get_strategy(config.strategy, config.devices)
    if distribute.worker_count(strategy) > 1:
        raise ValueError("--encoder trains on one machine; use --strategy=mirrored for its GPUs")
    keras.utils.set_random_seed(config.seed)
    _prepare_run_dir(config, run_dir, saved)
    data = inputs.training_data(config, images, run_dir)
    trainer, manager, gan_step = _build_or_restore(config, strategy, gan_checkpoint,
                                                   os.path.join(run_dir, runs.ENCODER_DIR))
    restored = manager.latest_checkpoint
    _pin_generator_step(manager.checkpoint, restored, gan_step)
    step = run_callbacks.global_step(trainer)
    log.info("Training the encoder of %s against %s%s", run_dir, gan_checkpoint,
             f", resumed from {restored} at step {step}" if restored else "")
    history = fitting.fit_in_run(
        trainer, manager, data.dataset, config, run_dir=run_dir, step=step,
        steps_per_epoch=min(data.steps_per_epoch, config.encoder_steps),
        total_steps=config.encoder_steps,
        logs_dir=os.path.join(run_dir, runs.LOGS_DIR, runs.ENCODER_DIR),
        extra_callbacks=functools.partial(_reconstruction_grid, config, data.images, run_dir),
        graph=False, verbose=verbose, raise_flags="--encoder_steps",
        lower_rate="--encoder --encoder_learning_rate=3e-4")
    return TrainResult(run_dir, run_callbacks.global_step(trainer), history, trainer)


def _check_run(config: TrainConfig, run_dir: str) -> tuple[TrainConfig | None, str]:
    """The run's saved config and its newest GAN checkpoint, after checking that ``config``
    fits the run (its architecture, and the encoder's width when the run has an encoder).

    Raises:
        ValueError: naming the flags that differ, or the run when it has no GAN checkpoint.
    """
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
    return saved, gan_checkpoint


def _prepare_run_dir(config: TrainConfig, run_dir: str, saved: TrainConfig | None) -> None:
    """Checks the run folder is writable, makes the encoder's folders and records the
    encoder's flags in the run's config (the GAN's settings stay as trained)."""
    files.check_writable_dir(run_dir, "run_dir")
    for path in (os.path.join(run_dir, runs.ENCODER_DIR), os.path.join(run_dir, runs.SAMPLES_DIR)):
        os.makedirs(path, exist_ok=True)
    runs.save_config(run_dir, dataclasses.replace(
        saved or config, encoder_filters=config.encoder_filters,
        encoder_steps=config.encoder_steps, encoder_learning_rate=config.encoder_learning_rate))


def _build_or_restore(config: TrainConfig, strategy: tf.distribute.Strategy,
                      gan_checkpoint: str, encoder_dir: str
                      ) -> tuple[EncoderTrainer, tf.train.CheckpointManager, int]:
    """Under ``strategy``: the generator as inference loads it from ``gan_checkpoint`` (its
    weights' average when the run keeps one), the compiled ``EncoderTrainer`` of a new encoder,
    restored from ``encoder_dir``'s newest checkpoint when there is one (with the learning rate
    of ``config``), the manager that saves it there, and the generator's step."""
    with strategy.scope():
        generator, _ = loading.build_gan_networks(config)
        gan_step = loading.restore_gan(gan_checkpoint, config, generator)
        encoder, checkpoint = loading.encoder_checkpoint(config)
        trainer = EncoderTrainer(encoder, generator, image_size=config.image_size,
                                 latent_prior=config.latent_prior, seed=config.seed)
        trainer.compile(keras.optimizers.Adam(config.encoder_learning_rate))
        checkpoint.optimizer = trainer.optimizer
        manager = tf.train.CheckpointManager(checkpoint, encoder_dir,
                                             max_to_keep=config.keep_checkpoints)
        if manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
            trainer.optimizer.learning_rate = config.encoder_learning_rate
    return trainer, manager, gan_step


def _pin_generator_step(checkpoint: tf.train.Checkpoint, restored: str | None,
                        gan_step: int) -> None:
    """Records in the encoder's checkpoint the generator step it is trained against, warning
    when a resumed encoder was trained against another."""
    previous = int(checkpoint.generator_step.numpy())
    if restored and previous != gan_step:
        log.warning("Resuming the encoder trained against the generator at step %d with the "
                    "generator at step %d", previous, gan_step)
    checkpoint.generator_step.assign(gan_step)


def _reconstruction_grid(config: TrainConfig, images: np.ndarray, run_dir: str,
                         writer: tf.summary.SummaryWriter, guard) -> list:
    """The chief's callback of an encoder run: reconstructions of 8 training images, each with
    a mask of another kind."""
    shown = image_utils.to_float(images[:8])
    kinds = ("center", "random", "left", "thick", "box", "medium", "top", "known")
    shown_masks = np.stack([
        np.ones_like(shown[0, ..., :1]) if kind == "known" else
        mask_lib.make_masks(kind, 1, config.image_size, seed=index)[0]
        for index, kind in enumerate(kinds[:len(shown)])])
    return [run_callbacks.ReconstructionGrid(shown, shown_masks,
                                             os.path.join(run_dir, runs.SAMPLES_DIR),
                                             config.sample_every, writer, guard)]
