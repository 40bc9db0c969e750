"""Completing a whole photo: find and align its faces, complete the ones the hole meets in the
model's framing, and blend each completion back into the photo at the photo's resolution.

Used by ``complete.py --align`` (``complete_lib``) and meant for any caller with a photo in
memory. Every photo pixel outside the hole comes back bit-identical.
"""

import dataclasses
import logging

import numpy as np

from dcgan_tf import align, images as image_utils, inpaint, loading
from dcgan_tf.config import SearchSettings

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FaceCompletion:
    """One completed face: its alignment, the aligned crop uint8 [S, S, 3] with its mask
    [S, S] (1 = known) and the completion uint8 [S, S, 3]."""

    alignment: align.Alignment
    crop: np.ndarray
    crop_mask: np.ndarray
    completed: np.ndarray


@dataclasses.dataclass
class PhotoCompletion:
    """The completed photo uint8 [H, W, 3], its mask [H, W] (1 = known), the faces completed,
    and the share of the hole's pixels that no face's crop covers (left as they were)."""

    completed: np.ndarray
    mask: np.ndarray
    faces: list
    uncovered: float


def face_template(model: loading.Model) -> np.ndarray:
    """The model's landmark template [5, 2] (crop-relative).

    Raises:
        align.AlignmentError: when the model has none.
    """
    if len(model.config.face_template) != 2 * len(align.LANDMARKS):
        raise align.AlignmentError(
            f"the model {model.source} has no face template, so photos cannot be framed like "
            f"its training crops: measure it with tools/measure_template.py")
    return np.asarray(model.config.face_template, np.float64).reshape(-1, 2)


def complete_photo(model: loading.Model, photo: np.ndarray, settings: SearchSettings, *,
                   mask: np.ndarray | None = None, crop_mask: np.ndarray | None = None,
                   seed: int = 0, faces: list | None = None) -> PhotoCompletion:
    """Completes the faces of a photo that the hole meets.

    Args:
        model: the model (its config holds the landmark template).
        photo: uint8 [H, W, 3].
        settings: the search, as it runs on the model (``SearchSettings.for_model``).
        mask: [H, W], 1 = known, drawn on the photo; or
        crop_mask: [S, S], 1 = known, a hole in the model's framing (``--mask=center``...),
            made in every face's aligned crop and mapped back onto the photo.
        seed: seed of the search.
        faces: detected faces, when the caller has them (detection costs ~0.3 s a photo).

    Returns:
        The completion; a mask with no hole gives the photo back unchanged (with a warning).

    Raises:
        align.AlignmentError: no face, every face too small, or a hole that meets no face.
    """
    if (mask is None) == (crop_mask is None):
        raise ValueError("give a mask drawn on the photo or a mask in the crop, not both")
    if mask is not None and mask.min() >= 0.5:
        log.warning("the mask marks every pixel as known: nothing to complete")
        return PhotoCompletion(photo.copy(), mask.astype(np.float32), [], 0.0)
    template = face_template(model)
    size = model.config.image_size
    faces = align.detect_faces(photo) if faces is None else faces
    if not faces:
        raise align.AlignmentError("no face found")
    alignments, too_small = [], []
    for face in faces:
        try:
            alignments.append(align.align(face, template, size))
        except align.AlignmentError as error:
            too_small.append(str(error))
    if not alignments:
        raise align.AlignmentError(too_small[0])
    if mask is None:
        mask = np.ones(photo.shape[:2], np.float32)
        for alignment in alignments:
            mask = np.minimum(mask, align.mask_from_crop(crop_mask, alignment, mask.shape))
    try:
        return complete_aligned(model, photo, mask, alignments, settings, seed=seed)
    except align.AlignmentError as error:
        raise align.AlignmentError(f"{error} (faces found: {len(faces)})") from None


def complete_aligned(model: loading.Model, photo: np.ndarray, mask: np.ndarray,
                     alignments: list, settings: SearchSettings, *,
                     seed: int = 0) -> PhotoCompletion:
    """Completes a photo through given alignments (``complete_photo`` finds them; a benchmark
    may give the true ones).

    Args:
        model, photo, settings, seed: as for ``complete_photo``.
        mask: [H, W], 1 = known, drawn on the photo.
        alignments: ``align.Alignment`` of each face to the model's crop.

    Raises:
        align.AlignmentError: when the hole meets no face's crop.
    """
    views = []
    for alignment in alignments:
        crop, coverage = align.warp_to_crop(photo, alignment)
        known = align.mask_to_crop(mask, alignment) * coverage
        if (coverage * (1.0 - known)).any():  # the hole meets this face
            views.append(FaceCompletion(alignment, crop, known, None))
    if not views:
        raise align.AlignmentError("the hole meets no face")

    targets = image_utils.to_float(np.stack([view.crop for view in views]))
    masks = np.stack([view.crop_mask for view in views])[..., np.newaxis]
    result = inpaint.complete(model.generator, model.discriminator, targets, masks, settings,
                              seed=seed, encoder=model.encoder)
    completed, remaining = photo.copy(), mask.astype(np.float32)
    for view, crop_result in zip(views, result.completed):
        view.completed = image_utils.to_uint8(crop_result)
        completed = align.paste_back(completed, remaining, crop_result, view.alignment)
        remaining = np.maximum(remaining, align.footprint(view.alignment, mask.shape))
    hole = mask < 0.5
    uncovered = float((remaining[hole] < 0.5).mean()) if hole.any() else 0.0
    if uncovered > 0:
        log.warning("%.0f%% of the hole lies outside every face's crop and is left as it was",
                    100 * uncovered)
    return PhotoCompletion(completed, mask.astype(np.float32), views, uncovered)
