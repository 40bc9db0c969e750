"""Training the encoder E (``models.encoder``) against a frozen generator (BatchNorm in inference
mode) on two batches per step, each with masks drawn from a bank of every mask kind (plus no
mask at all):
    generated images G(z):  latent loss ||E(G(z) masked) - z||^2 (in-domain inversion) and
                            image loss |G(E(G(z) masked)) - G(z)|
    real images x:          image loss |G(E(x masked)) - x|
    loss per example = the two image losses (each the mean L1 over all pixels, hole included)
                       + latent_weight (1 by default) * the latent loss (mean over z's entries).
"""

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf.inpainting import masks as mask_lib
from dcgan_tf.models import losses
from dcgan_tf.models.encoder import encoder_inputs
from dcgan_tf.models.sampling import sample_latents

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
