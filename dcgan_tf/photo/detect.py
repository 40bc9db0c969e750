"""Face detection with five landmarks: MTCNN (the ``mtcnn`` package, MIT, weights inside its
wheel: nothing downloads), on photos uint8 [H, W, 3] of any size, and the choice of the
detections that are faces the model can use.

A detection is kept when MTCNN's confidence is at least ``min_confidence`` (by default
``confidence.MIN_CONFIDENCE``, chosen there on a measured table) and its landmarks pass
``plausibility.implausibility``; the others are reported as rejected with the reason, down to
MTCNN's candidates of confidence ``CANDIDATE_FLOOR``. Only kept faces are completed, get a
``--mask`` kind or a preset, and are outlined by the web app.
"""

import dataclasses
import functools
import logging
import math

import numpy as np
from PIL import Image

from dcgan_tf.photo.align import AlignmentError, Face
from dcgan_tf.photo.confidence import MIN_CONFIDENCE
from dcgan_tf.photo.plausibility import implausibility

log = logging.getLogger(__name__)

# MTCNN's own output threshold (its default is 0.8): candidates from here up to
# MIN_CONFIDENCE are reported as rejected, so a user sees why a face was not used; below it,
# MTCNN finds a face less likely than not. They are few either way
# (MTCNN's second stage has dropped most candidates: 35 from 0.5 to 0.95 in 420 photos of the
# threshold bench, none in its faceless scenes). The candidates at or above any threshold are
# the same whatever the floor below it: in MTCNN's last suppression, only a more confident box
# removes another.
CANDIDATE_FLOOR = 0.5
DETECTION_SIDE = 2048  # longest side searched for faces; longer photos are shrunk to it first


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A detection that is not used: the ``face`` as detected and the ``reason``."""

    face: Face
    reason: str

    def as_dict(self) -> dict:
        """{"box": [x, y, width, height], "confidence", "reason"}, as the app and
        ``metrics.json`` report it."""
        return {"box": [round(value, 1) for value in self.face.box],
                "confidence": round(self.face.confidence, 4), "reason": self.reason}


@dataclasses.dataclass(frozen=True)
class Detections:
    """The faces of a photo: ``faces`` (``Face``) kept, most confident first; ``rejected``
    (``Rejected``), most confident first."""

    faces: list
    rejected: list


@functools.lru_cache(maxsize=1)
def _detector():
    try:
        from mtcnn import MTCNN
    except ImportError as error:
        raise AlignmentError("aligning faces needs the mtcnn package: pip install mtcnn") \
            from error
    return MTCNN()


def candidates(photo: np.ndarray, max_side: int = DETECTION_SIDE,
               floor: float = CANDIDATE_FLOOR) -> list[Face]:
    """Every face MTCNN reports with confidence at least ``floor``, most confident first,
    before any other check.

    A photo longer than ``max_side`` is searched in a copy shrunk to that length (a 12 MP
    photo: 0.9 s instead of 3.9 s), and its landmarks and boxes are carried back to the photo.
    Boxes are MTCNN's, not clipped to the photo (like the landmarks: a face cut by the photo's
    edge keeps its whole box).

    Args:
        photo: uint8 [H, W, 3].
        max_side: the longest side, in pixels, searched at full resolution.
        floor: MTCNN's output threshold, in [0, 1].
    """
    height, width = photo.shape[:2]
    searched = np.ascontiguousarray(photo)
    if max(height, width) > max_side:
        shrink = max_side / max(height, width)
        size = (max(round(width * shrink), 1), max(round(height * shrink), 1))
        searched = np.asarray(Image.fromarray(searched).resize(size, Image.BILINEAR))
    # Photo pixels per searched pixel, along x and y.
    scale = np.array([width / searched.shape[1], height / searched.shape[0]])
    # Rows: image index, box (x, y, width, height), confidence, the five landmarks' x, their y.
    rows = _detector().detect_faces(searched, output_type="numpy", box_format="xywh",
                                    fit_to_image=False, threshold_onet=floor)
    faces = []
    for row in np.asarray(rows).reshape(-1, 16):
        landmarks = (row[6:16].reshape(2, 5).T.astype(np.float64) + 0.5) * scale - 0.5
        box = np.concatenate([row[1:3] * scale, row[3:5] * scale])
        faces.append(Face(landmarks, tuple(map(float, box)), float(row[5])))
    return sorted(faces, key=lambda face: -face.confidence)


def rejection(face: Face, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """Why a candidate is not used (its confidence, then ``plausibility.implausibility``), or
    None when it is a face to use."""
    if face.confidence < min_confidence:
        shown = math.floor(face.confidence * 1000) / 1000  # 0.8996 shows as 0.899, not 0.9
        return f"confidence {shown:g} < {min_confidence:g}"
    return implausibility(face)


def detect_faces(photo: np.ndarray, min_confidence: float = MIN_CONFIDENCE,
                 max_side: int = DETECTION_SIDE) -> Detections:
    """The faces of a photo to use, and the detections rejected with their reasons (logged).

    Args:
        photo: uint8 [H, W, 3].
        min_confidence: detections below this face probability are rejected.
        max_side: the longest side, in pixels, searched at full resolution (``candidates``).
    """
    faces, rejected = [], []
    for face in candidates(photo, max_side, min(CANDIDATE_FLOOR, min_confidence)):
        reason = rejection(face, min_confidence)
        if reason is None:
            faces.append(face)
        else:
            rejected.append(Rejected(face, reason))
            log.info("a detection at %s (confidence %.3f) is not used: %s",
                     [round(value) for value in face.box], face.confidence, reason)
    return Detections(faces, rejected)
