"""The z-optimisation: Yeh's weights, loss decrease, known pixels kept, schedules, restarts."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import scaled_generator
from dcgan_tf.inpainting import masks, search
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models import networks as network_lib

SIZE, LATENT = 32, 8
# A plain search: constant learning rate, no prior term, every known pixel weighted by Yeh only.
PLAIN = SearchSettings(steps=40, learning_rate=0.01, known_weight=0.0, prior_weight=0.0,
                       schedule="constant")


def plain(**changes) -> SearchSettings:
    """``PLAIN`` with ``changes``."""
    return dataclasses.replace(PLAIN, **changes)


@pytest.fixture(scope="module")
def networks():
    return scaled_generator(LATENT, SIZE), network_lib.build_discriminator(SIZE, 4)


@pytest.fixture(scope="module")
def target(networks):
    """Images the generator can produce exactly (so the loss can approach 0)."""
    generator, _ = networks
    return generator(tf.random.normal([2, LATENT], seed=1), training=False).numpy()


def test_importance_weights_hand_computed():
    mask = np.ones((1, 5, 5, 1), np.float32)
    mask[0, 2, 2, 0] = 0.0
    weights = search.importance_weights(tf.constant(mask), window=3).numpy()[0, ..., 0]
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 1:4] = 1.0 / 9.0  # the 8 known neighbours see one missing pixel of 9
    expected[2, 2] = 0.0  # the hole itself has no contextual weight
    np.testing.assert_allclose(weights, expected, atol=1e-7)


def test_warmup_cosine_schedule():
    schedule = search.WarmupCosine(0.1, 1000)
    assert float(schedule(0)) == 0.0
    assert float(schedule(50)) == pytest.approx(0.1)
    assert float(schedule(500)) == pytest.approx(0.1)
    assert float(schedule(875)) == pytest.approx(0.05, rel=1e-3)
    assert float(schedule(1000)) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("contextual, blend", [("weighted", "poisson"), ("binary", "paste")])
def test_completion_lowers_the_loss_and_keeps_known_pixels(networks, target, contextual, blend):
    generator, discriminator = networks
    mask = masks.make_masks("center", 2, SIZE)
    result = search.complete(generator, discriminator, target, mask,
                             plain(learning_rate=0.05, contextual=contextual, blend=blend,
                                   restarts=2), seed=5)
    assert result.history.shape == (40,)
    assert result.history[-1] < 0.7 * result.history[0]
    assert result.completed.shape == target.shape and result.latents.shape == (2, LATENT)
    known = mask[..., 0] == 1
    np.testing.assert_array_equal(result.completed[known], target[known])
    assert np.all(result.losses <= result.history[0] * 2)


def test_uniform_prior_is_clipped(networks, target):
    generator, discriminator = networks
    settings = plain(steps=10, learning_rate=0.5).for_model("uniform")
    result = search.complete(generator, discriminator, target, masks.make_masks("left", 2, SIZE),
                             settings)
    assert np.abs(result.latents).max() <= 1.0


def test_lowres_matches_block_means(networks, target):
    generator, discriminator = networks
    result = search.complete(generator, discriminator, target, masks.make_masks("lowres", 2, SIZE),
                             plain(steps=30, learning_rate=0.05, lowres_factor=8))
    before = np.abs(search.block_mean(generator(tf.random.normal([2, LATENT]), training=False),
                                      8) - search.block_mean(target, 8)).mean()
    after = np.abs(search.block_mean(result.completed, 8) - search.block_mean(target, 8)).mean()
    assert after < before


class BrightnessJudge(keras.Model):
    """A discriminator that finds brighter images more real: logit = 10 * mean pixel."""

    def call(self, images, training=False):
        return 10.0 * tf.reduce_mean(images, axis=[1, 2, 3])[:, tf.newaxis]


def test_select_by_discriminator_picks_the_start_the_discriminator_prefers(networks):
    """With no perceptual term the discriminator plays no part in the search, only in the
    choice among restarts: by "loss" the lowest loss wins, by "discriminator" the brightest."""
    generator, _ = networks
    judge = BrightnessJudge()
    target = generator(tf.random.normal([4, LATENT], seed=2), training=False).numpy()
    mask = masks.make_masks("left", 4, SIZE)
    settings = plain(steps=5, restarts=6, perceptual_weight=0.0)
    by_loss = search.complete(generator, judge, target, mask, settings, seed=3)
    by_judge = search.complete(generator, judge, target, mask,
                               dataclasses.replace(settings, select_by="discriminator"), seed=3)
    judged = {name: judge(generator(result.latents, training=False)).numpy()[:, 0]
              for name, result in (("loss", by_loss), ("judge", by_judge))}
    assert np.all(judged["judge"] >= judged["loss"]) and np.any(judged["judge"] > judged["loss"])
    assert np.all(by_loss.losses <= by_judge.losses)
    assert np.any(by_loss.losses < by_judge.losses)


def test_bad_settings_are_refused(networks, target):
    generator, discriminator = networks
    mask = masks.make_masks("center", 2, SIZE)
    with pytest.raises(ValueError, match="--contextual"):
        search.complete(generator, discriminator, target, mask, plain(contextual="l2"))
    with pytest.raises(ValueError, match="--method=fast contradicts --steps=40"):
        search.complete(generator, discriminator, target, mask,
                        plain(method="fast", start="encoder", learning_rate=0.01,
                              patience=5))


def test_search_steps_are_keras_adam(networks, target):
    """The hand-written Adam update of the search moves z exactly as keras.optimizers.Adam."""
    generator, discriminator = networks
    settings = plain(learning_rate=0.05)
    objective = search._Objective(generator, discriminator, settings)
    targets, weights = objective.inputs(target, masks.make_masks("center", 2, SIZE))
    start = tf.random.normal([2, LATENT], seed=4)
    z, first_moment, second_moment = start, tf.zeros_like(start), tf.zeros_like(start)
    variable = tf.Variable(start)
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    for step in range(10):
        _, z, first_moment, second_moment = search._adam_step(
            objective, settings, settings.learning_rate, tf.constant(step), z, first_moment,
            second_moment, targets, weights)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(objective(variable, targets, weights)[0])
        optimizer.apply_gradients([(tape.gradient(loss, variable), variable)])
        np.testing.assert_allclose(z.numpy(), variable.numpy(), rtol=1e-5, atol=1e-6)
    assert np.abs(z.numpy() - start.numpy()).max() > 0.1  # it did move


class ConstantJudge(keras.Model):
    """A discriminator that always returns the same logit (so it approves all or nothing)."""

    def __init__(self, logit: float):
        super().__init__()
        self.logit = logit

    def call(self, images, training=False):
        return tf.fill([tf.shape(images)[0], 1], self.logit) + 0.0 * tf.reduce_mean(images)


@pytest.mark.parametrize("logit, rounds", [(-10.0, 3), (10.0, 1)])
def test_until_approved_retries_only_rejected_completions(networks, target, logit, rounds):
    generator, _ = networks
    seen = []
    result = search.complete(generator, ConstantJudge(logit), target,
                             masks.make_masks("center", 2, SIZE),
                             plain(steps=4, until_approved=True, max_rounds=3),
                             progress=lambda step, loss: seen.append(step))
    np.testing.assert_array_equal(result.rounds, [rounds, rounds])
    assert result.history.shape == (4 * rounds,) and seen == list(range(1, 4 * rounds + 1))
    np.testing.assert_allclose(result.realness, 1.0 / (1.0 + np.exp(-logit)), rtol=1e-5)


def test_retry_rounds_keep_the_better_result(networks, target):
    """A rejected image keeps its first-round result unless a new start lowers the loss."""
    generator, _ = networks
    mask = masks.make_masks("center", 2, SIZE)
    settings = plain(steps=6, learning_rate=0.05)
    first = search.complete(generator, ConstantJudge(-10.0), target, mask, settings, seed=2)
    retried = search.complete(generator, ConstantJudge(-10.0), target, mask,
                              dataclasses.replace(settings, until_approved=True, max_rounds=3),
                              seed=2)
    assert np.all(retried.losses <= first.losses + 1e-6)


def test_snapshots_show_the_search_with_known_pixels_pasted(networks, target):
    generator, discriminator = networks
    mask = masks.make_masks("center", 2, SIZE)
    result = search.complete(generator, discriminator, target, mask, plain(steps=5),
                             snapshot_every=2)
    assert result.frames.shape == (4, 2, SIZE, SIZE, 3)  # steps 1, 3, 5 and the final choice
    known = np.broadcast_to(mask == 1, result.frames.shape[1:])
    for frame in result.frames:
        np.testing.assert_allclose(frame[known], target[known], atol=1e-6)
    assert not np.allclose(result.frames[0], result.frames[-1])


@pytest.mark.parametrize("schedule, prior, patience", [
    ("warmup_cosine", "normal", 0), ("constant", "uniform", 0), ("constant", "normal", 2)])
def test_in_graph_completion_matches_the_eager_search(networks, target, schedule, prior,
                                                     patience):
    generator, discriminator = networks
    mask = masks.make_masks("thick", 2, SIZE, seed=4)
    settings = SearchSettings(steps=15, learning_rate=0.05, restarts=2, schedule=schedule,
                              patience=patience, tolerance=0.05).for_model(prior)
    eager = search.complete(generator, discriminator, target, mask, settings, seed=7)
    if patience:
        assert len(eager.history) < 15  # every start stopped early
    graph = tf.function(lambda: search.complete_in_graph(
        generator, discriminator, tf.constant(target), tf.constant(mask), settings,
        steps=tf.constant(15), seed=tf.constant(7, tf.int64)))
    completed, generated, losses = (value.numpy() for value in graph())
    np.testing.assert_allclose(losses, eager.losses, rtol=1e-4)
    np.testing.assert_allclose(generated, eager.generated, atol=1e-4)
    np.testing.assert_allclose(completed, eager.completed, atol=1e-3)
