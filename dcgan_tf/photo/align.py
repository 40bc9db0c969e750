"""Alignment geometry: a photo's face framed like a model's training crops, and the way back.

A model learns faces framed like its training crops. Its face template holds where the five
landmarks (eyes, nose, mouth corners, as seen in the image) sit in those crops, relative to the
crop's side, so it serves every image size. A photo's face (``Face``, found by
``detect.detect_faces``) is aligned by the similarity transform (rotation, scale, shift) that
carries its landmarks onto the template (least squares, Umeyama 1991); the crop is resampled
from the photo with antialiasing when it shrinks, and masks and crops map between the photo and
the crop (``paste.paste_back`` blends a completed crop back into the hole). ``resample`` is the
one warp of the package.

Coordinates: (x, y) in pixels with pixel centres at integers (index coordinates), as TensorFlow's
image transforms use them. Photos are uint8 [H, W, 3]; masks are [H, W] with 1 = known.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from dcgan_tf.data import crops

LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
MIN_EYE_DISTANCE = 8.0  # pixels between the eyes below which a face is too small to align
# Face templates of the crops of CelebA's aligned images (data.crops), as (x, y) pairs.
# "celeba": celeba64's framing, in which plausibility's checks are measured
# (tools/measure_template.py on the first 1,000 images of CelebA's training split with the
# celeba crop: N = 981 faces, with the detector of the time).
DEFAULT_TEMPLATE = (0.32311, 0.52613, 0.67827, 0.52612, 0.49272, 0.74456, 0.33983, 0.90621,
                    0.65934, 0.90571)
# "celeba_face": the whole face, for 128 px models, measured on N = 947 faces (detect kept no
# face in 53 of the 1,000 images): python tools/measure_template.py --crop=celeba_face
# --num_images=1000 --data=../shared/data/celeba_train.zip --model=<a run folder>
CELEBA_FACE_TEMPLATE = (0.36729, 0.42936, 0.63367, 0.42943, 0.49424, 0.59305, 0.3798, 0.71434,
                        0.61973, 0.7141)
# The framings of train.py --crop=align by --align_framing (data.crops.ALIGN_FRAMINGS); also
# the template tools/package_model.py records for a model trained on one of these crops.
TEMPLATES = {"celeba": DEFAULT_TEMPLATE, "celeba_face": CELEBA_FACE_TEMPLATE}


def crop_template(crop: str, align_framing: str = "celeba") -> tuple:
    """The face template measured for a training crop (10 crop-relative numbers): that of its
    CelebA framing (``crops.trained_framing``: ``align_framing`` for "align"), else () (none)."""
    return TEMPLATES.get(crops.trained_framing(crop, align_framing), ())


class AlignmentError(ValueError):
    """A photo cannot be aligned: no face, a face too small, a hole that meets no face."""


@dataclasses.dataclass(frozen=True)
class Face:
    """One detected face: landmarks [5, 2] (x, y) in the photo's index coordinates, in the
    order of ``LANDMARKS``; box (x, y, width, height); the detector's confidence in [0, 1]."""

    landmarks: np.ndarray
    box: tuple
    confidence: float

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))


@dataclasses.dataclass(frozen=True)
class Alignment:
    """The similarity transform of one face: ``matrix`` [3, 3] maps photo index coordinates to
    the index coordinates of a ``size`` x ``size`` crop."""

    matrix: np.ndarray
    size: int

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:2, :2]))))

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Photo points [n, 2] -> crop points [n, 2]."""
        return points @ self.matrix[:2, :2].T + self.matrix[:2, 2]


def relative_landmarks(landmarks: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Landmark positions relative to their crops, [N, 5, 2] in [0, 1] inside the crop (a
    template is their mean).

    Args:
        landmarks: [N, 5, 2] in index coordinates of the N images.
        boxes: [N, 3] the crop of each image as (left, top, side) in pixels.
    """
    corner = boxes[:, np.newaxis, :2]
    side = boxes[:, np.newaxis, 2:3]
    return (landmarks + 0.5 - corner) / side


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The similarity transform [3, 3] (rotation, uniform scale, shift; no reflection) that maps
    ``source`` points [n, 2] onto ``target`` points [n, 2] with the least squared error."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    centred_source, centred_target = source - source_mean, target - target_mean
    covariance = centred_target.T @ centred_source / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / centred_source.var(axis=0).sum()
    matrix = np.eye(3)
    matrix[:2, :2] = scale * rotation
    matrix[:2, 2] = target_mean - matrix[:2, :2] @ source_mean
    return matrix


def align(face: Face, template: np.ndarray, size: int) -> Alignment:
    """The alignment of ``face`` to a ``size`` x ``size`` crop framed by ``template`` [5, 2]
    (crop-relative landmark positions).

    Raises:
        AlignmentError: when the face is too small (eye distance below ``MIN_EYE_DISTANCE``).
    """
    if face.eye_distance < MIN_EYE_DISTANCE:
        raise AlignmentError(f"a face is too small to align: its eyes are "
                             f"{face.eye_distance:.1f} px apart, the minimum is "
                             f"{MIN_EYE_DISTANCE:.0f} px")
    return Alignment(similarity(face.landmarks, template * size - 0.5), size)


def square_alignment(left: float, top: float, side: float, size: int) -> Alignment:
    """The fixed "alignment" that cuts the square of ``side`` pixels whose corner pixel is
    (``left``, ``top``) and resizes it to ``size`` x ``size``, pixel areas matched as a resize
    does (x -> (x + 0.5 - left) * size / side - 0.5): a crop preset's box as an Alignment."""
    matrix = np.diag([size / side, size / side, 1.0])
    matrix[:2, 2] = (0.5 - np.array([left, top])) * size / side - 0.5
    return Alignment(matrix, size)


def warp_to_crop(photo: np.ndarray, alignment: Alignment) -> tuple[np.ndarray, np.ndarray]:
    """The aligned crop of a photo and where it lies inside the photo.

    When the crop is smaller than the face in the photo, the photo is first shrunk with an
    antialiasing filter to about the crop's scale, so the bilinear resampling does not alias.

    Args:
        photo: uint8 [H, W, 3].
        alignment: the face's alignment.

    Returns:
        The crop uint8 [S, S, 3] (outside the photo: the nearest edge pixel), and its coverage
        [S, S] (1 where the crop shows the photo, else 0).
    """
    shrink = 1.0 / alignment.scale  # photo pixels per crop pixel
    if shrink > 1.0:
        # uint8 in, float32 out: the same values as resizing a float copy of the photo.
        height, width = photo.shape[:2]
        small = [max(1, round(height / shrink)), max(1, round(width / shrink))]
        pixels = tf.image.resize(photo, small, method="bilinear", antialias=True)
        # Index coordinates of the small photo: x_small = (x + 0.5) * factor - 0.5.
        factor = np.array([small[1] / width, small[0] / height])
        to_small = np.diag([factor[0], factor[1], 1.0])
        to_small[:2, 2] = 0.5 * factor - 0.5
        matrix = alignment.matrix @ np.linalg.inv(to_small)
    else:  # only the pixels the crop samples, as float32
        top, bottom, left, right = crop_box(alignment, photo.shape, margin=2)
        pixels = tf.cast(photo[top:bottom, left:right], tf.float32)
        matrix = alignment.matrix @ offset(left, top)
    crop = resample(pixels, np.linalg.inv(matrix), alignment.size, alignment.size, "NEAREST")
    coverage = resample(tf.ones_like(pixels[..., :1]), np.linalg.inv(matrix), alignment.size,
                        alignment.size, "CONSTANT")
    crop = np.clip(np.rint(crop.numpy()), 0, 255).astype(np.uint8)
    return crop, (coverage.numpy()[..., 0] > 0.5).astype(np.float32)


def mask_to_crop(mask: np.ndarray, alignment: Alignment) -> np.ndarray:
    """A photo's mask [H, W] (1 or True = known; any dtype) seen through the face's crop:
    float32 [S, S], 1 where the crop pixel's source is a known photo pixel, 0 in the hole and
    outside the photo. Only the pixels the crop samples are converted (a 64 MP bool mask is
    256 MB as float32)."""
    top, bottom, left, right = crop_box(alignment, mask.shape, margin=2)
    known = mask[top:bottom, left:right].astype(np.float32)[..., np.newaxis]
    sampled = resample(tf.constant(known), np.linalg.inv(alignment.matrix @ offset(left, top)),
                       alignment.size, alignment.size, "CONSTANT", interpolation="NEAREST")
    return (sampled.numpy()[..., 0] > 0.5).astype(np.float32)


def mask_from_crop(crop_mask: np.ndarray, alignment: Alignment, shape,
                   within: tuple | None = None) -> np.ndarray:
    """A crop's mask [S, S] (1 = known) drawn on the photo: [H, W] for ``shape`` (H, W), 0 where
    a photo pixel falls in the crop's hole, 1 elsewhere (and everywhere outside the box
    ``within`` = (top, bottom, left, right), when given: callers that need only a region)."""
    known = np.ones(shape[:2], np.float32)
    box = crop_box(alignment, shape, within=within)
    if box is not None:
        top, bottom, left, right = box
        known[top:bottom, left:right] = ~_in_crop_hole(crop_mask, alignment, box)
    return known


def footprint(alignment: Alignment, shape, within: tuple | None = None) -> np.ndarray:
    """The photo pixels that the face's crop covers: bool [H, W] for ``shape`` (H, W), False
    elsewhere and outside the box ``within``, as for ``mask_from_crop``."""
    covered = np.zeros(shape[:2], bool)
    box = crop_box(alignment, shape, within=within)
    if box is not None:
        top, bottom, left, right = box
        covered[top:bottom, left:right] = _in_crop_hole(np.zeros([alignment.size] * 2),
                                                        alignment, box)
    return covered


def crop_box(alignment: Alignment, shape, margin: int = 0, within: tuple | None = None
             ) -> tuple | None:
    """The box (top, bottom, left, right; bottom and right exclusive) of the photo pixels, for
    ``shape`` (H, W), near the face's crop: those within ``margin`` pixels of the crop's square
    grown by one crop pixel, inside the photo and inside ``within`` (a box) when given; None
    when that is empty. Resampling the crop from, or onto, this box gives what the whole photo
    gives (``margin`` 2 covers bilinear sampling's neighbours)."""
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]]) * (alignment.size / 2 + 1) \
        + (alignment.size - 1) / 2
    inverse = np.linalg.inv(alignment.matrix)
    in_photo = corners @ inverse[:2, :2].T + inverse[:2, 2]
    left, top = np.floor(in_photo.min(0)) - margin
    right, bottom = np.ceil(in_photo.max(0)) + 1 + margin
    box_top, box_bottom, box_left, box_right = within or (0, shape[0], 0, shape[1])
    left, top = int(max(left, box_left, 0)), int(max(top, box_top, 0))
    right, bottom = int(min(right, box_right, shape[1])), int(min(bottom, box_bottom, shape[0]))
    if right <= left or bottom <= top:
        return None
    return top, bottom, left, right


def _in_crop_hole(crop_mask: np.ndarray, alignment: Alignment, box: tuple) -> np.ndarray:
    """bool [bottom - top, right - left] over ``box`` (top, bottom, left, right) of the photo:
    True where a photo pixel falls in the hole (0) of the crop's mask [S, S]."""
    top, bottom, left, right = box
    missing = 1.0 - crop_mask.astype(np.float32)[..., np.newaxis]
    sampled = resample(tf.constant(missing), alignment.matrix @ offset(left, top), bottom - top,
                       right - left, "CONSTANT", interpolation="NEAREST")
    return sampled.numpy()[..., 0] >= 0.5


def offset(left: int, top: int) -> np.ndarray:
    """[3, 3]: the index coordinates of a box whose corner is (``left``, ``top``) -> the
    photo's (``alignment.matrix @ offset(left, top)`` maps the box to the crop)."""
    shift = np.eye(3)
    shift[:2, 2] = [left, top]
    return shift


def hole_box(mask: np.ndarray) -> tuple | None:
    """The bounding box (top, bottom, left, right) of the hole (values < 0.5) of a mask [H, W],
    bottom and right exclusive; None without a hole."""
    rows, columns = np.flatnonzero((mask < 0.5).any(1)), np.flatnonzero((mask < 0.5).any(0))
    if not rows.size:
        return None
    return rows[0], rows[-1] + 1, columns[0], columns[-1] + 1


def resample(image: tf.Tensor, output_to_input: np.ndarray, height: int, width: int,
             fill_mode: str, interpolation: str = "BILINEAR") -> tf.Tensor:
    """``image`` [h, w, C] resampled on a ``height`` x ``width`` grid whose index coordinates
    map to the image's by ``output_to_input`` [3, 3]; outside the image: zeros ("CONSTANT"),
    the nearest edge pixel ("NEAREST") or a reflection ("REFLECT"); float32."""
    row = output_to_input.reshape(-1)[:8] / output_to_input[2, 2]
    transformed = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(image, tf.float32)[tf.newaxis],
        transforms=tf.constant(row[np.newaxis], tf.float32),
        output_shape=tf.constant([height, width], tf.int32), fill_value=0.0,
        interpolation=interpolation, fill_mode=fill_mode)
    return transformed[0]
