"""The classical fill of the hole part no face covers (``photo.background``): only the pixels to
fill and a face's seam band change, the fill continues the surroundings, a face's completion
fades into it over its band, and the preview's shrunk fill stays close to the full one."""

import numpy as np
import pytest

from dcgan_tf.photo import background


def smooth_photo(height=120, width=200) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([120 + 60 * np.sin(x / 30.0), 110 + 50 * np.cos(y / 25.0),
                     60 + 0.5 * x], axis=-1).astype(np.uint8)


def test_the_hole_is_filled_from_its_surroundings_and_nothing_else_changes():
    photo = smooth_photo()
    damaged = photo.copy()
    damaged[40:70, 60:140] = (255, 0, 255)  # painted over: its values are ignored
    sources = np.zeros(photo.shape[:2], np.uint8)
    sources[40:70, 60:140] = background.CLASSICAL
    filled = background.fill_uncovered(damaged, sources, [])
    hole = sources == background.CLASSICAL
    np.testing.assert_array_equal(filled[~hole], photo[~hole])
    assert np.abs(filled[hole].astype(int) - photo[hole]).mean() < 20  # Telea: smooth


def test_a_face_completion_fades_into_the_fill_over_its_band():
    """A face's completion (stripes, label 1) beside the hole part to fill: its pixels within
    the band change, more so nearer the fill (whose smooth colours differ from the stripes);
    farther ones and known ones do not."""
    photo = smooth_photo()
    photo[30:80:2, 20:100] = (30, 200, 40)  # what the face's model filled
    photo[31:80:2, 20:100] = (200, 40, 30)
    sources = np.zeros(photo.shape[:2], np.uint8)
    sources[30:80, 20:100] = 1
    sources[30:80, 100:160] = background.CLASSICAL
    width = 6.0
    filled = background.fill_uncovered(photo, sources, [width])
    change = np.abs(filled.astype(int) - photo).sum(-1)
    known = sources == background.KNOWN
    np.testing.assert_array_equal(filled[known], photo[known])
    row = change[40:70].mean(0)  # across the seam, away from the box's top and bottom
    assert row[100 - 1] > row[100 - 3] > row[100 - 5] > 0  # the ramp toward the fill
    assert (row[20:100 - int(width) - 1] == 0).all()  # beyond the band: the face as it was
    assert (change[30:80, 100:160] > 0).mean() > 0.9


def test_nothing_to_fill_gives_the_photo_back():
    photo = smooth_photo()
    sources = np.zeros(photo.shape[:2], np.uint8)
    sources[10:20, 10:20] = 1
    np.testing.assert_array_equal(background.fill_uncovered(photo, sources, [4.0]), photo)


@pytest.mark.parametrize("max_side", [64, 32])
def test_the_shrunk_fill_is_close_to_the_full_one(max_side):
    photo = smooth_photo(240, 400)
    sources = np.zeros(photo.shape[:2], np.uint8)
    sources[80:160, 120:300] = background.CLASSICAL
    full = background.fill_uncovered(photo, sources, [])
    shrunk = background.fill_uncovered(photo, sources, [], max_side=max_side)
    hole = sources == background.CLASSICAL
    np.testing.assert_array_equal(shrunk[~hole], photo[~hole])
    assert np.abs(shrunk[hole].astype(int) - full[hole]).mean() < 8
