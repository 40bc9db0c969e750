"""Seeded sampling: latents from the prior by stateless seed, and G's images as saved."""

import numpy as np
import tensorflow as tf

from dcgan_tf.models import networks, sampling


def test_sample_latents_is_deterministic_and_in_the_prior():
    seed = tf.constant([1, 2], tf.int64)
    normal = sampling.sample_latents([1000, 4], seed)
    np.testing.assert_array_equal(normal, sampling.sample_latents([1000, 4], seed))
    assert abs(float(tf.math.reduce_std(normal)) - 1.0) < 0.05
    uniform = sampling.sample_latents([1000, 4], seed, "uniform").numpy()
    assert uniform.min() >= -1.0 and uniform.max() <= 1.0


def test_sample_images_are_uint8_and_fixed_by_their_seed():
    tf.keras.utils.set_random_seed(1)
    generator = networks.build_generator(8, 32, 4)
    images = sampling.sample_images(generator, 5, seed=3, batch_size=2)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(sampling.sample_images(generator, 5, seed=3, batch_size=2),
                                  images)
    assert not np.array_equal(sampling.sample_images(generator, 5, seed=4, batch_size=2), images)
