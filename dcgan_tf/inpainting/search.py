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
Networks run with BatchNorm in inference mode; only z is optimised (Adam). With
``tune_steps`` > 0 (``--method=tune``), a copy of G is then tuned to each image together with its
z (``tuning``), and the tuned G(z) fills the hole.
"""

import dataclasses
import functools
import math

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf.inpainting import adam, blend as blending, tuning
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models.encoder import encoder_inputs
from dcgan_tf.models.sampling import sample_latents


@dataclasses.dataclass
class Completion:
    """Results for N images: completed [N, H, W, 3] and generated [N, H, W, 3] in [-1, 1], the
    chosen latents [N, latent_dim], their final losses [N], the discriminator's probability that
    each completed image is real [N], the rounds of starts each image used [N], the mean loss per
    step run over all rounds, of the starts still running at that step (fewer than
    steps * rounds when every start stopped early), then per tuning step over the images, and,
    when snapshots were asked for, the first round's best-so-far pasted completions
    [F, N, H, W, 3] (else None). With tuning, the latents, losses and generated images are the
    tuned ones."""

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


def _learning_rate(settings: SearchSettings, steps):
    """Adam's learning rate: a float, or a schedule of the step index over ``steps``."""
    if settings.schedule == "warmup_cosine":
        return WarmupCosine(settings.learning_rate, steps)
    return settings.learning_rate


def _blend(settings: SearchSettings):
    """The blending function: (images, generated, masks) -> completed."""
    return blending.poisson if settings.blend == "poisson" else blending.paste


def complete(generator: keras.Model, discriminator: keras.Model, images, masks,
             settings: SearchSettings = SearchSettings(), *, seed: int = 0,
             encoder: keras.Model | None = None, snapshot_every: int = 0,
             progress=None) -> Completion:
    """Completes N images.

    Args:
        generator: z [n, latent_dim] -> images [n, H, W, 3] in [-1, 1].
        discriminator: images -> logits [n, 1].
        images: [N, H, W, 3] float32 in [-1, 1]; values in the hole are ignored.
        masks: [N, H, W, 1], 1 = known pixel.
        settings: the search (``settings.SearchSettings``, each field documented there;
            ``settings.search_settings(method)`` for a preset, then ``.for_model(latent_prior)``).
        seed: seed of the starting latents (round r draws with the stateless seed [seed, r]).
        encoder: the run's encoder, masked images [n, S, S, 4] -> z [n, latent_dim].
        snapshot_every: > 0 records the first round's best-so-far pasted completion every that
            many steps (and at the end) in ``Completion.frames``.
        progress: optional callable(step, mean_loss) called after every step, the step counted
            across rounds and then the tuning's steps (at most
            ``settings.reported_steps()``).

    Returns:
        A ``Completion``; for every start the best iterate seen (lowest loss) is kept, and with
        ``settings.tune_steps`` each image is completed by its tuned G.
    """
    settings.validate()
    if settings.start == "encoder" and encoder is None:
        raise ValueError("start='encoder' needs the run's encoder: train one with "
                         "train.py --encoder")
    images = np.asarray(images, np.float32)
    masks = np.asarray(masks, np.float32)
    # Made before the search, so a bad --tune_blocks is named before any work.
    tuner, objective = (_compiled_tuning(generator, discriminator, settings)
                        if settings.tune_steps else (None, None))
    if settings.steps == 0:  # method "instant"
        return _without_search(generator, discriminator, encoder, images, masks, settings)
    result, score = _search(generator, discriminator, images, masks, settings, seed=(seed, 0),
                            encoder=encoder, snapshot_every=snapshot_every, progress=progress)
    for round_index in range(1, settings.max_rounds if settings.until_approved else 1):
        todo = np.flatnonzero(result.realness < 0.5)
        if todo.size == 0:
            break
        retry, retry_score = _search(generator, discriminator, images[todo], masks[todo],
                                     dataclasses.replace(settings, start="random"),
                                     seed=(seed, round_index),
                                     progress=_counted_from(progress, round_index * settings.steps))
        better = (retry.realness >= 0.5) | (retry_score < score[todo])
        for field in ("completed", "generated", "latents", "losses", "realness"):
            getattr(result, field)[todo[better]] = getattr(retry, field)[better]
        score[todo[better]] = retry_score[better]
        result.rounds[todo] += 1
        result.history = np.concatenate([result.history, retry.history])
    if tuner is not None:
        _tune(tuner, objective, images, masks, result, seed=seed,
              progress=_counted_from(progress, settings.reported_steps() - settings.tune_steps))
    return result


def _tune(tuner: tuning.Tuning, objective: "_Objective", images: np.ndarray, masks: np.ndarray,
          result: Completion, *, seed: int, progress) -> None:
    """Tunes a copy of G to each image from its chosen z (``tuning.tune``, for ``objective``'s
    contextual loss) and completes it with its tuned G: ``result``'s generated and completed
    images, latents, losses and realness become the tuned ones, and its history gets the
    tuning's steps."""
    settings, discriminator = tuner.settings, tuner.discriminator
    targets, weights = (rows[:len(images)].numpy() for rows in objective.inputs(images, masks))
    tuned = tuning.tune(tuner, images, masks, result.latents, targets, weights, seed=seed,
                        progress=progress)
    completed = _blend(settings)(images, tuned.generated, masks)
    result.completed, result.generated = completed.numpy(), tuned.generated
    result.latents, result.losses = tuned.latents, tuned.losses
    result.realness = tf.sigmoid(discriminator(completed, training=False)[:, 0]).numpy()
    result.history = np.concatenate([result.history, tuned.history])


def _counted_from(progress, offset: int):
    """``progress(step, loss)`` with the steps counted from ``offset`` (None stays None)."""
    if progress is None:
        return None
    return lambda step, loss: progress(offset + step, loss)


def complete_in_graph(generator: keras.Model, discriminator: keras.Model, images: tf.Tensor,
                      masks: tf.Tensor, settings: SearchSettings, *, steps: tf.Tensor,
                      seed: tf.Tensor, encoder: keras.Model | None = None
                      ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One round of ``complete`` in TensorFlow ops only, for SavedModel signatures.

    No variables: z, Adam's moments and the best iterate are ``tf.while_loop`` state (and so
    are the tuned copies of G: ``tuning.tune_in_graph``), so concurrent calls share nothing.
    A call matches ``complete`` with the same settings and seed
    up to float rounding: a start that stops early (``settings.patience``) keeps its z while
    the others go on, and the loop ends when every start has stopped.

    Args:
        images: [N, H, W, 3] float32 in [-1, 1]; masks: [N, H, W, 1] float32, 1 = known.
        settings: the search settings (``settings.steps`` is ignored in favour of ``steps``).
        steps: int32 scalar tensor, >= 1.
        seed: int64 scalar tensor; the starts are those of ``complete(seed=seed)``.
        encoder: required when ``settings.start`` is "encoder".

    Returns:
        completed [N, H, W, 3], generated [N, H, W, 3] (both in [-1, 1]) and the chosen starts'
        losses [N].
    """
    count = tf.shape(images)[0]
    objective = _Objective(generator, discriminator, settings)
    targets, weights = objective.inputs(images, masks)
    starts = _starts(generator, encoder, images, masks, settings,
                     tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)]))
    rate = _learning_rate(settings, steps)

    def running(stale):
        return stale < settings.patience if settings.patience else tf.ones_like(stale, tf.bool)

    def body(step, z, first_moment, second_moment, best_z, best_loss, reference, stale):
        loss, moved, first_moment, second_moment = _adam_step(
            objective, settings, rate, step, z, first_moment, second_moment, targets, weights)
        best_z, best_loss = _keep_best(z, loss, best_z, best_loss)
        if settings.patience:  # stopped starts keep their z, reference and count
            was_running = running(stale)
            new_reference, new_stale = _patience_update(loss, reference, stale, settings)
            reference = tf.where(was_running, new_reference, reference)
            stale = tf.where(was_running, new_stale, stale)
            moved = tf.where(running(stale)[:, tf.newaxis], moved, z)
        return (step + 1, moved, first_moment, second_moment, best_z, best_loss, reference,
                stale)

    zeros = tf.zeros_like(starts)
    infinite = tf.fill([settings.restarts * count], np.float32(np.inf))
    _, z, _, _, best_z, best_loss, _, _ = tf.while_loop(
        lambda step, *state: tf.logical_and(step < steps, tf.reduce_any(running(state[-1]))),
        body, [tf.constant(0), starts, zeros, zeros, starts, infinite, infinite,
               tf.zeros_like(infinite, tf.int32)])
    best_z, best_loss = _keep_best(z, objective(z, targets, weights)[0], best_z, best_loss)
    chosen, _ = _choose(objective, best_z, best_loss, targets, weights, count)
    if settings.tune_steps:
        tuner = tuning.Tuning(generator, discriminator, settings, objective.contextual)
        generated, losses = tuning.tune_in_graph(
            tuner, images, masks, tf.gather(best_z, chosen), targets[:count], weights[:count],
            seed=tf.cast(seed, tf.int64))
    else:
        generated = generator(tf.gather(best_z, chosen), training=False)
        losses = tf.gather(best_loss, chosen)
    return _blend(settings)(images, generated, masks), generated, losses


class _Objective:
    """The loss of a batch of starts of the search (``settings``), given each start's targets
    and contextual weights (``inputs``: row r * N + i is start r of image i)."""

    def __init__(self, generator, discriminator, settings: SearchSettings):
        self.generator, self.discriminator, self.settings = generator, discriminator, settings

    def inputs(self, images, masks) -> tuple[tf.Tensor, tf.Tensor]:
        """Targets [R * N, H, W, 3] (block means [R * N, H / f, W / f, 3] for lowres) and
        contextual weights [R * N, H, W, 1] of images [N, H, W, 3] and masks [N, H, W, 1]."""
        settings = self.settings
        targets = tf.tile(images, [settings.restarts, 1, 1, 1])
        known = tf.tile(masks, [settings.restarts, 1, 1, 1])
        if settings.contextual == "binary":
            weights = known
        else:
            weights = importance_weights(known, settings.window) + settings.known_weight * known
        if settings.lowres_factor:
            targets = block_mean(targets, settings.lowres_factor)
        return targets, weights

    def __call__(self, z: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor
                 ) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-start losses [n] and discriminator logits [n] of G(z) for z [n, L] and the
        starts' ``inputs`` rows."""
        settings = self.settings
        generated = self.generator(z, training=False)
        logits = self.discriminator(generated, training=False)[:, 0]
        prior_loss = 0.5 * tf.reduce_sum(tf.square(z), axis=1)
        return (self.contextual(generated, targets, weights)
                + settings.perceptual_weight * tf.nn.softplus(-logits)
                + settings.prior_weight * prior_loss), logits

    def contextual(self, generated: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor
                   ) -> tf.Tensor:
        """Contextual losses [n] of generated images [n, H, W, 3] for their ``inputs`` rows."""
        if self.settings.lowres_factor:
            return tf.reduce_sum(tf.abs(block_mean(generated, self.settings.lowres_factor)
                                        - targets), axis=[1, 2, 3])
        return tf.reduce_sum(weights * tf.abs(generated - targets), axis=[1, 2, 3])


def _starts(generator, encoder, images, masks, settings: SearchSettings, seed) -> tf.Tensor:
    """The starting latents [R * N, L]: all from the prior (stateless ``seed`` [2]), or with
    ``settings.start == "encoder"`` the first N (start 0 of every image) from E(masked image)."""
    count = tf.shape(images)[0]
    latent_dim = int(generator.input_shape[-1])
    starts = sample_latents(tf.stack([settings.restarts * count, latent_dim]), seed,
                            settings.prior)
    if settings.start != "encoder":
        return starts
    if encoder is None:
        raise ValueError("start='encoder' needs the run's encoder: train one with "
                         "train.py --encoder")
    encoded = encoder(encoder_inputs(images, masks), training=False)
    if settings.clip_latents:
        encoded = tf.clip_by_value(encoded, -settings.clip_latents, settings.clip_latents)
    return tf.concat([encoded, starts[count:]], axis=0)


def _adam_step(objective: _Objective, settings: SearchSettings, rate, step, z, first_moment,
               second_moment, targets, weights):
    """One Adam step (Keras' update rule) from ``z``, for starts with ``targets`` and
    ``weights`` (rows of ``objective.inputs``).

    Returns:
        The losses at ``z`` [n], the moved z and the new first and second moments.
    """
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss, _ = objective(z, targets, weights)
        total = tf.reduce_sum(loss)  # starts are independent: each gets its own gradient
    gradient = tape.gradient(total, z)
    learning_rate = rate(step) if callable(rate) else rate
    moved, first_moment, second_moment = adam.update(z, gradient, first_moment, second_moment,
                                                     step, learning_rate)
    if settings.clip_latents:
        moved = tf.clip_by_value(moved, -settings.clip_latents, settings.clip_latents)
    return loss, moved, first_moment, second_moment


def _patience_update(loss, reference, stale, settings: SearchSettings
                     ) -> tuple[tf.Tensor, tf.Tensor]:
    """Early stopping as Keras' EarlyStopping: a start's loss [n] that is below (1 -
    ``settings.tolerance``) times its ``reference`` [n] becomes the new reference and resets its
    ``stale`` count [n] (int32) of steps without such an improvement; else the count grows, so
    many small improvements still end in a stop. Returns the new reference and counts."""
    significant = loss < reference * (1.0 - settings.tolerance)
    return tf.where(significant, loss, reference), tf.where(significant, 0, stale + 1)


def _keep_best(z, loss, best_z, best_loss) -> tuple[tf.Tensor, tf.Tensor]:
    """Each start's best iterate so far: ``z`` [n, L] and its ``loss`` [n] where the loss is
    below ``best_loss`` [n], else ``best_z`` [n, L] and ``best_loss``."""
    improved = loss < best_loss
    return tf.where(improved[:, tf.newaxis], z, best_z), tf.where(improved, loss, best_loss)


def _choose(objective: "_Objective", best_z, best_loss, targets, weights,
            count) -> tuple[tf.Tensor, tf.Tensor]:
    """Each image's chosen start among its ``restarts`` (rows r * N + i of ``best_z`` [R * N, L]
    and ``best_loss`` [R * N]): the lowest loss, or with ``select_by="discriminator"`` the
    highest D(G(z)).

    Returns:
        The chosen rows [N] (int32) and their selection scores [N] (lower is better).
    """
    score = best_loss
    if objective.settings.select_by == "discriminator":
        score = -objective(best_z, targets, weights)[1]
    return _lowest(score, objective.settings.restarts, count)


def _lowest(score, restarts: int, count) -> tuple[tf.Tensor, tf.Tensor]:
    """The row r * N + i of each image i with the lowest ``score`` [R * N] among its
    ``restarts`` rows: rows [N] (int32) and their scores [N]."""
    score = tf.reshape(score, [restarts, count])
    return (tf.argmin(score, axis=0, output_type=tf.int32) * count + tf.range(count),
            tf.reduce_min(score, axis=0))


def _traced_fields(settings: SearchSettings) -> SearchSettings:
    """``settings`` with every field the traced step does not read set to its default (those
    shape the step's inputs, or act outside it), so they share one trace."""
    kept = ("learning_rate", "perceptual_weight", "prior_weight", "schedule", "clip_latents",
            "lowres_factor")
    traced = SearchSettings(**{name: getattr(settings, name) for name in kept})
    if settings.schedule != "constant":
        traced = dataclasses.replace(traced, steps=settings.steps)  # the schedule's length
    return traced


@functools.lru_cache(maxsize=4)  # holds at most 4 pairs of networks alive
def _compiled_step(generator, discriminator, settings: SearchSettings):
    """The traced Adam step of a search and its objective, kept for the next batch with the
    same networks and traced settings (``_traced_fields``): tracing costs about as much as 5
    steps of a batch of 64."""
    objective = _Objective(generator, discriminator, settings)
    rate = _learning_rate(settings, settings.steps)
    latents = tf.TensorSpec([None, int(generator.input_shape[-1])], tf.float32)
    pictures = tf.TensorSpec([None, None, None, 3], tf.float32)
    weights = tf.TensorSpec([None, None, None, 1], tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32), latents, latents, latents,
                                  pictures, weights])
    def step(index, z, first_moment, second_moment, targets, weights):
        return _adam_step(objective, settings, rate, index, z, first_moment, second_moment,
                          targets, weights)

    return step, objective


@functools.lru_cache(maxsize=4)  # holds at most 4 pairs of networks alive
def _compiled_tuning(generator, discriminator, settings: SearchSettings
                     ) -> tuple[tuning.Tuning, "_Objective"]:
    """The tuning of G (its step traced once) and the search's objective whose contextual loss
    it fits, kept for the next batch with the same networks and settings."""
    objective = _Objective(generator, discriminator, settings)
    return tuning.Tuning(generator, discriminator, settings, objective.contextual), objective


@functools.lru_cache(maxsize=4)  # holds at most 4 sets of networks alive
def _compiled_without_search(generator, discriminator, encoder, settings: SearchSettings):
    """One traced function for ``_without_search``: a preview costs one graph call, about a
    third of the eager networks' time."""
    objective = _Objective(generator, discriminator, settings)
    no_seed = tf.zeros([2], tf.int64)  # one start per image, from the encoder

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32),
                                  tf.TensorSpec([None, None, None, 1], tf.float32)])
    def run(images, masks):
        z = _starts(generator, encoder, images, masks, settings, no_seed)
        loss, _ = objective(z, *objective.inputs(images, masks))
        generated = generator(z, training=False)
        completed = _blend(settings)(images, generated, masks)
        realness = tf.sigmoid(discriminator(completed, training=False)[:, 0])
        return completed, generated, z, loss, realness

    return run


def _without_search(generator, discriminator, encoder, images: np.ndarray, masks: np.ndarray,
                    settings: SearchSettings) -> Completion:
    """``complete`` with ``settings.steps == 0``: G(E(masked image)) blended into the hole."""
    if encoder is None:
        raise ValueError("--method=instant needs the run's encoder: train one with "
                         "train.py --encoder")
    run = _compiled_without_search(generator, discriminator, encoder, settings)
    completed, generated, z, loss, realness = (tensor.numpy() for tensor in run(images, masks))
    return Completion(completed, generated, z, loss, realness, np.ones([len(images)], np.int32),
                      np.zeros([0], np.float32))


def _search(generator, discriminator, images: np.ndarray, masks: np.ndarray,
            settings: SearchSettings, *, seed, encoder=None, snapshot_every: int = 0,
            progress=None) -> tuple[Completion, np.ndarray]:
    """One round of best-of-``restarts`` search; starts that stop improving for
    ``settings.patience`` steps leave the batch.

    Returns the round's ``Completion`` and each image's selection score (lower is better).
    """
    restarts, count = settings.restarts, len(images)
    step, traced_objective = _compiled_step(generator, discriminator, _traced_fields(settings))
    objective = _Objective(generator, discriminator, settings)
    all_targets, all_weights = objective.inputs(images, masks)
    targets, weights = all_targets, all_weights  # the rows of the starts still running
    starts = _starts(generator, encoder, images, masks, settings, tf.constant(seed, tf.int64))

    best_z, best_loss = starts.numpy(), np.full([len(starts)], np.inf, np.float32)
    reference = np.full([len(starts)], np.inf, np.float32)  # for early stopping
    stale = np.zeros([len(starts)], np.int32)
    rows = np.arange(len(starts), dtype=np.int32)  # the starts still being optimised
    z = starts
    first_moment = second_moment = tf.zeros_like(starts)

    def keep_best(z, loss):
        kept_z, kept_loss = _keep_best(z, loss, best_z[rows], best_loss[rows])
        best_z[rows], best_loss[rows] = kept_z.numpy(), kept_loss.numpy()

    def snapshot():
        chosen, _ = _lowest(best_loss, restarts, count)
        return blending.paste(images, generator(best_z[chosen.numpy()], training=False),
                              masks).numpy()

    history, frames = [], []
    for index in range(settings.steps):
        loss, moved, first_moment, second_moment = step(tf.constant(index, tf.int32), z,
                                                        first_moment, second_moment, targets,
                                                        weights)
        loss = loss.numpy()
        history.append(loss.mean())
        if progress is not None:
            progress(index + 1, history[-1])
        keep_best(z, loss)
        z = moved
        if settings.patience:
            updated = _patience_update(loss, reference[rows], stale[rows], settings)
            reference[rows], stale[rows] = (tensor.numpy() for tensor in updated)
            running = stale[rows] < settings.patience
            if not running.all():
                rows = rows[running]
                z, first_moment, second_moment, targets, weights = (
                    tf.boolean_mask(tensor, running)
                    for tensor in (z, first_moment, second_moment, targets, weights))
        if snapshot_every and index % snapshot_every == 0:
            frames.append(snapshot())
        if rows.size == 0:
            break
    if rows.size:
        keep_best(z, traced_objective(z, targets, weights)[0].numpy())  # the last update counts
    if snapshot_every:
        frames.append(snapshot())

    chosen, score = _choose(objective, tf.constant(best_z), best_loss, all_targets, all_weights,
                            count)
    chosen = chosen.numpy()
    generated = generator(best_z[chosen], training=False)
    completed = _blend(settings)(images, generated, masks)
    realness = tf.sigmoid(discriminator(completed, training=False)[:, 0])
    completion = Completion(completed.numpy(), generated.numpy(), best_z[chosen],
                            best_loss[chosen], realness.numpy(), np.ones([count], np.int32),
                            np.asarray(history, np.float32), np.stack(frames) if frames else None)
    return completion, score.numpy()
