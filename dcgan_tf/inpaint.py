"""Semantic completion: search the generator's latent space for the image that matches the known
pixels and that the discriminator finds real, then blend it into the hole.

    loss(z) = contextual(G(z), y, M) + perceptual_weight * -log D(G(z))

``contextual`` is bamos' binary-mask L1 ("binary": sum of |M * (G(z) - y)|) or Yeh et al.'s
importance-weighted L1 ("weighted": known pixels near the hole count more, W_i = M_i times the
fraction of missing pixels in the ``window`` x ``window`` neighbourhood of i). For the lowres kind
(``lowres_factor`` > 0) it is the L1 between the ``factor`` x ``factor`` block means instead.
Networks run with BatchNorm in inference mode; only z is optimised (Adam).
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import blend as blending
from dcgan_tf.config import BLENDS, CONTEXTUAL_LOSSES, SCHEDULES, check_choice
from dcgan_tf.gan import sample_latents


@dataclasses.dataclass
class Completion:
    """Results for N images: completed [N, H, W, 3] and generated [N, H, W, 3] in [-1, 1], the
    chosen latents [N, latent_dim], final losses [N] and the mean loss per step [steps]."""

    completed: np.ndarray
    generated: np.ndarray
    latents: np.ndarray
    losses: np.ndarray
    history: np.ndarray


def importance_weights(masks: tf.Tensor, window: int = 7) -> tf.Tensor:
    """Yeh et al.'s contextual weights: W_i = M_i * sum_{j in N(i)} (1 - M_j) / |N(i)|.

    Args:
        masks: [B, H, W, 1], 1 = known.
        window: side of the square neighbourhood N(i) (odd); outside the image counts as known.

    Returns:
        [B, H, W, 1] in [0, 1]: 0 in the hole and far from it.
    """
    kernel = tf.ones([window, window, 1, 1]) / float(window * window)
    missing_share = tf.nn.conv2d(1.0 - masks, kernel, strides=1, padding="SAME")
    return masks * missing_share


def block_mean(images: tf.Tensor, factor: int) -> tf.Tensor:
    """Means of factor x factor blocks: [B, H / factor, W / factor, C]."""
    return tf.nn.avg_pool2d(images, factor, factor, padding="VALID")


class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """The StyleGAN2 projector's schedule: linear warm-up over the first 5% of the steps, flat,
    then a cosine ramp-down over the last 25%."""

    def __init__(self, peak: float, steps: int, warmup: float = 0.05, rampdown: float = 0.25):
        self.peak, self.steps, self.warmup, self.rampdown = peak, steps, warmup, rampdown

    def __call__(self, step):
        t = tf.cast(step, tf.float32) / float(max(self.steps, 1))
        down = tf.minimum(1.0, (1.0 - t) / self.rampdown)
        down = 0.5 - 0.5 * tf.cos(math.pi * tf.clip_by_value(down, 0.0, 1.0))
        up = tf.minimum(1.0, t / self.warmup)
        return self.peak * down * up

    def get_config(self):
        return {"peak": self.peak, "steps": self.steps, "warmup": self.warmup,
                "rampdown": self.rampdown}


def complete(generator: keras.Model, discriminator: keras.Model, images, masks, *,
             steps: int = 1000, learning_rate: float = 0.01, perceptual_weight: float = 0.1,
             contextual: str = "weighted", window: int = 7, restarts: int = 1,
             schedule: str = "constant", seed: int = 0, prior: str = "normal",
             clip_latents: float | None = None, select_by: str = "loss",
             lowres_factor: int = 0, blend: str = "poisson", progress=None) -> Completion:
    """Completes N images.

    Args:
        generator: z [n, latent_dim] -> images [n, H, W, 3] in [-1, 1].
        discriminator: images -> logits [n, 1].
        images: [N, H, W, 3] float32 in [-1, 1]; values in the hole are ignored.
        masks: [N, H, W, 1], 1 = known pixel.
        steps: Adam steps on z.
        learning_rate: Adam's (peak) learning rate.
        perceptual_weight: lambda, the weight of -log D(G(z)).
        contextual: "weighted" (Yeh) or "binary" (bamos).
        window: neighbourhood side of the weighted contextual loss.
        restarts: starts per image, optimised together in one batch; the best is kept.
        schedule: "constant" or "warmup_cosine" (StyleGAN2 projector).
        seed: seed of the starting latents.
        prior: "normal" or "uniform"; the starting latents come from it.
        clip_latents: clip z to [-c, c] after every step (1 for the uniform prior); None = off.
        select_by: choose among restarts by lowest "loss" or by highest D(G(z))
            ("discriminator").
        lowres_factor: > 0 for the lowres kind: match block means instead of pixels.
        blend: "poisson" or "paste".
        progress: optional callable(step, mean_loss) called after every step.

    Returns:
        A ``Completion``; for every start the best iterate seen (lowest loss) is kept.
    """
    check_choice("contextual", contextual, CONTEXTUAL_LOSSES)
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("blend", blend, BLENDS)
    check_choice("select_by", select_by, ("loss", "discriminator"))
    if steps < 1 or restarts < 1:
        raise ValueError(f"steps and restarts must be >= 1, got {steps} and {restarts}")
    images = tf.convert_to_tensor(images, tf.float32)
    masks = tf.convert_to_tensor(masks, tf.float32)
    count = int(images.shape[0])
    latent_dim = int(generator.input_shape[-1])
    targets = tf.tile(images, [restarts, 1, 1, 1])  # row r * N + i is start r of image i
    known = tf.tile(masks, [restarts, 1, 1, 1])
    weights = known if contextual == "binary" else importance_weights(known, window)
    if lowres_factor:
        targets = block_mean(targets, lowres_factor)

    starts = sample_latents([restarts * count, latent_dim],
                            tf.constant([seed, 0], tf.int64), prior)
    latents = tf.Variable(starts, name="latents")
    best_latents = tf.Variable(starts, name="best_latents")
    best_loss = tf.Variable(tf.fill([restarts * count], np.float32(np.inf)), name="best_loss")
    rate = WarmupCosine(learning_rate, steps) if schedule == "warmup_cosine" else learning_rate
    optimizer = keras.optimizers.Adam(rate)
    optimizer.build([latents])

    def losses_of(z):
        generated = generator(z, training=False)
        if lowres_factor:
            contextual_loss = tf.reduce_sum(
                tf.abs(block_mean(generated, lowres_factor) - targets), axis=[1, 2, 3])
        else:
            contextual_loss = tf.reduce_sum(weights * tf.abs(generated - targets), axis=[1, 2, 3])
        logits = discriminator(generated, training=False)[:, 0]
        return contextual_loss + perceptual_weight * tf.nn.softplus(-logits), logits

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            per_start, _ = losses_of(latents)
            total = tf.reduce_sum(per_start)  # starts are independent: each gets its own gradient
        improved = per_start < best_loss
        best_latents.assign(tf.where(improved[:, tf.newaxis], latents, best_latents))
        best_loss.assign(tf.where(improved, per_start, best_loss))
        optimizer.apply_gradients([(tape.gradient(total, latents), latents)])
        if clip_latents is not None:
            latents.assign(tf.clip_by_value(latents, -clip_latents, clip_latents))
        return tf.reduce_mean(per_start)

    history = np.zeros([steps], np.float32)
    for index in range(steps):
        history[index] = float(step())
        if progress is not None:
            progress(index + 1, history[index])
    final_loss, logits = losses_of(latents)  # the last update is a candidate too
    improved = final_loss < best_loss
    best_latents.assign(tf.where(improved[:, tf.newaxis], latents, best_latents))
    best_loss.assign(tf.where(improved, final_loss, best_loss))

    score = best_loss.numpy().reshape(restarts, count)
    if select_by == "discriminator":
        _, best_logits = losses_of(best_latents)
        score = -best_logits.numpy().reshape(restarts, count)
    chosen = np.argmin(score, axis=0) * count + np.arange(count)
    z = tf.gather(best_latents, chosen)
    generated = generator(z, training=False)
    blend_fn = blending.poisson if blend == "poisson" else blending.paste
    completed = blend_fn(images, generated, masks)
    return Completion(completed.numpy(), generated.numpy(), z.numpy(),
                      best_loss.numpy()[chosen], history)

