"""Generator and discriminator shapes, ranges and initialisation; spectral normalisation, also
under mixed precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf.models import networks
from dcgan_tf.training import loop


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


def _largest_singular_value(kernel: np.ndarray) -> float:
    return float(np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0])


def test_spectral_discriminator_normalises_every_kernel_and_has_no_batchnorm():
    keras.utils.set_random_seed(1)
    discriminator = networks.build_discriminator(32, 4, norm="spectral")
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in discriminator.layers)
    wrapped = [layer for layer in discriminator.layers
               if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 4  # three convolutions and the logits
    for layer in wrapped:  # scale the kernels far from norm 1
        layer.layer.kernel.assign(layer.layer.kernel * 50.0)
    images = tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], -1, 1)
    for _ in range(30):  # power iterations converge over training calls
        discriminator(images, training=True)
    for layer in wrapped:
        assert _largest_singular_value(layer.layer.kernel.numpy()) == pytest.approx(1.0, rel=0.05)
    none = networks.build_discriminator(32, 4, norm="none")
    assert not any(isinstance(layer, (keras.layers.BatchNormalization,
                                      keras.layers.SpectralNormalization))
                   for layer in none.layers)


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_spectral_normalisation_under_mixed_precision_keeps_float32_weights(precision):
    """The convolutions compute in half precision, but the normalised kernels written back each
    training call are float32 values (not rounded to half precision), and the logits float32."""
    keras.utils.set_random_seed(1)
    with loop._precision(precision):
        discriminator = networks.build_discriminator(32, 4, norm="spectral")
    wrapped = [layer for layer in discriminator.layers
               if isinstance(layer, keras.layers.SpectralNormalization)]
    assert wrapped[0].layer.compute_dtype == precision
    logits = discriminator(tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], -1, 1),
                           training=True)
    assert logits.dtype == tf.float32
    for layer in wrapped:
        kernel = layer.layer.kernel.numpy()
        rounded = tf.cast(tf.cast(kernel, precision), tf.float32).numpy()
        assert np.mean(kernel == rounded) < 0.05, layer.name
