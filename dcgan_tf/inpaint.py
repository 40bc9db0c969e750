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
        t = tf.cast(step, tf.float32) / tf.maximum(tf.cast(self.steps, tf.float32), 1.0)
        down = tf.minimum(1.0, (1.0 - t) / self.rampdown)
        down = 0.5 - 0.5 * tf.cos(math.pi * tf.clip_by_value(down, 0.0, 1.0))
        up = tf.minimum(1.0, t / self.warmup)
        return self.peak * down * up

    def get_config(self):
        return {"peak": self.peak, "steps": self.steps, "warmup": self.warmup,
                "rampdown": self.rampdown}


@dataclasses.dataclass(frozen=True)
class SearchSettings:
    """How z is searched for (see ``complete`` for the meaning of every field)."""

    steps: int = 1000
    learning_rate: float = 0.01
    perceptual_weight: float = 0.1
    contextual: str = "weighted"
    window: int = 7
    known_weight: float = 0.0
    prior_weight: float = 0.0
    restarts: int = 1
    schedule: str = "constant"
    prior: str = "normal"
    clip_latents: float | None = None
    select_by: str = "loss"
    lowres_factor: int = 0
    blend: str = "poisson"

    def validate(self) -> "SearchSettings":
        """Raises ValueError naming the setting at fault; returns self."""
        check_choice("contextual", self.contextual, CONTEXTUAL_LOSSES)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("blend", self.blend, BLENDS)
        check_choice("select_by", self.select_by, SELECTIONS)
        if self.steps < 1 or self.restarts < 1:
            raise ValueError(f"steps and restarts must be >= 1, got {self.steps} and "
                             f"{self.restarts}")
        return self

    def learning_rate_at(self, steps):
        """Adam's learning rate: a float, or a schedule of the step index over ``steps``."""
        if self.schedule == "warmup_cosine":
            return WarmupCosine(self.learning_rate, steps)
        return self.learning_rate

    def blend_fn(self):
        return blending.poisson if self.blend == "poisson" else blending.paste


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
    settings = SearchSettings(
        steps=steps, learning_rate=learning_rate, perceptual_weight=perceptual_weight,
        contextual=contextual, window=window, known_weight=known_weight,
        prior_weight=prior_weight, restarts=restarts, schedule=schedule, prior=prior,
        clip_latents=clip_latents, select_by=select_by, lowres_factor=lowres_factor,
        blend=blend).validate()
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
    images = np.asarray(images, np.float32)
    masks = np.asarray(masks, np.float32)
    result, score = _search(generator, discriminator, images, masks, settings, seed=(seed, 0),
                            snapshot_every=snapshot_every, progress=progress)
    for round_index in range(1, max_rounds if until_approved else 1):
        todo = np.flatnonzero(result.realness < 0.5)
        if todo.size == 0:
            break
        round_progress = None
        if progress is not None:
            def round_progress(step, loss, offset=round_index * steps):
                progress(offset + step, loss)
        retry, retry_score = _search(generator, discriminator, images[todo], masks[todo],
                                     settings, seed=(seed, round_index), progress=round_progress)
        better = (retry.realness >= 0.5) | (retry_score < score[todo])
        for field in ("completed", "generated", "latents", "losses", "realness"):
            getattr(result, field)[todo[better]] = getattr(retry, field)[better]
        score[todo[better]] = retry_score[better]
        result.rounds[todo] += 1
        result.history = np.concatenate([result.history, retry.history])
    return result


def complete_in_graph(generator: keras.Model, discriminator: keras.Model, images: tf.Tensor,
                      masks: tf.Tensor, settings: SearchSettings, *, steps: tf.Tensor,
                      seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One round of ``complete`` in TensorFlow ops only, for SavedModel signatures.

    No variables: z, Adam's moments and the best iterate are ``tf.while_loop`` state, so
    concurrent calls share nothing. Adam is written out with Keras' update rule and constants
    (beta_1 0.9, beta_2 0.999, epsilon 1e-7), so a call matches ``complete`` with the same
    settings and seed up to float rounding.

    Args:
        images: [N, H, W, 3] float32 in [-1, 1]; masks: [N, H, W, 1] float32, 1 = known.
        settings: the search settings (``settings.steps`` is ignored in favour of ``steps``).
        steps: int32 scalar tensor, >= 1.
        seed: int64 scalar tensor; the starts are those of ``complete(seed=seed)``.

    Returns:
        completed [N, H, W, 3], generated [N, H, W, 3] (both in [-1, 1]) and the chosen starts'
        losses [N].
    """
    count = tf.shape(images)[0]
    objective = _Objective(generator, discriminator, images, masks, settings)
    latent_dim = int(generator.input_shape[-1])
    starts = sample_latents(tf.stack([settings.restarts * count, latent_dim]),
                            tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)]),
                            settings.prior)
    rate = settings.learning_rate_at(steps)
    beta_1, beta_2, epsilon = 0.9, 0.999, 1e-7

    def body(step, z, first_moment, second_moment, best_z, best_loss):
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss, _ = objective(z)
            total = tf.reduce_sum(loss)
        gradient = tape.gradient(total, z)
        best_z, best_loss = _keep_best(z, loss, best_z, best_loss)
        local_step = tf.cast(step + 1, tf.float32)
        learning_rate = rate(step) if callable(rate) else rate
        alpha = learning_rate * tf.sqrt(1.0 - beta_2 ** local_step) / (1.0 - beta_1 ** local_step)
        first_moment += (gradient - first_moment) * (1.0 - beta_1)
        second_moment += (tf.square(gradient) - second_moment) * (1.0 - beta_2)
        z = z - first_moment * alpha / (tf.sqrt(second_moment) + epsilon)
        if settings.clip_latents is not None:
            z = tf.clip_by_value(z, -settings.clip_latents, settings.clip_latents)
        return step + 1, z, first_moment, second_moment, best_z, best_loss

    zeros = tf.zeros_like(starts)
    infinite = tf.fill([settings.restarts * count], np.float32(np.inf))
    _, z, _, _, best_z, best_loss = tf.while_loop(
        lambda step, *_: step < steps, body, [tf.constant(0), starts, zeros, zeros, starts,
                                                infinite])
    best_z, best_loss = _keep_best(z, objective(z)[0], best_z, best_loss)
    score = best_loss if settings.select_by == "loss" else -objective(best_z)[1]
    chosen = (tf.argmin(tf.reshape(score, [settings.restarts, count]), axis=0,
                        output_type=tf.int32) * count + tf.range(count))
    generated = generator(tf.gather(best_z, chosen), training=False)
    return (settings.blend_fn()(images, generated, masks), generated,
            tf.gather(best_loss, chosen))


class _Objective:
    """The loss of a batch of starts: row r * N + i is start r of image i."""

    def __init__(self, generator, discriminator, images, masks, settings: SearchSettings):
        self.generator, self.discriminator, self.settings = generator, discriminator, settings
        self.targets = tf.tile(images, [settings.restarts, 1, 1, 1])
        known = tf.tile(masks, [settings.restarts, 1, 1, 1])
        if settings.contextual == "binary":
            self.weights = known
        else:
            self.weights = (importance_weights(known, settings.window)
                            + settings.known_weight * known)
        if settings.lowres_factor:
            self.targets = block_mean(self.targets, settings.lowres_factor)

    def __call__(self, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-start losses [R * N] and discriminator logits [R * N] of G(z)."""
        settings = self.settings
        generated = self.generator(z, training=False)
        if settings.lowres_factor:
            contextual_loss = tf.reduce_sum(
                tf.abs(block_mean(generated, settings.lowres_factor) - self.targets),
                axis=[1, 2, 3])
        else:
            contextual_loss = tf.reduce_sum(self.weights * tf.abs(generated - self.targets),
                                            axis=[1, 2, 3])
        logits = self.discriminator(generated, training=False)[:, 0]
        prior_loss = 0.5 * tf.reduce_sum(tf.square(z), axis=1)
        return (contextual_loss + settings.perceptual_weight * tf.nn.softplus(-logits)
                + settings.prior_weight * prior_loss), logits


def _keep_best(z, loss, best_z, best_loss):
    improved = loss < best_loss
    return tf.where(improved[:, tf.newaxis], z, best_z), tf.where(improved, loss, best_loss)


def _search(generator, discriminator, images: np.ndarray, masks: np.ndarray,
            settings: SearchSettings, *, seed, snapshot_every: int = 0,
            progress=None) -> tuple[Completion, np.ndarray]:
    """One round of best-of-``restarts`` search with a Keras Adam on a ``tf.Variable`` z.

    Returns the round's ``Completion`` and each image's selection score (lower is better).
    """
    restarts, count = settings.restarts, len(images)
    objective = _Objective(generator, discriminator, images, masks, settings)
    starts = sample_latents([restarts * count, int(generator.input_shape[-1])],
                            tf.constant(seed, tf.int64), settings.prior)
    latents = tf.Variable(starts, name="latents")
    best_latents = tf.Variable(starts, name="best_latents")
    best_loss = tf.Variable(tf.fill([restarts * count], np.float32(np.inf)), name="best_loss")
    optimizer = keras.optimizers.Adam(settings.learning_rate_at(settings.steps))
    optimizer.build([latents])

    def keep_best(z, loss):
        new_z, new_loss = _keep_best(z, loss, best_latents, best_loss)
        best_latents.assign(new_z)
        best_loss.assign(new_loss)

    @tf.function
    def step():
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(latents)
            per_start, _ = objective(latents)
            total = tf.reduce_sum(per_start)  # starts are independent: own gradients
        keep_best(latents, per_start)
        optimizer.apply_gradients([(tape.gradient(total, latents), latents)])
        if settings.clip_latents is not None:
            latents.assign(tf.clip_by_value(latents, -settings.clip_latents,
                                            settings.clip_latents))
        return tf.reduce_mean(per_start)

    def snapshot():
        chosen = np.argmin(best_loss.numpy().reshape(restarts, count), axis=0)
        z = tf.gather(best_latents, chosen * count + np.arange(count))
        return blending.paste(images, generator(z, training=False), masks).numpy()

    history, frames = np.zeros([settings.steps], np.float32), []
    for index in range(settings.steps):
        history[index] = float(step())
        if progress is not None:
            progress(index + 1, history[index])
        if snapshot_every and index % snapshot_every == 0:
            frames.append(snapshot())
    keep_best(latents, objective(latents)[0])  # the last update is a candidate too
    if snapshot_every:
        frames.append(snapshot())

    score = best_loss.numpy().reshape(restarts, count)
    if settings.select_by == "discriminator":
        score = -objective(best_latents)[1].numpy().reshape(restarts, count)
    chosen = np.argmin(score, axis=0) * count + np.arange(count)
    z = tf.gather(best_latents, chosen)
    generated = generator(z, training=False)
    completed = settings.blend_fn()(images, generated, masks)
    realness = tf.sigmoid(discriminator(completed, training=False)[:, 0])
    completion = Completion(completed.numpy(), generated.numpy(), z.numpy(),
                            best_loss.numpy()[chosen], realness.numpy(),
                            np.ones([count], np.int32), history,
                            np.stack(frames) if frames else None)
    return completion, score.reshape(-1)[chosen]
