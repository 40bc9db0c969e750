"""The DCGAN as a ``keras.Model`` whose ``train_step`` plays the GAN minimax game (or the hinge
game), optionally with differentiable augmentation of every image D sees (``augment``).

``fit()`` then brings callbacks, the progress bar and ``tf.distribute`` strategies for free.
Latents are drawn with stateless random ops keyed by (seed, step): a run is reproducible, resumes
with the same noise, and every replica takes its own slice of one global batch of latents, so a
step on N replicas sees exactly the latents of the same step on one device.
"""

import contextlib

import keras
import tensorflow as tf

from dcgan_tf.models import augment as augment_lib, averaging, losses
from dcgan_tf.models.config import LATENT_PRIORS
from dcgan_tf.models.sampling import sample_latents


def agree_on_overflow(gradients: list) -> list:
    """This replica's gradients, made non-finite when any replica's are.

    Keras' ``LossScaleOptimizer`` looks for overflow in each replica's own gradients, before
    they are summed, and follows replica 0 (or, without merge calls, each replica itself): an
    overflow on another replica would reach every weight through the sum, or replicas would
    disagree on skipping a step. Called in a replica context, before ``apply_gradients``."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return gradients
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in gradients
                            if g is not None])
    overflows = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                   tf.cast(tf.logical_not(finite), tf.float32))
    poison = tf.where(overflows > 0, float("nan"), 0.0)
    return [g if g is None else g + tf.cast(poison, g.dtype) for g in gradients]


class DCGAN(keras.Model):
    """Trains a generator against a discriminator (real = 1, fake = 0, D returns logits).

    Call it on latents [B, latent_dim] to generate images [B, S, S, 3] in [-1, 1].
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 g_loss: str = "non_saturating", d_loss: str = "minimax", g_steps: int = 1,
                 seed: int = 0, latent_prior: str = "normal", augment: tuple = (), **kwargs):
        super().__init__(**kwargs)
        if g_loss not in losses.GENERATOR_LOSSES:
            raise ValueError(f"g_loss must be one of {sorted(losses.GENERATOR_LOSSES)}, "
                             f"got {g_loss!r}")
        if d_loss not in losses.DISCRIMINATOR_LOSSES:
            raise ValueError(f"d_loss must be one of {sorted(losses.DISCRIMINATOR_LOSSES)}, "
                             f"got {d_loss!r}")
        if latent_prior not in LATENT_PRIORS:
            raise ValueError(f"latent_prior must be one of {LATENT_PRIORS}, got {latent_prior!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = generator.input_shape[-1]
        self.g_loss_name, self.d_loss_name = g_loss, d_loss
        self.augment = tuple(augment)
        self.g_steps = g_steps
        self.seed = seed
        self.latent_prior = latent_prior
        # Training steps done: not the optimizers' iterations, which a loss-scaling optimizer
        # does not advance on the steps it skips (float16 overflow).
        self.steps_done = self.add_weight(shape=(), dtype="int64", initializer="zeros",
                                          trainable=False, aggregation="only_first_replica",
                                          name="steps_done")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.built = True  # both networks are built; fit() must not trace call() on images

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs):
        """Sets one optimizer per network (``keras.optimizers.LossScaleOptimizer``s under
        float16); other arguments go to ``keras.Model.compile``.

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
        """Within the block, the generator holds its weights' average when the generator's
        optimizer keeps one (``averaging.AveragingAdam``), with BatchNorm statistics measured
        for it (``averaging.recompute_batchnorm``), for samples, FID and previews; the trained
        weights and their statistics come back after. Before the first update is applied (a
        loss-scaling optimizer skips the steps that overflow) there is no average yet, and the
        trained weights serve."""
        optimizer = getattr(self.g_optimizer, "inner_optimizer", self.g_optimizer)
        if not optimizer.use_ema or int(optimizer.iterations.numpy()) == 0:
            yield self.generator
            return
        weights = self.generator.variables  # trainable ones and BatchNorm statistics
        trained = [tf.identity(weight) for weight in weights]
        optimizer.finalize_variable_values(self.generator.trainable_variables)
        averaging.recompute_batchnorm(self.generator, self.latent_prior)
        try:
            yield self.generator
        finally:
            for weight, value in zip(weights, trained):
                weight.assign(value)

    def call(self, latents, training=False):
        return self.generator(latents, training=training)

    def _replica_latents(self, local_batch, replicas: int, draw: int) -> tf.Tensor:
        """This replica's rows of the global latent batch for draw ``draw`` of this step."""
        global_latents = sample_latents([local_batch * replicas, self.latent_dim],
                                        self._seed(draw), self.latent_prior)
        replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
        return global_latents[replica_id * local_batch:(replica_id + 1) * local_batch]

    def _seed(self, draw) -> tf.Tensor:
        """The stateless seed [2] of draw ``draw`` of this step (latents; augmentations)."""
        step = tf.cast(self.steps_done, tf.int64)
        return tf.stack([tf.constant(self.seed, tf.int64), step * (self.g_steps + 1) + draw])

    def _discriminate(self, images, draw: int, fake: bool) -> tf.Tensor:
        """D's logits [b] of ``images``, augmented (``self.augment``) with a draw of their own:
        of this step's draw ``draw``, of this replica, real or fake."""
        if self.augment:
            replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
            seed = tf.random.experimental.stateless_fold_in(
                self._seed(draw), 2 * tf.cast(replica_id, tf.int64) + int(fake))
            images = augment_lib.diff_augment(images, self.augment, seed)
        return self.discriminator(images, training=True)[:, 0]

    @staticmethod
    def _apply(optimizer, tape, scaled_loss, weights) -> None:
        """One update of ``weights`` from ``scaled_loss``, the loss as ``optimizer.scale_loss``
        gave it inside ``tape`` (a ``LossScaleOptimizer`` unscales the gradients)."""
        gradients = tape.gradient(scaled_loss, weights)
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            gradients = agree_on_overflow(gradients)
        optimizer.apply_gradients(zip(gradients, weights))

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
        discriminator_loss_fn = losses.DISCRIMINATOR_LOSSES[self.d_loss_name]

        # Discriminator: e.g. minimise -[log D(x) + log(1 - D(G(z)))] on a real and a fake batch.
        latents = self._replica_latents(local_batch, replicas, draw=0)
        with tf.GradientTape() as tape:
            fake_images = self.generator(latents, training=True)
            real_logits = self._discriminate(real_images, draw=0, fake=False)
            fake_logits = self._discriminate(fake_images, draw=0, fake=True)
            d_per_example = discriminator_loss_fn(real_logits, fake_logits)
            d_loss = losses.average_over_global_batch(d_per_example, global_batch)
            scaled = self.d_optimizer.scale_loss(d_loss)  # float16: loss scaling
        self._apply(self.d_optimizer, tape, scaled, self.discriminator.trainable_weights)

        # Generator: minimise the selected loss of D(G(z)) on fresh latents, g_steps times.
        for draw in range(1, self.g_steps + 1):
            latents = self._replica_latents(local_batch, replicas, draw=draw)
            with tf.GradientTape() as tape:
                g_logits = self._discriminate(self.generator(latents, training=True), draw,
                                              fake=True)
                g_per_example = generator_loss_fn(g_logits)
                g_loss = losses.average_over_global_batch(g_per_example, global_batch)
                scaled = self.g_optimizer.scale_loss(g_loss)
            self._apply(self.g_optimizer, tape, scaled, self.generator.trainable_weights)

        self.steps_done.assign_add(1)
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
