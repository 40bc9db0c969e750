"""Training images of photos (``train.py --crop=align``): each photo's most confident face,
aligned to a landmark template at the model's size."""

import logging
import os

import numpy as np

from dcgan_tf import files
from dcgan_tf.data import decode, pipeline
from dcgan_tf.photo import align, detect

log = logging.getLogger(__name__)


def load_aligned_faces(source: str, *, image_size: int, face_template, max_images: int = 0,
                       landmarks_cache: str = "") -> np.ndarray:
    """The aligned face of every photo of a folder or zip; photos without a face (or unreadable)
    are skipped with a warning.

    Args:
        source: a folder or zip archive of photos (``pipeline.read_encoded``).
        image_size: the side S of the aligned crops.
        face_template: the landmark template, 10 crop-relative numbers (x, y pairs).
        max_images: read at most this many photos (the first in sorted order); 0 = all.
        landmarks_cache: an .npz file keeping the detected landmarks per file, so the detection
            (~0.1-0.3 s a photo) runs once per data set; "" = none.

    Returns:
        uint8 [N, S, S, 3].

    Raises:
        ValueError: naming --data when ``source`` is no folder or zip of photos, or holds no
            face to align.
    """
    if source == "synthetic" or not os.path.exists(source) or source.endswith(".tfrecords"):
        raise ValueError(f"--crop=align aligns the faces of photos in a folder or zip; "
                         f"got --data {source}")
    template = np.asarray(face_template, np.float64).reshape(-1, 2)
    cached = _read_landmarks(landmarks_cache)
    aligned, skipped = [], []
    for name, encoded in pipeline.read_encoded(source, max_images):
        try:
            photo = decode.read_rgb(encoded, name)
            if name not in cached:
                faces = detect.detect_faces(photo).faces
                cached[name] = faces[0].landmarks if faces else np.full([5, 2], np.nan)
            if np.isnan(cached[name]).any():
                raise align.AlignmentError("no face found")
            face = align.Face(cached[name], (), 1.0)
            crop, _ = align.warp_to_crop(photo, align.align(face, template, image_size))
        except (decode.UnreadableImage, align.AlignmentError) as error:
            skipped.append(f"{name} ({error})")
            continue
        aligned.append(crop)
    if landmarks_cache:
        _write_landmarks(landmarks_cache, cached)
    if skipped:
        log.warning("--crop=align skipped %d of %d photos: %s%s", len(skipped),
                    len(skipped) + len(aligned), "; ".join(skipped[:5]),
                    " ..." if len(skipped) > 5 else "")
    if not aligned:
        raise ValueError(f"--crop=align found no face to align in --data {source}")
    return np.stack(aligned)


def _read_landmarks(path: str) -> dict:
    """{file name: landmarks [5, 2] (NaN: no face)} of a landmarks cache; {} without one."""
    if not path or not os.path.exists(path):
        return {}
    with np.load(path) as stored:
        return dict(zip(stored["names"].tolist(), stored["landmarks"]))


def _write_landmarks(path: str, landmarks: dict) -> None:
    """Writes the landmarks cache atomically."""
    names = sorted(landmarks)
    files.atomic_write(path, lambda temporary: np.savez(
        temporary, names=np.array(names), landmarks=np.stack([landmarks[n] for n in names])))
