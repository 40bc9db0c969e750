"""The classical fills (OpenCV's Telea and Navier-Stokes, the mean colour): known pixels kept,
holes filled from their surroundings."""

import numpy as np
import pytest

from dcgan_tf import images as image_utils
from dcgan_tf.inpainting import classical, masks as mask_lib


@pytest.mark.parametrize("method", classical.METHODS)
def test_known_pixels_come_back_bit_identical(method):
    images = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    masks = mask_lib.make_masks("thick", 3, 32, seed=1)
    filled = classical.fill(images, masks, method)
    assert filled.shape == images.shape and filled.dtype == np.float32
    known = np.broadcast_to(masks > 0.5, images.shape)
    np.testing.assert_array_equal(filled[known], images[known])
    assert (filled[~known] != images[~known]).any()


@pytest.mark.parametrize("method, tolerance", [("telea", 4), ("ns", 0), ("mean", 0)])
def test_a_constant_image_is_filled_with_its_constant(method, tolerance):
    photo = np.zeros((48, 40, 3), np.uint8) + np.array([200, 30, 90], np.uint8)
    damaged = photo.copy()
    damaged[10:30, 8:32] = 0  # the hole's own values are ignored
    mask = np.ones((48, 40), np.float32)
    mask[10:30, 8:32] = 0
    filled = classical.fill_photo(damaged, mask, method)
    assert np.abs(filled.astype(int) - photo).max() <= tolerance  # Telea's weights wobble


def test_mean_fill_uses_the_known_pixels_only():
    photo = np.zeros((4, 4, 3), np.uint8)
    photo[:, :2] = 100
    photo[:, 2:] = 200
    mask = np.ones((4, 4, 1), np.float32)
    mask[:, 3] = 0  # known: two columns of 100 and one of 200 -> mean 133.3
    filled = classical.fill_photo(photo, mask, "mean")
    assert (filled[:, 3] == 133).all() and (filled[:, :3] == photo[:, :3]).all()


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_opencv_fills_a_hole_from_its_border(method):
    photo = np.zeros((32, 32, 3), np.uint8)
    photo[:, 16:] = 255  # black left half, white right half
    mask = mask_lib.center(32)  # 16x16 hole across the edge
    filled = classical.fill_photo(photo, mask, method)
    assert filled[16, 9].max() < 64 and filled[16, 22].min() > 192


def test_an_image_with_no_known_pixel_comes_back_grey():
    photo = np.full((8, 8, 3), 30, np.uint8)
    assert (classical.fill_photo(photo, np.zeros((8, 8)), "telea") == 128).all()
    filled = classical.fill(image_utils.to_float(photo[None]), np.zeros((1, 8, 8, 1)), "mean")
    assert (image_utils.to_uint8(filled) == 128).all()


def test_unknown_methods_are_refused_by_flag():
    with pytest.raises(ValueError, match="--methods: unknown classical fill 'blur'"):
        classical.fill_photo(np.zeros((8, 8, 3), np.uint8), np.ones((8, 8)), "blur")
