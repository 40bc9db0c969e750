"""Image helpers at the edges of the library: the one uint8 <-> [-1, 1] pair, grids, atomic
PNG/GIF writes (``files.atomic_write``).

``to_float`` and ``to_uint8`` take numpy arrays (and return numpy) or TensorFlow tensors, also
symbolic ones inside ``tf.function`` or ``tf.data`` (and return tensors); both paths give
bit-identical results (float32 arithmetic, rounding half to even).
"""

import math

import numpy as np
import tensorflow as tf
from PIL import Image

from dcgan_tf.files import atomic_write

_HALF_RANGE = np.float32(127.5)
_INVERSE_HALF_RANGE = np.float32(1 / 127.5)


def to_uint8(images):
    """Maps floats in [-1, 1] to uint8 in [0, 255]: round((x + 1) * 127.5), clipped.

    Args:
        images: floats of any shape, a numpy array (or array-like) or a tensor; computed in
            float32, rounding half to even; values outside [-1, 1] clip to 0 or 255.

    Returns:
        uint8 of the same shape: a tensor for a tensor, else a numpy array.
    """
    if tf.is_tensor(images):
        scaled = (tf.cast(images, tf.float32) + 1.0) * _HALF_RANGE
        return tf.cast(tf.clip_by_value(tf.round(scaled), 0.0, 255.0), tf.uint8)
    scaled = (np.asarray(images, np.float32) + np.float32(1.0)) * _HALF_RANGE
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_float(images):
    """Maps uint8 in [0, 255] to float32 in [-1, 1]: (x - 127.5) * float32(1 / 127.5).

    A multiplication, not ``x / 127.5 - 1``: inside ``tf.function`` TensorFlow's graph optimizer
    turns a division by a constant into a multiplication by its reciprocal, so a division would
    give a tensor result differing from numpy's in the last bit. 0 -> -1 and 255 -> 1 exactly,
    and 255 - x -> -to_float(x).

    Args:
        images: uint8 of any shape, a numpy array (or array-like) or a tensor.

    Returns:
        float32 of the same shape: a tensor for a tensor, else a numpy array.
    """
    if tf.is_tensor(images):
        return (tf.cast(images, tf.float32) - _HALF_RANGE) * _INVERSE_HALF_RANGE
    return (np.asarray(images, np.float32) - _HALF_RANGE) * _INVERSE_HALF_RANGE


def load_png(path: str) -> np.ndarray:
    """Reads an image file as uint8 [H, W, 3]."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def make_grid(images: np.ndarray, columns: int = 0, padding: int = 2) -> np.ndarray:
    """Tiles images into one picture.

    Args:
        images: uint8 [N, H, W, 3].
        columns: images per row; 0 = the smallest square that holds them all.
        padding: pixels of black between tiles and around the edge.

    Returns:
        uint8 [rows * (H + padding) + padding, columns * (W + padding) + padding, 3].
    """
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding,
                     channels), np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def save_png(path: str, image: np.ndarray) -> None:
    """Writes uint8 [H, W, 3] (or [H, W]) to ``path`` atomically."""
    atomic_write(path, lambda temporary: Image.fromarray(image).save(temporary, format="PNG"))


def save_gif(path: str, frames, duration_ms: int = 200) -> None:
    """Writes an endlessly looping animated GIF of uint8 [H, W, 3] frames atomically."""
    pictures = [Image.fromarray(frame) for frame in frames]
    if not pictures:
        raise ValueError(f"no frames to write to {path}")
    atomic_write(path, lambda temporary: pictures[0].save(
        temporary, format="GIF", save_all=True, append_images=pictures[1:],
        duration=duration_ms, loop=0))
