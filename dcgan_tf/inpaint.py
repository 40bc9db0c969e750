"""Semantic completion: search the generator's latent space for the image that matches the known
pixels and that the discriminator finds real, then blend it into the hole.

    loss(z) = contextual(G(z), y, M) + perceptual_weight * -log D(G(z))
              + prior_weight * ||z||^2 / 2

``contextual`` is bamos' binary-mask L1 ("binary": sum of |M * (G(z) - y)|) or Yeh et al.'s
importance-weighted L1 ("weighted": known pixels near the hole count more, W_i = M_i times the
fraction of missing pixels in the ``window`` x ``window`` neighbourhood of i), optionally plus
``known_weight`` on every known pixel, so far-away context still counts. For the lowres kind
(``lowres_factor`` > 0) it is the L1 between the ``factor`` x ``factor`` block means instead.
The last term is the negative log-density of z under N(0, I) (a MAP estimate of z, as in Bora et
al. 2017): it keeps the unconstrained part of z near the typical set.
Networks run with BatchNorm in inference mode; only z is optimised (Adam).
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import blend as blending
from dcgan_tf.config import BLENDS, CONTEXTUAL_LOSSES, SCHEDULES, SELECTIONS, check_choice
from dcgan_tf.gan import sample_latents


@dataclasses.dataclass
class Completion:
    """Results for N images: completed [N, H, W, 3] and generated [N, H, W, 3] in [-1, 1], the
    chosen latents [N, latent_dim], their final losses [N], the discriminator's probability that
    each completed image is real [N], the rounds of starts each image used [N], the mean loss per
    step over all rounds [steps * rounds], and, when snapshots were asked for, the first round's
    best-so-far pasted completions [F, N, H, W, 3] (else None)."""

    completed: np.ndarray
    generated: np.ndarray
    latents: np.ndarray
    losses: np.ndarray
    realness: np.ndarray
    rounds: np.ndarray
    history: np.ndarray
    frames: np.ndarray | None = None


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
             contextual: str = "weighted", window: int = 7, known_weight: float = 0.0,
             prior_weight: float = 0.0, restarts: int = 1,
             schedule: str = "constant", seed: int = 0, prior: str = "normal",
             clip_latents: float | None = None, select_by: str = "loss",
             until_approved: bool = False, max_rounds: int = 4, lowres_factor: int = 0,
             blend: str = "poisson", snapshot_every: int = 0, progress=None) -> Completion:
    """Completes N images.

    Args:
        generator: z [n, latent_dim] -> images [n, H, W, 3] in [-1, 1].
        discriminator: images -> logits [n, 1].
        images: [N, H, W, 3] float32 in [-1, 1]; values in the hole are ignored.
        masks: [N, H, W, 1], 1 = known pixel.
        steps: Adam steps on z per round.
        learning_rate: Adam's (peak) learning rate.
        perceptual_weight: lambda, the weight of -log D(G(z)).
        contextual: "weighted" (Yeh) or "binary" (bamos).
        window: neighbourhood side of the weighted contextual loss.
        known_weight: added to the weighted loss's weight of every known pixel.
        prior_weight: weight of ||z||^2 / 2.
        restarts: starts per image, optimised together in one batch; the best is kept.
        schedule: "constant" or "warmup_cosine" (StyleGAN2 projector).
        seed: seed of the starting latents (round r draws with the stateless seed [seed, r]).
        prior: "normal" or "uniform"; the starting latents come from it.
        clip_latents: clip z to [-c, c] after every step (1 for the uniform prior); None = off.
        select_by: choose among restarts (and rounds) by lowest "loss" or by highest D(G(z))
            ("discriminator").
        until_approved: after the first round, give every image whose completion the
            discriminator does not accept as real (D(completed) < 0.5) a new round of starts,
            up to ``max_rounds`` rounds in all; an image keeps a new result when it is approved
            or better by ``select_by``.
        max_rounds: cap on rounds when ``until_approved``.
        lowres_factor: > 0 for the lowres kind: match block means instead of pixels.
        blend: "poisson" or "paste".
        snapshot_every: > 0 records the first round's best-so-far pasted completion every that
            many steps (and at the end) in ``Completion.frames``.
        progress: optional callable(step, mean_loss) called after every step, the step counted
            across rounds.

    Returns:
        A ``Completion``; for every start the best iterate seen (lowest loss) is kept.
    """
    check_choice("contextual", contextual, CONTEXTUAL_LOSSES)
    check_choice("schedule", schedule, SCHEDULES)
    check_choice("blend", blend, BLENDS)
    check_choice("select_by", select_by, SELECTIONS)
    if steps < 1 or restarts < 1 or max_rounds < 1:
        raise ValueError(f"steps, restarts and max_rounds must be >= 1, "
                         f"got {steps}, {restarts} and {max_rounds}")
    images = np.asarray(images, np.float32)
    masks = np.asarray(masks, np.float32)
    search = _LatentSearch(generator, discriminator, steps=steps, learning_rate=learning_rate,
                           perceptual_weight=perceptual_weight, contextual=contextual,
                           window=window, known_weight=known_weight, prior_weight=prior_weight,
                           restarts=restarts, schedule=schedule, prior=prior,
                           clip_latents=clip_latents, select_by=select_by,
                           lowres_factor=lowres_factor, blend=blend)
    result, score = search.run(images, masks, seed=(seed, 0), snapshot_every=snapshot_every,
                               progress=progress)
    for round_index in range(1, max_rounds if until_approved else 1):
        todo = np.flatnonzero(result.realness < 0.5)
        if todo.size == 0:
            break
        round_progress = None
        if progress is not None:
            def round_progress(step, loss, offset=round_index * steps):
                progress(offset + step, loss)
        retry, retry_score = search.run(images[todo], masks[todo], seed=(seed, round_index),
                                        progress=round_progress)
        better = (retry.realness >= 0.5) | (retry_score < score[todo])
        for field in ("completed", "generated", "latents", "losses", "realness"):
            getattr(result, field)[todo[better]] = getattr(retry, field)[better]
        score[todo[better]] = retry_score[better]
        result.rounds[todo] += 1
        result.history = np.concatenate([result.history, retry.history])
    return result




class _LatentSearch:
    """One round of best-of-``restarts`` latent optimisation for a batch of images."""

    def __init__(self, generator, discriminator, *, steps, learning_rate, perceptual_weight,
                 contextual, window, known_weight, prior_weight, restarts, schedule, prior,
                 clip_latents, select_by, lowres_factor, blend):
        self.generator, self.discriminator = generator, discriminator
        self.steps, self.learning_rate, self.schedule = steps, learning_rate, schedule
        self.perceptual_weight, self.contextual, self.window = perceptual_weight, contextual, window
        self.known_weight, self.prior_weight = known_weight, prior_weight
        self.restarts, self.prior, self.clip_latents = restarts, prior, clip_latents
        self.select_by, self.lowres_factor = select_by, lowres_factor
        self.blend = blending.poisson if blend == "poisson" else blending.paste
        self.latent_dim = int(generator.input_shape[-1])

    def run(self, images: np.ndarray, masks: np.ndarray, *, seed, snapshot_every: int = 0,
            progress=None) -> tuple[Completion, np.ndarray]:
        """Returns the round's ``Completion`` and each image's selection score (lower is
        better)."""
        restarts, count = self.restarts, len(images)
        targets = tf.tile(images, [restarts, 1, 1, 1])  # row r * N + i is start r of image i
        known = tf.tile(masks, [restarts, 1, 1, 1])
        if self.contextual == "binary":
            weights = known
        else:
            weights = importance_weights(known, self.window) + self.known_weight * known
        if self.lowres_factor:
            targets = block_mean(targets, self.lowres_factor)

        starts = sample_latents([restarts * count, self.latent_dim],
                                tf.constant(seed, tf.int64), self.prior)
        latents = tf.Variable(starts, name="latents")
        best_latents = tf.Variable(starts, name="best_latents")
        best_loss = tf.Variable(tf.fill([restarts * count], np.float32(np.inf)), name="best_loss")
        rate = self.learning_rate
        if self.schedule == "warmup_cosine":
            rate = WarmupCosine(self.learning_rate, self.steps)
        optimizer = keras.optimizers.Adam(rate)
        optimizer.build([latents])

        def losses_of(z):
            generated = self.generator(z, training=False)
            if self.lowres_factor:
                contextual_loss = tf.reduce_sum(
                    tf.abs(block_mean(generated, self.lowres_factor) - targets), axis=[1, 2, 3])
            else:
                contextual_loss = tf.reduce_sum(weights * tf.abs(generated - targets),
                                                axis=[1, 2, 3])
            logits = self.discriminator(generated, training=False)[:, 0]
            prior_loss = 0.5 * tf.reduce_sum(tf.square(z), axis=1)
            return (contextual_loss + self.perceptual_weight * tf.nn.softplus(-logits)
                    + self.prior_weight * prior_loss), logits

        def keep_best(z, loss):
            improved = loss < best_loss
            best_latents.assign(tf.where(improved[:, tf.newaxis], z, best_latents))
            best_loss.assign(tf.where(improved, loss, best_loss))

        @tf.function
        def step():
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(latents)
                per_start, _ = losses_of(latents)
                total = tf.reduce_sum(per_start)  # starts are independent: own gradients
            keep_best(latents, per_start)
            optimizer.apply_gradients([(tape.gradient(total, latents), latents)])
            if self.clip_latents is not None:
                latents.assign(tf.clip_by_value(latents, -self.clip_latents, self.clip_latents))
            return tf.reduce_mean(per_start)

        def snapshot():
            chosen = np.argmin(best_loss.numpy().reshape(restarts, count), axis=0)
            z = tf.gather(best_latents, chosen * count + np.arange(count))
            return blending.paste(images, self.generator(z, training=False), masks).numpy()

        history, frames = np.zeros([self.steps], np.float32), []
        for index in range(self.steps):
            history[index] = float(step())
            if progress is not None:
                progress(index + 1, history[index])
            if snapshot_every and index % snapshot_every == 0:
                frames.append(snapshot())
        keep_best(latents, losses_of(latents)[0])  # the last update is a candidate too
        if snapshot_every:
            frames.append(snapshot())

        score = best_loss.numpy().reshape(restarts, count)
        if self.select_by == "discriminator":
            score = -losses_of(best_latents)[1].numpy().reshape(restarts, count)
        chosen = np.argmin(score, axis=0) * count + np.arange(count)
        z = tf.gather(best_latents, chosen)
        generated = self.generator(z, training=False)
        completed = self.blend(images, generated, masks)
        realness = tf.sigmoid(self.discriminator(completed, training=False)[:, 0])
        completion = Completion(completed.numpy(), generated.numpy(), z.numpy(),
                                best_loss.numpy()[chosen], realness.numpy(),
                                np.ones([count], np.int32), history,
                                np.stack(frames) if frames else None)
        return completion, score.reshape(-1)[chosen]
