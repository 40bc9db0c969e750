"""The DCGAN as a ``keras.Model`` whose ``train_step`` plays the GAN minimax game.

``fit()`` then brings callbacks, the progress bar and ``tf.distribute`` strategies for free.
Latents are drawn with stateless random ops keyed by (seed, step): a run is reproducible, resumes
with the same noise, and every replica takes its own slice of one global batch of latents, so a
step on N replicas sees exactly the latents of the same step on one device.
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import losses
from dcgan_tf.images import to_uint8
from dcgan_tf.config import LATENT_PRIORS

FID_SEED = 2_000_003  # first seed word of the latents FID is measured on (training, evaluate)


def sample_latents(shape, seed, prior: str = "normal") -> tf.Tensor:
    """Draws latents z from the prior, deterministically from ``seed``.

    Args:
        shape: [N, latent_dim].
        seed: int tensor of shape [2] (stateless-op seed).
        prior: "normal" for N(0, 1) or "uniform" for U(-1, 1).

    Returns:
        float32 [N, latent_dim].
    """
    if prior == "normal":
        return tf.random.stateless_normal(shape, seed)
    if prior == "uniform":
        return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
    raise ValueError(f"latent prior must be one of {LATENT_PRIORS}, got {prior!r}")


def sample_images(generator: keras.Model, count: int, seed: int, prior: str = "normal",
                  batch_size: int = 100) -> np.ndarray:
    """``count`` images of the generator in inference mode, rounded as they would be saved.

    Latents of batch k come from the stateless seed [seed, k * batch_size], so the same seed gives
    the same images whatever else the caller has drawn.

    Returns:
        uint8 [count, S, S, 3].
    """
    latent_dim = generator.input_shape[-1]
    batches = []
    for start in range(0, count, batch_size):
        size = min(batch_size, count - start)
        latents = sample_latents([size, latent_dim], tf.constant([seed, start], tf.int64), prior)
        batches.append(to_uint8(generator(latents, training=False)))
    return np.concatenate(batches)


class DCGAN(keras.Model):
    """Trains a generator against a discriminator (real = 1, fake = 0, D returns logits).

    Call it on latents [B, latent_dim] to generate images [B, S, S, 3] in [-1, 1].
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 g_loss: str = "non_saturating", g_steps: int = 1, seed: int = 0,
                 latent_prior: str = "normal", **kwargs):
        super().__init__(**kwargs)
        if g_loss not in losses.GENERATOR_LOSSES:
            raise ValueError(f"g_loss must be one of {sorted(losses.GENERATOR_LOSSES)}, "
                             f"got {g_loss!r}")
        if latent_prior not in LATENT_PRIORS:
            raise ValueError(f"latent_prior must be one of {LATENT_PRIORS}, got {latent_prior!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.g_loss_name = g_loss
        self.g_steps = g_steps
        self.seed = seed
        self.latent_prior = latent_prior
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True  # both networks are built; fit() must not trace call() on images

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs):
        """Sets one optimizer per network; other arguments go to ``keras.Model.compile``.

        Call it inside the strategy scope: the optimizers' slot variables are created here, not
        lazily inside the distributed train step (where MirroredStrategy cannot create them).
        """
        kwargs.setdefault("jit_compile", False)  # XLA made CPU training 6x slower
        super().compile(optimizer=None, **kwargs)  # no Keras-owned optimizer to build
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker]

    @contextlib.contextmanager
    def averaged_generator(self):
        """Within the block, the generator holds its weights' moving average when the generator
        optimizer keeps one (Adam ``use_ema``), for sampling; the trained weights come back after.
        BatchNorm statistics are the trained weights' own."""
        if not self.g_optimizer.use_ema:
            yield self.generator
            return
        weights = self.generator.trainable_variables
        trained = [tf.identity(weight) for weight in weights]
        self.g_optimizer.finalize_variable_values(weights)
        try:
            yield self.generator
        finally:
            for weight, value in zip(weights, trained):
                weight.assign(value)

    def call(self, latents, training=False):
        return self.generator(latents, training=training)

    def _replica_latents(self, local_batch, replicas: int, draw: int) -> tf.Tensor:
        """This replica's rows of the global latent batch for draw ``draw`` of this step."""
        step = tf.cast(self.d_optimizer.iterations, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step * (self.g_steps + 1) + draw])
        global_latents = sample_latents([local_batch * replicas, self.latent_dim], seed,
                                        self.latent_prior)
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        return global_latents[replica_id * local_batch:(replica_id + 1) * local_batch]

    def train_step(self, real_images):
        """One discriminator update, then ``g_steps`` generator updates.

        Args:
            real_images: this replica's slice of the global batch, [b, S, S, 3] in [-1, 1].

        Returns:
            Dict of the running means of d_loss, g_loss, d_real = D(x), d_fake = D(G(z)).
        """
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        local_batch = tf.shape(real_images)[0]
        global_batch = local_batch * replicas
        generator_loss_fn = losses.GENERATOR_LOSSES[self.g_loss_name]

        # Discriminator: minimise -[log D(x) + log(1 - D(G(z)))] on a real and a fake batch.
        latents = self._replica_latents(local_batch, replicas, draw=0)
        with tf.GradientTape() as tape:
            fake_images = self.generator(latents, training=True)
            real_logits = self.discriminator(real_images, training=True)[:, 0]
            fake_logits = self.discriminator(fake_images, training=True)[:, 0]
            d_per_example = losses.minimax_discriminator_loss(real_logits, fake_logits)
            d_loss = losses.average_over_global_batch(d_per_example, global_batch)
        d_weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_weights), d_weights))

        # Generator: minimise the selected loss of D(G(z)) on fresh latents, g_steps times.
        g_weights = self.generator.trainable_weights
        for draw in range(1, self.g_steps + 1):
            latents = self._replica_latents(local_batch, replicas, draw=draw)
            with tf.GradientTape() as tape:
                g_logits = self.discriminator(self.generator(latents, training=True),
                                              training=True)[:, 0]
                g_per_example = generator_loss_fn(g_logits)
                g_loss = losses.average_over_global_batch(g_per_example, global_batch)
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_weights), g_weights))

        # Trackers hold unscaled per-replica means; Keras averages them across replicas.
        self.d_loss_tracker.update_state(tf.reduce_mean(d_per_example))
        self.g_loss_tracker.update_state(tf.reduce_mean(g_per_example))
        self.d_real_tracker.update_state(tf.reduce_mean(tf.sigmoid(real_logits)))
        self.d_fake_tracker.update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))
        logs = {metric.name: metric.result() for metric in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3 reduces multi-worker step outputs with strategy.reduce(MEAN, axis=0),
            # which fails on scalars (tensorflow/tensorflow#72388); [1] tensors reduce to scalars.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs
