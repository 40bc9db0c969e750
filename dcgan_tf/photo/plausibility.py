"""Whether a detection's five landmarks and box make a face the model can use: cheap geometric
rules that the detector's confidence does not check (MTCNN has reported 0.949 for a "face" on
a blurred desk; a completion then paints a ghost face there).

The rules, in the order they are checked (``implausibility`` names the first that fails):
    size    the eyes at least ``align.MIN_EYE_DISTANCE`` px apart: a smaller face cannot be
            aligned to the model's crop.
    order   in the face's own frame (x along the eye line, from the left eye to the right eye
            as the image shows them; y at right angles to it, down the face), the nose lies
            below the eyes, both mouth corners below the nose, and the mouth's left corner left
            of its right one. A tilted face passes; swapped eyes, swapped mouth corners or eyes
            below the mouth fail.
    eyes    the eye distance is between ``EYES_PER_BOX_WIDTH`` (low, high) of the box's width.
    scale   the side of the crop that the landmarks frame (the similarity transform onto
            ``align.DEFAULT_TEMPLATE``, celeba64's framing) is between ``CROP_PER_BOX_SIDE``
            (low, high) of the box's side (the geometric mean of its width and height): the
            box and all five landmarks agree on the face's size.

The boxes are the detector's own, not clipped to the photo (``detect.candidates``), so a face cut
by the photo's edge is measured whole. The bounds were set on 410 faces of CelebA's training
split that MTCNN found (confidence 0.9 or more) in scenes of 240 and 960 px, rotated by up to
30 degrees, their eyes 8-190 px apart (``bench/detector_threshold.py``, which prints each
quantity's range): none of them failed a rule, and the bounds leave a margin of 1.5-2x beyond
the range measured. The rules catch geometry no face has, not unusual faces; the confidence
threshold is what removes detections that look like faces (``detect.MIN_CONFIDENCE``).
"""

import numpy as np

from dcgan_tf.photo.align import DEFAULT_TEMPLATE, MIN_EYE_DISTANCE, Face, similarity

# Eye distance / box width of a plausible face (measured on CelebA's training faces: 0.30-0.55;
# low, as a face turned away shows its eyes closer together).
EYES_PER_BOX_WIDTH = (0.15, 0.8)
# The template crop's side / the box's side of a plausible face (measured: 1.02-1.31).
CROP_PER_BOX_SIDE = (0.7, 2.0)


def face_frame(landmarks: np.ndarray) -> np.ndarray:
    """The landmarks [5, 2] in the face's own frame: origin midway between the eyes, x along
    the eye line (left eye to right eye), y at right angles to it pointing down the face (for
    an upright face, the image's y), in units of the eye distance."""
    left_eye, right_eye = landmarks[0], landmarks[1]
    across = right_eye - left_eye
    distance = float(np.linalg.norm(across))
    if distance == 0:
        return np.zeros_like(landmarks)
    x_axis = across / distance
    y_axis = np.array([-x_axis[1], x_axis[0]])  # x rotated by +90 degrees: image y is down
    centred = landmarks - (left_eye + right_eye) / 2
    return np.stack([centred @ x_axis, centred @ y_axis], axis=1) / distance


def crop_side(landmarks: np.ndarray) -> float:
    """The side, in photo pixels, of the crop that ``align.DEFAULT_TEMPLATE`` frames around the
    landmarks [5, 2] (1 / the scale of the similarity transform onto the template)."""
    template = np.asarray(DEFAULT_TEMPLATE, np.float64).reshape(-1, 2)
    matrix = similarity(landmarks, template)
    return 1.0 / float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))


def measures(face: Face) -> dict:
    """What the rules test, of ``face`` (landmarks [5, 2], box (x, y, width, height) in photo
    pixels): ``eye_distance`` (px); in the face's frame (``face_frame``), in eye distances,
    ``nose_drop`` (the nose below the eyes), ``mouth_drop`` (the higher mouth corner below the
    nose) and ``mouth_width`` (left corner to right corner, along the eye line); and
    ``eyes_per_box`` (eye distance / box width) and ``crop_per_box`` (``crop_side`` / the
    box's side)."""
    _, _, nose, mouth_left, mouth_right = face_frame(face.landmarks)
    width, height = face.box[2], face.box[3]
    return {"eye_distance": face.eye_distance, "nose_drop": float(nose[1]),
            "mouth_drop": float(min(mouth_left[1], mouth_right[1]) - nose[1]),
            "mouth_width": float(mouth_right[0] - mouth_left[0]),
            "eyes_per_box": face.eye_distance / width,
            "crop_per_box": crop_side(face.landmarks) / float(np.sqrt(width * height))}


def implausibility(face: Face) -> str | None:
    """Why ``face`` (landmarks [5, 2], box (x, y, width, height) in photo pixels) is not a face
    the model can use, or None when every rule passes (the module's docstring lists them)."""
    measured = measures(face)
    if measured["eye_distance"] < MIN_EYE_DISTANCE:
        return (f"too small: eyes {measured['eye_distance']:.1f} px apart, the minimum is "
                f"{MIN_EYE_DISTANCE:.0f} px")
    if measured["nose_drop"] <= 0:
        return "the nose is not below the eyes"
    if measured["mouth_drop"] <= 0:
        return "the mouth is not below the nose"
    if measured["mouth_width"] <= 0:
        return "the mouth's corners are the wrong way round"
    eyes, crop = measured["eyes_per_box"], measured["crop_per_box"]
    if not EYES_PER_BOX_WIDTH[0] <= eyes <= EYES_PER_BOX_WIDTH[1]:
        return (f"the eyes are {eyes:.2f} of the box's width apart (a face: "
                f"{EYES_PER_BOX_WIDTH[0]:g}-{EYES_PER_BOX_WIDTH[1]:g})")
    if not CROP_PER_BOX_SIDE[0] <= crop <= CROP_PER_BOX_SIDE[1]:
        return (f"the landmarks frame a face {crop:.2f} times the box's side (a face: "
                f"{CROP_PER_BOX_SIDE[0]:g}-{CROP_PER_BOX_SIDE[1]:g})")
    return None
