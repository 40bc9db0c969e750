"""Face detection with five landmarks: MTCNN (the ``mtcnn`` package, MIT, weights inside its
wheel: nothing downloads), on photos uint8 [H, W, 3] of any size.
"""

import functools

import numpy as np
from PIL import Image

from dcgan_tf.photo.align import AlignmentError, Face

MIN_CONFIDENCE = 0.9  # MTCNN's face probability below which a detection is not a face
DETECTION_SIDE = 2048  # longest side searched for faces; longer photos are shrunk to it first


@functools.lru_cache(maxsize=1)
def _detector():
    try:
        from mtcnn import MTCNN
    except ImportError as error:
        raise AlignmentError("aligning faces needs the mtcnn package: pip install mtcnn") \
            from error
    return MTCNN()


def detect_faces(photo: np.ndarray, min_confidence: float = MIN_CONFIDENCE,
                 max_side: int = DETECTION_SIDE) -> list[Face]:
    """The faces in a photo, most confident first.

    A photo longer than ``max_side`` is searched in a copy shrunk to that length (a 12 MP
    photo: 0.9 s instead of 3.9 s), and its landmarks and boxes are carried back to the photo.

    Args:
        photo: uint8 [H, W, 3].
        min_confidence: detections below this face probability are dropped.
        max_side: the longest side, in pixels, searched at full resolution.
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
    rows = _detector().detect_faces(searched, output_type="numpy", box_format="xywh")
    faces = []
    for row in np.asarray(rows).reshape(-1, 16):
        if row[5] >= min_confidence:
            landmarks = (row[6:16].reshape(2, 5).T.astype(np.float64) + 0.5) * scale - 0.5
            box = np.concatenate([row[1:3] * scale, row[3:5] * scale])
            faces.append(Face(landmarks, tuple(map(float, box)), float(row[5])))
    return sorted(faces, key=lambda face: -face.confidence)
