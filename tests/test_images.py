"""The one uint8 <-> [-1, 1] pair (numpy and tensors agree bit for bit), grids, PNG and GIF
writes."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcgan_tf import images

_TENSOR_PATHS = {
    "eager": lambda convert, values: convert(tf.constant(values)).numpy(),
    "tf.function": lambda convert, values: tf.function(convert)(tf.constant(values)).numpy(),
    "tf.data": lambda convert, values: next(iter(
        tf.data.Dataset.from_tensors(values).map(convert))).numpy(),
}


def test_round_trip_between_uint8_and_unit_range():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    floats = images.to_float(pixels)
    assert floats.dtype == np.float32 and floats.min() == -1.0 and floats.max() == 1.0
    np.testing.assert_array_equal(floats.ravel()[::-1], -floats.ravel())  # 255 - x -> -x
    np.testing.assert_array_equal(images.to_uint8(floats), pixels)
    np.testing.assert_array_equal(images.to_uint8(np.array([-3.0, 3.0])), [0, 255])


def _half_way_floats() -> np.ndarray:
    """float32 x near each rounding boundary (x + 1) * 127.5 = k + 0.5, 4 ulps either side."""
    centres = ((np.arange(-3, 259) + 0.5) / 127.5 - 1).astype(np.float32)
    near = [centres]
    for direction in (np.float32(np.inf), np.float32(-np.inf)):
        step = centres
        for _ in range(4):
            step = np.nextafter(step, direction)
            near.append(step)
    return np.concatenate(near)


def test_half_way_values_round_to_even():
    values = _half_way_floats()
    scaled = (values + np.float32(1)) * np.float32(127.5)
    halves = values[(scaled % 1 == 0.5) & (scaled > 0) & (scaled < 255)]
    assert len(halves) > 100  # the boundaries are really hit, not only approached
    assert np.all(images.to_uint8(halves) % 2 == 0)
    assert np.all(images.to_uint8(tf.constant(halves)).numpy() % 2 == 0)


@pytest.mark.parametrize("path", sorted(_TENSOR_PATHS))
def test_numpy_and_tensor_conversions_agree_exactly(path):
    """Eager, traced and tf.data tensors give numpy's bits: every uint8 value, and floats in and
    far out of range, at and next to every rounding boundary."""
    run = _TENSOR_PATHS[path]
    pixels = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(run(images.to_float, pixels), images.to_float(pixels))
    floats = np.concatenate([
        images.to_float(pixels), _half_way_floats(),
        np.linspace(-1.25, 1.25, 100_003, dtype=np.float32),
        np.float32([-np.inf, -1e6, -1.5, -1.0, -0.0, 0.0, 1.0, 1.5, 1e6, np.inf])])
    expected = images.to_uint8(floats)
    assert expected.dtype == np.uint8 and {0, 255} <= set(expected.tolist())
    np.testing.assert_array_equal(run(images.to_uint8, floats), expected)


def test_tensors_in_give_tensors_out_and_numpy_gives_numpy():
    pixels = np.zeros([2, 4, 4, 3], np.uint8)
    assert isinstance(images.to_float(pixels), np.ndarray)
    assert isinstance(images.to_uint8(images.to_float(pixels)), np.ndarray)
    as_float = images.to_float(tf.constant(pixels))
    assert tf.is_tensor(as_float) and as_float.dtype == tf.float32
    as_uint8 = images.to_uint8(as_float)
    assert tf.is_tensor(as_uint8) and as_uint8.dtype == tf.uint8
    assert as_uint8.shape == (2, 4, 4, 3)


def test_grid_layout():
    tiles = np.stack([np.full((4, 4, 3), 10 * (i + 1), np.uint8) for i in range(5)])
    grid = images.make_grid(tiles, padding=1)
    assert grid.shape == (1 + 2 * 5, 1 + 3 * 5, 3)  # 5 tiles -> 3 columns, 2 rows
    assert grid[1, 1, 0] == 10 and grid[6, 6, 0] == 50 and grid[0, 0, 0] == 0
    assert grid[6, 11, 0] == 0  # the sixth cell is empty


def test_png_and_gif_are_written_and_read_back(tmp_path):
    frame = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    images.save_png(str(tmp_path / "a.png"), frame)
    np.testing.assert_array_equal(images.load_png(str(tmp_path / "a.png")), frame)
    images.save_gif(str(tmp_path / "a.gif"), [frame, 255 - frame])
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 2
    assert sorted(os.listdir(tmp_path)) == ["a.gif", "a.png"]
