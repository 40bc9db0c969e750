"""Completing a photo's faces: the template of the shipped model, paste-back that keeps every
known pixel, a hole made in every face's crop, and the errors (no face, tiny face, hole off the
face). Faces are the shipped model's own generated faces placed in synthetic scenes."""

import dataclasses

import numpy as np
import pytest

from conftest import StubDetector, detection_row, face_photo
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.photo import align, background, completion as photo_lib, detect, scenes


def test_the_shipped_model_has_a_measured_template(celeba64):
    template = photo_lib.face_template(celeba64)
    assert template.shape == (5, 2) and np.all((template > 0.1) & (template < 0.95))
    left_eye, right_eye, nose, mouth_left, mouth_right = template
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert left_eye[1] < nose[1] < mouth_left[1]


def test_a_run_without_a_recorded_template_uses_its_training_crop_s(tiny_run_128):
    """A run trained on a CelebA crop records that crop's template; one from before runs
    recorded it gets the crop's measured template all the same; a crop with none is refused,
    naming the model."""
    from dcgan_tf.serving import loading
    model = loading.load(tiny_run_128[1].run_dir)
    assert model.config.face_template == align.CELEBA_FACE_TEMPLATE
    older = dataclasses.replace(model, config=dataclasses.replace(model.config, face_template=()))
    np.testing.assert_allclose(photo_lib.face_template(older),
                               np.reshape(align.CELEBA_FACE_TEMPLATE, (5, 2)))
    ffhq = dataclasses.replace(model, config=dataclasses.replace(model.config, crop="ffhq",
                                                                 face_template=()))
    with pytest.raises(align.AlignmentError, match="has no face template"):
        photo_lib.face_template(ffhq)


def test_empty_hole_gives_the_photo_back_and_a_hole_changes_only_itself(celeba64, celeba64_faces):
    photo = face_photo(celeba64_faces[1])
    completer = photo_lib.search_completer(celeba64, SearchSettings(steps=5).for_model(
        celeba64.config.latent_prior))
    unchanged = photo_lib.complete_photo(completer, photo, mask=np.ones(photo.shape[:2]))
    np.testing.assert_array_equal(unchanged.completed, photo)
    corner = np.ones(photo.shape[:2], np.float32)
    corner[:20, :20] = 0  # a hole in the background, away from the face
    away = photo_lib.complete_photo(completer, photo, mask=corner)
    assert away.note == "the hole meets no face: it is filled from its surroundings"
    assert away.faces == [] and away.face_shares == [] and away.classical_share == 1.0
    np.testing.assert_array_equal(away.completed[corner == 1], photo[corner == 1])
    mask = np.ones(photo.shape[:2], np.float32)
    mask[140:180, 150:210] = 0  # over the face's centre
    result = photo_lib.complete_photo(completer, photo, mask=mask)
    known = mask == 1
    np.testing.assert_array_equal(result.completed[known], photo[known])
    assert np.abs(result.completed[~known].astype(int) - photo[~known]).mean() > 1
    assert len(result.faces) == 1 and result.note == ""
    assert result.face_shares == [1.0] and result.classical_share == 0.0
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


def test_a_faceless_photo_is_filled_from_its_surroundings_and_a_crop_mask_refused(
        celeba64, monkeypatch):
    """No face (and a face too small to use): a hole drawn on the photo is filled from its
    surroundings, with a note naming why; a hole made in the faces' crops is an error."""
    completer = photo_lib.search_completer(celeba64, SearchSettings(steps=2).for_model(
        celeba64.config.latent_prior))
    y, x = np.mgrid[0:120, 0:160]
    plain = np.stack([x, y, x + y], axis=-1).astype(np.uint8)
    hole = np.ones(plain.shape[:2], np.float32)
    hole[40:80, 60:100] = 0
    filled = photo_lib.complete_photo(completer, plain, mask=hole)
    assert filled.note == "no face found: the hole is filled from its surroundings"
    assert filled.classical_share == 1.0 and filled.completed.shape == plain.shape
    np.testing.assert_array_equal(filled.completed[hole == 1], plain[hole == 1])
    assert np.abs(filled.completed[hole == 0].astype(int) - plain[hole == 0]).mean() < 12
    with pytest.raises(align.AlignmentError, match=r"no face found: a --mask kind is made in "
                                                   r"the faces' crops"):
        photo_lib.complete_photo(completer, plain, crop_mask=np.zeros([64, 64], np.float32))
    tiny = [[10.0, 10], [14, 10], [12, 12], [10, 14], [14, 14]]
    monkeypatch.setattr(detect, "_detector", lambda: StubDetector(
        [detection_row((8, 8, 8, 8), 0.99, tiny)]))
    filled = photo_lib.complete_photo(completer, plain, mask=hole)
    assert filled.note == ("no face found (not used: too small: eyes 4.0 px apart, the minimum "
                           "is 8 px): the hole is filled from its surroundings")


def test_a_stroke_across_two_faces_and_the_background_between_is_filled_everywhere(
        celeba64, celeba64_faces):
    """One band across two faces and the background between them: each face's model fills
    the part its crop covers, the classical fill the rest (the shares add up to the whole
    hole), every hole pixel changes and every known pixel stays."""
    photo = scenes.scene(celeba64_faces[:2], [(120, 130, -6, 2.4), (370, 130, 8, 2.4)],
                         (260, 490))
    mask = np.ones(photo.shape[:2], np.float32)
    mask[125:150, 50:440] = 0
    completer = photo_lib.search_completer(celeba64, SearchSettings(steps=3).for_model(
        celeba64.config.latent_prior))
    result = photo_lib.complete_photo(completer, photo, mask=mask)
    hole = mask == 0
    assert len(result.faces) == 2 and result.note == ""
    assert all(share > 0.15 for share in result.face_shares) and result.classical_share > 0.15
    assert sum(result.face_shares) + result.classical_share == pytest.approx(1.0)
    assert set(np.unique(result.sources[hole])) == {1, 2, background.CLASSICAL}
    assert (result.sources[~hole] == background.KNOWN).all()
    np.testing.assert_array_equal(result.completed[~hole], photo[~hole])
    assert (result.completed[hole] != photo[hole]).any(-1).mean() > 0.95
