"""The landmark check (``photo.plausibility``): each rule on a face made from the template (the
landmarks of a face in celeba64's framing) and its broken copies, and a tilted face as MTCNN
finds it."""

import numpy as np
import pytest

from conftest import face_photo
from dcgan_tf.photo import align, detect, plausibility

SIDE = 100.0  # the template crop's side, in photo pixels


def template_face(angle: float = 0.0, side: float = SIDE, box_scale: float = 1.0,
                  order=(0, 1, 2, 3, 4)) -> align.Face:
    """A face whose landmarks are the default template's in a ``side`` px crop, rotated by
    ``angle`` degrees about their centre and taken in ``order``, with a box as MTCNN draws
    one around such a face (0.8 x 1.05 of the crop's side; ``box_scale`` times that)."""
    template = np.asarray(align.DEFAULT_TEMPLATE).reshape(-1, 2) * side
    centre = template.mean(axis=0)
    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    landmarks = (template - centre) @ rotation.T + centre + 200.0
    width, height = 0.8 * side * box_scale, 1.05 * side * box_scale
    box = (centre[0] + 200 - width / 2, centre[1] + 200 - height / 2, width, height)
    return align.Face(landmarks[list(order)], box, 0.99)


@pytest.mark.parametrize("angle", [-60, -30, -10, 0, 10, 30, 60])
def test_a_face_passes_at_any_tilt(angle):
    assert plausibility.implausibility(template_face(angle)) is None


def test_a_tilted_face_found_by_mtcnn_passes(celeba64_faces):
    """A generated face rotated by 25 degrees in a photo: MTCNN's detection is kept."""
    photo = face_photo(celeba64_faces[0], angle=25.0, scale=3.0)
    found = detect.detect_faces(photo)
    assert len(found.faces) == 1, found.rejected
    assert plausibility.implausibility(found.faces[0]) is None


@pytest.mark.parametrize("order, reason", [
    ((1, 0, 2, 3, 4), "the nose is not below the eyes"),  # the eyes swapped
    ((3, 4, 2, 0, 1), "the nose is not below the eyes"),  # the eyes where the mouth is
    ((0, 1, 2, 4, 3), "the mouth's corners are the wrong way round"),
])
def test_swapped_landmarks_fail_at_any_tilt(order, reason):
    for angle in (-30, 0, 30):
        assert plausibility.implausibility(template_face(angle, order=order)) == reason


def test_a_nose_below_the_mouth_fails():
    face = template_face()
    landmarks = face.landmarks.copy()
    landmarks[2, 1] = landmarks[3:, 1].max() + 5  # the nose under the mouth's corners
    assert plausibility.implausibility(align.Face(landmarks, face.box, 0.99)) \
        == "the mouth is not below the nose"


@pytest.mark.parametrize("box_scale", [4.0, 0.4])
def test_a_box_far_larger_or_smaller_than_the_landmarks_fails(box_scale):
    reason = plausibility.implausibility(template_face(box_scale=box_scale))
    assert reason is not None and reason.startswith("the eyes are")
    low, high = plausibility.EYES_PER_BOX_WIDTH
    eyes = plausibility.measures(template_face(box_scale=box_scale))["eyes_per_box"]
    assert not low <= eyes <= high


def test_a_face_stretched_beyond_its_box_fails_the_scale_rule():
    """Eyes that fit the box, but a mouth three times as far below them: the five landmarks
    frame a face far larger than the box."""
    face = template_face()
    landmarks = face.landmarks.copy()
    eye_line = landmarks[:2, 1].mean()
    landmarks[2:, 1] = eye_line + 3 * (landmarks[2:, 1] - eye_line)
    reason = plausibility.implausibility(align.Face(landmarks, face.box, 0.99))
    assert reason is not None and reason.startswith("the landmarks frame a face")


def test_a_face_too_small_to_align_fails():
    face = template_face(side=16.0)  # eyes 5.7 px apart
    assert face.eye_distance < align.MIN_EYE_DISTANCE
    assert plausibility.implausibility(face) == \
        "too small: eyes 5.7 px apart, the minimum is 8 px"


def test_the_measures_of_the_template_face():
    measured = plausibility.measures(template_face(angle=20))
    assert measured["nose_drop"] > 0 and measured["mouth_drop"] > 0
    assert measured["mouth_width"] > 0
    np.testing.assert_allclose(measured["crop_per_box"], 1 / np.sqrt(0.8 * 1.05))
