"""Face detection: a photo longer than the detection side is searched shrunk; detections under
the confidence threshold or with implausible landmarks are rejected with their reason (a stub
detector gives them)."""

import numpy as np

from conftest import StubDetector, detection_row, face_landmarks
from dcgan_tf.photo import align, completion as photo_lib, detect, scenes


def test_a_large_photo_is_searched_shrunk_and_its_faces_land_on_the_photo(celeba64_faces,
                                                                          monkeypatch):
    """A photo longer than the detection side is searched in a shrunk copy; the faces found
    there come back in the photo's coordinates, where a full-resolution search puts them."""
    photo = scenes.scene(celeba64_faces[:2], [(330, 400, 10.0, 6.0), (820, 300, -5.0, 2.0)],
                         (760, 1000))
    full = detect.detect_faces(photo, max_side=1000).faces
    searched_shapes = []
    detector = detect._detector()
    monkeypatch.setattr(detect, "_detector", lambda: type("Recorder", (), {
        "detect_faces": lambda self, image, **options: (
            searched_shapes.append(image.shape), detector.detect_faces(image, **options))[1]})())
    shrunk = detect.detect_faces(photo, max_side=500).faces  # halved, like a 12 MP photo
    assert searched_shapes == [(380, 500, 3)]
    assert len(shrunk) == len(full) == 2
    template = photo_lib.template_of(align.DEFAULT_TEMPLATE, "the default template")
    for coarse, fine in zip(sorted(shrunk, key=lambda face: face.box[0]),
                            sorted(full, key=lambda face: face.box[0])):
        # The two alignments put the landmarks within 1.5 px of each other in a 64x64 crop
        # (MTCNN's own landmarks move by about 1 px as a face changes size).
        moved = (align.align(coarse, template, 64).to_crop(fine.landmarks)
                 - align.align(fine, template, 64).to_crop(fine.landmarks))
        assert np.abs(moved).max() <= 1.5, moved
        np.testing.assert_allclose(coarse.box, fine.box, atol=0.1 * fine.box[2])


def test_detections_under_the_threshold_or_implausible_are_rejected_with_a_reason(
        monkeypatch):
    """A stub detector's face, a low-confidence detection and one whose box is far larger than
    its landmarks: only the face is kept, the others are rejected and say why; MTCNN is asked
    for its candidates down to the floor, with boxes not clipped to the photo."""
    face_box, ghost_box = (40, 50, 60, 78), (130, 10, 100, 130)
    ghost_landmarks = face_landmarks((165, 50, 25, 33))  # a small face in a large box
    stub = StubDetector([
        detection_row(face_box, 0.999, face_landmarks(face_box)),
        detection_row((150, 120, 40, 52), 0.62, face_landmarks((150, 120, 40, 52))),
        detection_row(ghost_box, 0.97, ghost_landmarks)])
    monkeypatch.setattr(detect, "_detector", lambda: stub)
    found = detect.detect_faces(np.zeros((200, 240, 3), np.uint8))
    assert [face.box for face in found.faces] == [face_box]
    assert [item.face.confidence for item in found.rejected] == [0.97, 0.62]
    assert found.rejected[0].reason.startswith("the eyes are 0.11 of the box's width apart")
    assert found.rejected[1].as_dict() == {
        "box": [150.0, 120.0, 40.0, 52.0], "confidence": 0.62,
        "reason": f"confidence 0.62 < {detect.MIN_CONFIDENCE:g}"}
    assert stub.options[0]["threshold_onet"] == detect.CANDIDATE_FLOOR
    assert stub.options[0]["fit_to_image"] is False


def test_the_candidates_above_a_threshold_do_not_depend_on_the_floor(celeba64_faces):
    """MTCNN's detections at or above 0.9 are the same asked down to 0.9 or down to the
    floor (only a more confident box suppresses another)."""
    photo = scenes.scene(celeba64_faces[:2], [(90, 100, 15.0, 1.6), (250, 110, -10.0, 1.3)],
                         (220, 340))
    floored = detect.candidates(photo, floor=detect.CANDIDATE_FLOOR)
    direct = detect.candidates(photo, floor=0.9)
    assert len(direct) == 2
    assert [face.box for face in floored if face.confidence >= 0.9] == \
        [face.box for face in direct]
