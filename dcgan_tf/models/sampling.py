"""Sampling a generator: latents z from its prior, drawn deterministically from a seed by
stateless ops (so the same seed gives the same latents whatever else was drawn), and the images
G(z) rounded to uint8 as they are saved."""

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf.images import to_uint8
from dcgan_tf.models.config import LATENT_PRIORS

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
