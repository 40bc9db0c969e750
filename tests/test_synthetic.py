"""Tests for dcgan_tf.data.synthetic, the procedural face dataset."""

import ast
import inspect

import numpy as np
import pytest

from dcgan_tf.data import synthetic

# Boxes as (top, bottom, left, right) fractions of the image side.  Faces are framed like
# aligned crops: eyes about 40 % from the top, mouth about 75 %.
_LEFT_EYE = (0.34, 0.46, 0.26, 0.44)
_RIGHT_EYE = (0.34, 0.46, 0.56, 0.74)
_CHEEK = (0.54, 0.62, 0.27, 0.40)
_MOUTH = (0.71, 0.79, 0.40, 0.60)


def _box(images, box):
    """Pixels of images [N, S, S, ...] inside a fractional box, as float64."""
    size = images.shape[1]
    top, bottom, left, right = (int(round(f * size)) for f in box)
    return images[:, top:bottom, left:right].astype(np.float64)


def _mean_colour(images, box):
    """[N, 3] mean colour of each image inside the box."""
    return _box(images, box).mean(axis=(1, 2))


def _contrast(images, box):
    """[N] luminance spread (95th - 5th percentile) of each image inside the box."""
    luminance = _box(images, box).mean(axis=-1).reshape(len(images), -1)
    return np.percentile(luminance, 95, axis=1) - np.percentile(luminance, 5, axis=1)


@pytest.fixture(scope="module")
def batch():
    """64 faces at 64x64 from stream 7."""
    return synthetic.faces(64, seed=7)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shape_and_dtype(size):
    images = synthetic.faces(3, image_size=size)
    assert images.shape == (3, size, size, 3)
    assert images.dtype == np.uint8


def test_odd_and_minimum_sizes():
    assert synthetic.faces(2, image_size=16).shape == (2, 16, 16, 3)
    assert synthetic.faces(2, image_size=37).shape == (2, 37, 37, 3)


def test_zero_count():
    assert synthetic.faces(0).shape == (0, 64, 64, 3)


def test_repeated_calls_are_identical():
    np.testing.assert_array_equal(synthetic.faces(5, seed=3), synthetic.faces(5, seed=3))


@pytest.mark.parametrize("size", [32, 64])
def test_start_and_count_select_a_slice_of_the_stream(size):
    whole = synthetic.faces(20, seed=2, image_size=size)
    np.testing.assert_array_equal(synthetic.faces(10, seed=2, start=5, image_size=size),
                                  whole[5:15])
    np.testing.assert_array_equal(synthetic.faces(1, seed=2, start=19, image_size=size),
                                  whole[19:])


def test_chunking_does_not_change_images(monkeypatch):
    reference = synthetic.faces(23, seed=4, start=3)
    monkeypatch.setattr(synthetic, "_CHUNK_PIXELS", 5 * 64 * 64)  # chunks of 5 images
    np.testing.assert_array_equal(synthetic.faces(23, seed=4, start=3), reference)
    monkeypatch.setattr(synthetic, "_CHUNK_PIXELS", 1)  # one image at a time
    np.testing.assert_array_equal(synthetic.faces(7, seed=4, start=10), reference[7:14])


@pytest.mark.parametrize("size", [32, 64])
def test_drawing_windows_do_not_clip_any_part(monkeypatch, size):
    reference = synthetic.faces(64, seed=9, image_size=size)
    monkeypatch.setattr(synthetic, "_pixel_window",
                        lambda size, *box: (slice(0, size), slice(0, size)))
    np.testing.assert_array_equal(synthetic.faces(64, seed=9, image_size=size), reference)


def test_different_seeds_give_different_faces():
    first, second = synthetic.faces(8, seed=0), synthetic.faces(8, seed=1)
    differences = np.abs(first.astype(int) - second.astype(int)).mean(axis=(1, 2, 3))
    assert np.all(differences > 10)


def test_images_in_a_batch_are_all_different(batch):
    flat = batch.reshape(len(batch), -1).astype(int)
    for i in range(len(flat)):
        others = np.delete(flat, i, axis=0)
        assert np.abs(others - flat[i]).mean(axis=1).min() > 5


def test_images_have_structure_and_variety(batch):
    assert batch.astype(float).std(axis=(1, 2, 3)).min() > 15  # no flat images
    mean_colours = batch.astype(float).mean(axis=(1, 2))  # [N, 3]
    assert np.all(mean_colours.std(axis=0) > 10)  # images differ in overall colour
    assert batch.min() < 30 and batch.max() > 220  # the value range is used


def test_eyes_and_mouth_stand_out_from_the_skin(batch):
    cheek_colour, cheek_contrast = _mean_colour(batch, _CHEEK), _contrast(batch, _CHEEK)
    for feature in (_LEFT_EYE, _RIGHT_EYE, _MOUTH):
        colour_gap = np.abs(_mean_colour(batch, feature) - cheek_colour).sum(axis=1)
        assert colour_gap.mean() > 20
        assert _contrast(batch, feature).mean() > 4 * cheek_contrast.mean()
    # Every single eye has far more contrast than plain skin (sclera, iris, pupil).
    assert np.all(_contrast(batch, _LEFT_EYE) > 2 * cheek_contrast)


def test_faces_look_the_same_at_every_size():
    small = synthetic.faces(4, seed=5, image_size=32).astype(float)
    large = synthetic.faces(4, seed=5, image_size=128).astype(float)
    downsampled = large.reshape(4, 32, 4, 32, 4, 3).mean(axis=(2, 4))
    assert np.abs(downsampled - small).mean() < 12
    other_faces = synthetic.faces(4, seed=6, image_size=32).astype(float)
    assert np.abs(other_faces - small).mean() > 2 * np.abs(downsampled - small).mean()


@pytest.mark.parametrize("kwargs, name", [
    ({"count": -1}, "count"),
    ({"count": 2, "image_size": 15}, "image_size"),
    ({"count": 2, "image_size": 0}, "image_size"),
    ({"count": 2, "seed": -1}, "seed"),
    ({"count": 2, "seed": 2**64}, "seed"),
    ({"count": 2, "start": -3}, "start"),
])
def test_out_of_range_arguments_raise_value_error(kwargs, name):
    count = kwargs.pop("count")
    with pytest.raises(ValueError, match=name):
        synthetic.faces(count, **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    ({"count": 2.0}, "count"),
    ({"count": True}, "count"),
    ({"count": 2, "image_size": 64.0}, "image_size"),
    ({"count": 2, "seed": "1"}, "seed"),
])
def test_non_integer_arguments_raise_type_error(kwargs, name):
    count = kwargs.pop("count")
    with pytest.raises(TypeError, match=name):
        synthetic.faces(count, **kwargs)


def test_numpy_integers_are_accepted():
    images = synthetic.faces(np.int64(2), seed=np.uint8(1), image_size=np.int32(32))
    np.testing.assert_array_equal(images, synthetic.faces(2, seed=1, image_size=32))


def test_module_uses_only_numpy_and_the_standard_library():
    tree = ast.parse(inspect.getsource(synthetic))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module.split(".")[0])
    assert modules <= {"contextlib", "dataclasses", "functools", "operator", "numpy"}
