"""The generator's weight average: its ramped half-life and update rule, no average before the
first update, the constant momentum of former runs, and BatchNorm statistics measured for the
weights held."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY
from dcgan_tf.models import averaging, networks, sampling
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.serving import loading
from dcgan_tf.training import loop


def test_average_half_life_ramps_up_then_holds():
    optimizer = averaging.AveragingAdam(1e-3, half_life_kimg=10.0, rampup=0.05,
                                        images_per_update=32)
    optimizer.build([tf.Variable(0.0)])
    for iterations, half_life in ((100, 100 * 32 * 0.05), (100_000, 10_000.0)):
        optimizer.iterations.assign(iterations)
        assert float(optimizer.ema_momentum) == pytest.approx(0.5 ** (32 / half_life))
    constant = averaging.AveragingAdam(1e-3, half_life_kimg=1.0, rampup=0.0,
                                       images_per_update=100)
    constant.build([tf.Variable(0.0)])
    assert float(constant.ema_momentum) == pytest.approx(0.5 ** 0.1)


def test_average_follows_its_update_rule():
    """Three Adam steps on w: the average is Keras' EMA with this step's beta each time."""
    weight = tf.Variable([1.0, -2.0])
    optimizer = averaging.AveragingAdam(0.1, half_life_kimg=0.004, rampup=0.0,
                                        images_per_update=2)
    optimizer.build([weight])
    beta = 0.5 ** (2 / 4.0)
    expected = None
    for _ in range(3):
        optimizer.apply_gradients([(tf.constant([1.0, 1.0]), weight)])
        expected = weight.numpy() if expected is None else beta * expected + (1 - beta) * \
            weight.numpy()
    np.testing.assert_allclose(optimizer._model_variables_moving_average[0].numpy(), expected,
                               rtol=1e-6)


def test_before_its_first_update_the_average_is_the_trained_weights(tmp_path):
    """A loss-scaling optimizer can skip the first steps: until an update is applied there is
    no average (its slots are zeros), so samples and loading use the trained weights."""
    config = dataclasses.replace(TINY, g_ema_kimg=1.0)
    built = loop.build_compiled_gan(config)
    generator = built.gan.generator
    built.gan.g_optimizer.build(generator.trainable_variables)
    trained = [weight.numpy() for weight in generator.trainable_variables]
    assert np.abs(trained[0]).max() > 0
    with built.gan.averaged_generator() as held:
        for weight, value in zip(held.trainable_variables, trained):
            np.testing.assert_array_equal(weight.numpy(), value)
    path = built.checkpoint.save(str(tmp_path / "ckpt"))
    fresh, _ = loading.build_gan_networks(config)
    loading.restore_gan(path, config, fresh)
    for weight, value in zip(fresh.trainable_variables, trained):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_a_run_of_the_former_constant_momentum_keeps_its_average():
    """config.json of a run trained with --g_ema=0.999 (Keras' use_ema, the same checkpoint
    slot) at batch 64: the same beta every update, no ramp-up."""
    legacy = {**json.loads(TINY.to_json()), "g_ema": 0.999, "batch_size": 64}
    del legacy["g_ema_kimg"], legacy["g_ema_rampup"]
    config = TrainConfig.from_dict(legacy)
    assert config.g_ema_rampup == 0.0
    optimizer = averaging.AveragingAdam(1e-3, half_life_kimg=config.g_ema_kimg, rampup=0.0,
                                        images_per_update=64)
    optimizer.build([tf.Variable(0.0)])
    assert float(optimizer.ema_momentum) == pytest.approx(0.999)
    assert TrainConfig.from_dict({**legacy, "g_ema": 0.0}).g_ema_kimg == 0.0


def test_batchnorm_statistics_are_measured_for_the_weights_held():
    keras.utils.set_random_seed(4)
    generator = networks.build_generator(8, 32, 4)
    averaging.recompute_batchnorm(generator)
    projected = keras.Model(generator.inputs, generator.get_layer("project").output)
    means = []
    for batch in range(averaging.BATCHNORM_BATCHES):
        latents = sampling.sample_latents([averaging.BATCHNORM_BATCH_SIZE, 8],
                                          tf.constant([averaging.BATCHNORM_SEED, batch], tf.int64))
        means.append(projected(latents).numpy().mean(axis=0))
    np.testing.assert_allclose(generator.get_layer("project_bn").moving_mean.numpy(),
                               np.mean(means, axis=0), rtol=1e-4, atol=1e-6)
