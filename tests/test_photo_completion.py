"""Completing a photo's faces: the template of the shipped model, paste-back that keeps every
known pixel, a hole made in every face's crop, and the errors (no face, tiny face, hole off the
face). Faces are the shipped model's own generated faces placed in synthetic scenes."""

import numpy as np
import pytest

from conftest import StubDetector, detection_row, face_photo
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.photo import align, completion as photo_lib, detect, scenes


def test_the_shipped_model_has_a_measured_template(celeba64):
    template = photo_lib.face_template(celeba64)
    assert template.shape == (5, 2) and np.all((template > 0.1) & (template < 0.95))
    left_eye, right_eye, nose, mouth_left, mouth_right = template
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert left_eye[1] < nose[1] < mouth_left[1]


def test_empty_hole_gives_the_photo_back_and_a_hole_changes_only_itself(celeba64, celeba64_faces):
    photo = face_photo(celeba64_faces[1])
    completer = photo_lib.search_completer(celeba64, SearchSettings(steps=5).for_model(
        celeba64.config.latent_prior))
    unchanged = photo_lib.complete_photo(completer, photo, mask=np.ones(photo.shape[:2]))
    np.testing.assert_array_equal(unchanged.completed, photo)
    corner = np.ones(photo.shape[:2], np.float32)
    corner[:20, :20] = 0  # a hole in the background, away from the face
    with pytest.raises(align.AlignmentError, match="the hole meets no face"):
        photo_lib.complete_photo(completer, photo, mask=corner)
    mask = np.ones(photo.shape[:2], np.float32)
    mask[140:180, 150:210] = 0  # over the face's centre
    result = photo_lib.complete_photo(completer, photo, mask=mask)
    known = mask == 1
    np.testing.assert_array_equal(result.completed[known], photo[known])
    assert np.abs(result.completed[~known].astype(int) - photo[~known]).mean() > 1
    assert len(result.faces) == 1 and result.uncovered == 0.0
    assert result.faces[0].crop.shape == (64, 64, 3)


def test_a_mask_in_the_crop_is_made_on_every_face(celeba64, celeba64_faces):
    """Two faces, --mask=center style: both get a hole and both are completed (searched, then
    each by its own tuned copy of G, as --method=tune does)."""
    photo = scenes.scene(celeba64_faces[:2], [(120, 120, -8, 2.0), (360, 120, 10, 2.0)],
                         (240, 480))
    crop_mask = np.ones([64, 64], np.float32)
    crop_mask[24:40, 24:40] = 0
    completer = photo_lib.search_completer(celeba64, SearchSettings(
        steps=3, tune_steps=2).for_model(celeba64.config.latent_prior))
    result = photo_lib.complete_photo(completer, photo, crop_mask=crop_mask)
    assert len(result.faces) == 2
    hole = result.mask < 0.5
    assert hole[:, :240].any() and hole[:, 240:].any()
    np.testing.assert_array_equal(result.completed[~hole], photo[~hole])


def test_no_face_and_a_tiny_face_are_named(celeba64, monkeypatch):
    completer = photo_lib.search_completer(celeba64, SearchSettings(steps=2).for_model(
        celeba64.config.latent_prior))
    y, x = np.mgrid[0:120, 0:160]
    plain = np.stack([x, y, x + y], axis=-1).astype(np.uint8)
    hole = np.ones(plain.shape[:2], np.float32)
    hole[40:80, 60:100] = 0
    with pytest.raises(align.AlignmentError, match="no face found"):
        photo_lib.complete_photo(completer, plain, mask=hole)
    tiny = [[10.0, 10], [14, 10], [12, 12], [10, 14], [14, 14]]
    monkeypatch.setattr(detect, "_detector", lambda: StubDetector(
        [detection_row((8, 8, 8, 8), 0.99, tiny)]))
    with pytest.raises(align.AlignmentError, match=r"no face found \(not used: too small: eyes "
                                                   r"4.0 px apart, the minimum is 8 px\)"):
        photo_lib.complete_photo(completer, plain, mask=hole)
