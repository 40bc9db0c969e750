"""The generator tuned per image (--method=tune): the copy starts as G, the known pixels' loss
falls, the locality term is the distance it says, only the named blocks move, G itself never
changes, and the in-graph tuning of exports equals the eager one."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from conftest import scaled_generator
from dcgan_tf.inpainting import masks, search, tuning
from dcgan_tf.inpainting.settings import SearchSettings, search_settings
from dcgan_tf.models import networks as network_lib
from dcgan_tf.models.sampling import sample_latents

SIZE, LATENT = 32, 8
# A short search, then tuning every block of G.
TUNE = SearchSettings(steps=5, learning_rate=0.05, schedule="constant", tune_steps=12,
                      tune_learning_rate=2e-2, tune_latent_learning_rate=1e-2,
                      feature_weight=1.0, locality_weight=0.1, locality_latents=2)


@pytest.fixture(scope="module")
def networks():
    return scaled_generator(LATENT, SIZE), network_lib.build_discriminator(SIZE, 4)


@pytest.fixture(scope="module")
def target():
    """Images the generator cannot draw: smooth colour ramps."""
    ramp = np.linspace(-0.8, 0.8, SIZE, dtype=np.float32)
    images = np.stack([np.broadcast_to(ramp[:, None], (SIZE, SIZE)),
                       np.broadcast_to(ramp[None, :], (SIZE, SIZE)),
                       np.full((SIZE, SIZE), 0.3, np.float32)], axis=-1)
    return np.stack([images, -images])


def _face(networks, settings, target, mask):
    """The Tuning of ``settings`` and the first image's Face."""
    generator, discriminator = networks
    objective = search._Objective(generator, discriminator, settings)
    targets, weights = objective.inputs(target, mask)
    tuner = tuning.Tuning(generator, discriminator, settings, objective.contextual)
    return tuner, tuner.face(tf.constant(target[:1]), tf.constant(mask[:1]), targets[:1],
                             weights[:1])


def test_the_copy_starts_as_the_untuned_generator(networks, target):
    generator, _ = networks
    tuner, face = _face(networks, TUNE, target, masks.make_masks("center", 2, SIZE))
    z = tf.random.normal([3, LATENT], seed=1)
    parameters, first_moments, second_moments = tuner.start(z[:1])
    np.testing.assert_allclose(tuner.generate(parameters[:-1], z),
                               generator(z, training=False), atol=1e-6)
    terms = tuner.terms(parameters[:-1], parameters[-1], face, tf.constant(0),
                        tf.constant(0, tf.int64))
    assert float(terms["locality"]) == pytest.approx(0.0, abs=1e-8)
    assert all(not np.any(moment) for moment in first_moments + second_moments)


def test_the_known_pixels_loss_falls_and_g_itself_does_not_change(networks, target):
    generator, discriminator = networks
    mask = masks.make_masks("center", 2, SIZE)
    weights_before = [weight.numpy().copy() for weight in generator.weights]
    searched = search.complete(generator, discriminator, target, mask,
                               dataclasses.replace(TUNE, tune_steps=0), seed=2)
    tuned = search.complete(generator, discriminator, target, mask, TUNE, seed=2)
    assert tuned.history.shape == (TUNE.steps + TUNE.tune_steps,)
    known = mask[..., 0] == 1

    def known_error(generated):
        return np.abs(generated - target)[known].mean()

    assert known_error(tuned.generated) < 0.8 * known_error(searched.generated)
    assert tuned.history[-1] < 0.8 * tuned.history[TUNE.steps]
    np.testing.assert_array_equal(tuned.completed[known], target[known])
    for before, weight in zip(weights_before, generator.weights):
        np.testing.assert_array_equal(weight.numpy(), before)


def test_the_locality_term_is_the_distance_to_g_on_the_step_s_random_latents(networks, target):
    """With the tuned weights moved, the term is the mean over the step's random latents (the
    prior's, from the stateless seed (seed, -1 - step)) of the summed squared difference
    between the tuned G's images and G's."""
    generator, _ = networks
    tuner, face = _face(networks, TUNE, target, masks.make_masks("left", 2, SIZE))
    parameters, _, _ = tuner.start(tf.zeros([1, LATENT]))
    moved = [value + 0.05 * tf.random.normal(value.shape, seed=index)
             for index, value in enumerate(parameters[:-1])]
    terms = tuner.terms(moved, parameters[-1], face, tf.constant(3), tf.constant(11, tf.int64))

    copy = network_lib.build_generator(LATENT, SIZE, 4)
    copy.set_weights(generator.get_weights())
    for index, value in zip(tuner.tuned, moved):
        copy.trainable_variables[index].assign(value)
    latents = sample_latents([TUNE.locality_latents, LATENT], tf.constant([11, -4], tf.int64))
    difference = copy(latents, training=False) - generator(latents, training=False)
    expected = np.mean(np.sum(np.square(difference.numpy()), axis=(1, 2, 3)))
    assert expected > 0.1
    assert float(terms["locality"]) == pytest.approx(expected, rel=1e-4)


def test_only_the_named_blocks_move(networks, target):
    generator, _ = networks
    assert tuning.generator_blocks(generator) == ("project", "up0", "up1", "to_rgb")
    settings = dataclasses.replace(TUNE, tune_blocks="up1,to_rgb")
    tuner, face = _face(networks, settings, target, masks.make_masks("center", 2, SIZE))
    paths = [generator.trainable_variables[index].path.split("/")[-2] for index in tuner.tuned]
    assert paths == ["up1", "up1_bn", "up1_bn", "to_rgb", "to_rgb"]
    state = tuner.start(tf.random.normal([1, LATENT], seed=3))
    seed = tf.constant(0, tf.int64)
    for step in range(3):
        _, *state = tuner.step(tf.constant(step), *state, face, seed)
    for index, value in zip(tuner.tuned, state[0][:-1]):
        assert not np.allclose(value, generator.trainable_variables[index])
    with pytest.raises(ValueError, match="--tune_blocks: the generator has no block up7"):
        tuning.tuned_indices(generator, "up1,up7")


@pytest.mark.parametrize("blocks, contextual", [("all", "weighted"), ("project", "binary")])
def test_in_graph_tuning_matches_the_eager_one(networks, target, blocks, contextual):
    generator, discriminator = networks
    mask = masks.make_masks("thick", 2, SIZE, seed=4)
    # A few steps: over many, Adam's normalised steps grow the float rounding in which the two
    # graphs differ (they are optimised apart) on the tiny G's saturated units.
    settings = dataclasses.replace(TUNE, tune_steps=3, tune_blocks=blocks,
                                   contextual=contextual, restarts=2)
    eager = search.complete(generator, discriminator, target, mask, settings, seed=7)
    graph = tf.function(lambda: search.complete_in_graph(
        generator, discriminator, tf.constant(target), tf.constant(mask), settings,
        steps=tf.constant(settings.steps), seed=tf.constant(7, tf.int64)))
    completed, generated, losses = (value.numpy() for value in graph())
    np.testing.assert_allclose(losses, eager.losses, rtol=1e-4)
    np.testing.assert_allclose(generated, eager.generated, atol=1e-3)
    np.testing.assert_allclose(completed, eager.completed, atol=1e-3)


def test_progress_counts_the_search_then_the_tuning(networks, target):
    generator, discriminator = networks
    seen = []
    search.complete(generator, discriminator, target, masks.make_masks("center", 2, SIZE),
                    dataclasses.replace(TUNE, tune_steps=3),
                    progress=lambda step, loss: seen.append(step))
    assert seen == list(range(1, TUNE.steps + 4))
    assert dataclasses.replace(TUNE, tune_steps=3).reported_steps() == TUNE.steps + 3


def test_the_tune_method_refuses_the_flags_it_sets():
    settings = search_settings("tune")
    assert settings.tune_steps > 0 and settings.start == "encoder"
    for flag in ("steps", "tune_steps", "start"):
        with pytest.raises(ValueError, match=f"--method=tune sets --{flag} itself"):
            search_settings("tune", **{flag: getattr(settings, flag)})
    for method in ("fast", "instant", "bamos"):
        with pytest.raises(ValueError, match=f"--method={method} sets --tune_steps itself"):
            search_settings(method, tune_steps=10)
    assert search_settings("tune", locality_weight=2.0).locality_weight == 2.0
    with pytest.raises(ValueError, match="--tune_learning_rate must be in"):
        search_settings("tune", tune_learning_rate=-1.0)
