"""Generator and discriminator shapes, ranges and initialisation."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf.models import networks


@pytest.mark.parametrize("size", [32, 64, 128])
def test_generator_shape_and_range(size):
    generator = networks.build_generator(latent_dim=10, image_size=size, filters=4)
    images = generator(tf.random.normal([2, 10]) * 10, training=False).numpy()
    assert images.shape == (2, size, size, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.std() > 0


@pytest.mark.parametrize("size", [32, 64, 128])
def test_discriminator_returns_one_logit_per_image(size):
    discriminator = networks.build_discriminator(image_size=size, filters=4)
    logits = discriminator(tf.random.uniform([3, size, size, 3], -1, 1), training=False)
    assert logits.shape == (3, 1)
    assert np.all(np.isfinite(logits.numpy()))


def test_widths_double_towards_the_small_end():
    generator = networks.build_generator(latent_dim=10, image_size=64, filters=8)
    widths = [layer.filters for layer in generator.layers if hasattr(layer, "filters")]
    assert widths == [32, 16, 8, 3]
    discriminator = networks.build_discriminator(image_size=64, filters=8)
    widths = [layer.filters for layer in discriminator.layers if hasattr(layer, "filters")]
    assert widths == [8, 16, 32, 64]


def test_kernels_start_from_normal_0_02():
    discriminator = networks.build_discriminator(image_size=64, filters=32)
    kernel = discriminator.get_layer("down2").kernel.numpy()
    assert abs(kernel.mean()) < 0.002
    assert kernel.std() == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("size", [8 * 3, 4, 100])
def test_bad_image_size_is_refused(size):
    with pytest.raises(ValueError, match="image_size"):
        networks.build_generator(image_size=size)
