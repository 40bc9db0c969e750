"""The generator's weight average, as the StyleGAN line keeps it (Karras et al. 2019, 2020).

The average's half-life is counted in images, not steps, so it means the same at any batch size:
after each generator update over ``batch`` images,

    half_life = ema_kimg * 1000, at most rampup * (images seen so far)     (rampup > 0)
    beta      = 0.5 ** (batch / half_life)
    average   = beta * average + (1 - beta) * weights

The ramp-up keeps the average close to the weights early in a run, when they move fast and an
average over a long half-life would hold mostly the random start. ``AveragingAdam`` keeps it in
Keras' own slot (``use_ema``), so it is checkpointed and distributed with the optimizer.

BatchNorm's moving statistics belong to the weights they were measured with; the averaged
weights get their own (``recompute_batchnorm``) before they are used for samples, FID,
completion or packaging.
"""

import keras
import tensorflow as tf

from dcgan_tf.models.sampling import sample_latents

BATCHNORM_BATCHES = 16  # batches of generated images the averaged statistics are measured on
BATCHNORM_BATCH_SIZE = 64
BATCHNORM_SEED = 3_000_017  # first seed word of those batches' latents


class AveragingAdam(keras.optimizers.Adam):
    """Adam that also keeps the average of the weights it trains with the ramped half-life of
    the module docstring (``use_ema``: Keras' ``finalize_variable_values`` swaps it in)."""

    def __init__(self, learning_rate, *, half_life_kimg: float, rampup: float,
                 images_per_update: int, **kwargs):
        super().__init__(learning_rate, use_ema=True, **kwargs)
        self._half_life = half_life_kimg * 1000.0
        self._rampup = rampup
        self._images_per_update = float(images_per_update)

    @property
    def ema_momentum(self):
        """beta of this update, from the images seen so far (a tensor)."""
        if not hasattr(self, "_half_life"):  # Keras' constructor reads it before it is set up
            return 0.0
        seen = tf.cast(self.iterations, tf.float32) * self._images_per_update
        half_life = tf.constant(self._half_life, tf.float32)
        if self._rampup:
            half_life = tf.minimum(half_life, seen * self._rampup)
        return 0.5 ** (self._images_per_update / tf.maximum(half_life, 1e-8))

    @ema_momentum.setter
    def ema_momentum(self, value):
        """Keras' constructor sets a constant momentum; this optimizer computes its own."""


def recompute_batchnorm(generator: keras.Model, prior: str = "normal") -> None:
    """Replaces the moving mean and variance of every BatchNorm layer of ``generator`` by their
    averages over ``BATCHNORM_BATCHES`` batches of its own images in training mode (fixed
    latents, so the result is deterministic), as for the weights it holds now."""
    layers = [layer for layer in generator.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    latent_dim = generator.input_shape[-1]
    try:
        for batch in range(BATCHNORM_BATCHES):
            for layer in layers:  # moving = k/(k+1) * moving + 1/(k+1) * this batch's: a mean
                layer.momentum = batch / (batch + 1)
            latents = sample_latents([BATCHNORM_BATCH_SIZE, latent_dim],
                                     tf.constant([BATCHNORM_SEED, batch], tf.int64), prior)
            generator(latents, training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
