"""The Inception network that FID and KID are defined on, as a Keras 3 model, and its features.

The weights are the 2015-12-05 Inception graph of the original TTUR FID code (and pytorch-fid,
StyleGAN3's metrics), converted to ``keras.applications.InceptionV3`` layout and loaded from a
file given by path. Two details make the features match that graph:

- the pooling branch of the last block (``mixed10``) is a 3x3 stride-1 'same' max pool, where
  Keras builds an average pool;
- inputs are RGB in [0, 255], resized to 299x299 bilinearly *without* half-pixel centres (TF1's
  ``ResizeBilinear``), then scaled to (x - 128) / 128.
"""

import os
import warnings

import keras
import numpy as np
import tensorflow as tf

INPUT_SIZE = 299
FEATURE_DIM = 2048


def build_fid_inception(weights_path: str | None) -> keras.Model:
    """InceptionV3 without its classifier, returning the 2048-d average-pooled features.

    Args:
        weights_path: a Keras ``.weights.h5`` file for ``InceptionV3(include_top=False,
            pooling="avg")``; None keeps random weights (for tests).

    Raises:
        ValueError: naming the file when it is missing or does not fit the network.
    """
    base = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                          input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
    if weights_path is not None:
        if not os.path.isfile(weights_path):
            raise ValueError(f"Inception weights file not found: {weights_path}")
        try:
            with warnings.catch_warnings():  # Keras only warns about layers it had to skip
                warnings.simplefilter("error", UserWarning)
                base.load_weights(weights_path)
        except (ValueError, OSError, UserWarning) as error:
            raise ValueError(f"{weights_path} does not hold FID Inception weights: "
                             f"{error}") from error
    last_pool = _last_block_pool(base)

    def swap_pool(layer):
        if layer is last_pool:
            return keras.layers.MaxPooling2D(3, strides=1, padding="same", name="mixed10_max_pool")
        return layer.__class__.from_config(layer.get_config())

    model = keras.models.clone_model(base, clone_function=swap_pool)
    model.set_weights(base.get_weights())  # pooling has no weights: the lists line up
    return model


def _last_block_pool(model: keras.Model) -> keras.layers.Layer:
    """The average pool of ``mixed10``'s pooling branch (the model's last AveragePooling2D)."""
    pools = [layer for layer in model.layers if type(layer) is keras.layers.AveragePooling2D]
    if not pools:
        raise ValueError("InceptionV3 has no AveragePooling2D layer to swap")
    return pools[-1]


def preprocess(images) -> tf.Tensor:
    """Inception input from images.

    Args:
        images: uint8 [N, H, W, 3] in [0, 255], or float [N, H, W, 3] in [-1, 1].

    Returns:
        float32 [N, 299, 299, 3] in [-1, 1): (x - 128) / 128 of the TF1-style bilinear resize.
    """
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        pixels = tf.cast(images, tf.float32)
    else:
        pixels = (tf.cast(images, tf.float32) + 1.0) * 127.5
    resized = tf.raw_ops.ResizeBilinear(images=pixels, size=[INPUT_SIZE, INPUT_SIZE],
                                        align_corners=False, half_pixel_centers=False)
    return (resized - 128.0) / 128.0


class FeatureExtractor:
    """Inception features of image batches: ``extractor(images)`` -> float64 [N, 2048]."""

    def __init__(self, weights_path: str | None, batch_size: int = 50):
        self.model = build_fid_inception(weights_path)
        self.batch_size = batch_size
        self._forward = tf.function(lambda batch: self.model(preprocess(batch), training=False),
                                    reduce_retracing=True)

    def __call__(self, images, progress=None) -> np.ndarray:
        """Features of ``images`` (uint8 [N, H, W, 3] or float [-1, 1]), in batches.

        ``progress``, if given, is called with the number of images done after each batch.
        """
        features = []
        for start in range(0, len(images), self.batch_size):
            features.append(self._forward(images[start:start + self.batch_size]).numpy())
            if progress is not None:
                progress(min(start + self.batch_size, len(images)))
        if not features:
            return np.zeros((0, FEATURE_DIM))
        return np.concatenate(features).astype(np.float64)
