"""Completing a whole photo: find and align its faces, complete the ones the hole meets in the
model's framing, and blend each completion back into the photo at the photo's resolution.

Used by ``complete.py --align`` (``completion.run``) and the web app, and meant for any caller
with a photo in memory. Every photo pixel outside the hole comes back bit-identical.
"""

import dataclasses
import logging

import numpy as np

from dcgan_tf import images as image_utils
from dcgan_tf.inpainting import search
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models import trained
from dcgan_tf.photo import align, detect, paste

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
    """The completed photo uint8 [H, W, 3], its mask [H, W] (1 = known, as given), the faces
    completed, the share of the hole's pixels that no face's crop covers (left as they were),
    and the detections not used (``detect.Rejected``)."""

    completed: np.ndarray
    mask: np.ndarray
    faces: list
    uncovered: float
    rejected: list = dataclasses.field(default_factory=list)


class CropCompleter:
    """Completes aligned face crops in a model's framing: ``template`` [5, 2] (crop-relative
    landmarks), ``image_size`` S, and a call (crops uint8 [N, S, S, 3], masks float32
    [N, S, S, 1], 1 = known) -> completed float32 [N, S, S, 3] in [-1, 1].

    ``search_completer`` makes one that runs ``search.complete`` on a loaded model; the web
    app's served engine makes one that asks TF Serving."""

    def __init__(self, template: np.ndarray, image_size: int, complete_crops):
        self.template, self.image_size, self._complete_crops = template, image_size, \
            complete_crops

    def __call__(self, crops: np.ndarray, masks: np.ndarray) -> np.ndarray:
        return self._complete_crops(crops, masks)


def search_completer(model: trained.Model, settings: SearchSettings, *, seed: int = 0,
                     progress=None) -> CropCompleter:
    """A ``CropCompleter`` running the search ``settings`` (as they run on the model:
    ``SearchSettings.for_model``) on ``model`` in this process, with the search's ``seed`` and
    ``progress`` (``search.complete``)."""
    def complete_crops(crops, masks):
        return search.complete(model.generator, model.discriminator,
                               image_utils.to_float(crops), masks, settings, seed=seed,
                               encoder=model.encoder, progress=progress).completed

    return CropCompleter(face_template(model), model.config.image_size, complete_crops)


def face_template(model: trained.Model) -> np.ndarray:
    """The model's landmark template [5, 2] (crop-relative).

    Raises:
        align.AlignmentError: when the model has none.
    """
    return template_of(model.config.face_template, model.source)


def template_of(values, source: str) -> np.ndarray:
    """A model's ``face_template`` config values (10 floats) as [5, 2].

    Raises:
        align.AlignmentError: naming ``source`` when there are none.
    """
    if len(values) != 2 * len(align.LANDMARKS):
        raise align.AlignmentError(
            f"the model {source} has no face template, so photos cannot be framed like "
            f"its training crops: measure it with tools/measure_template.py")
    return np.asarray(values, np.float64).reshape(-1, 2)


def complete_photo(completer: CropCompleter, photo: np.ndarray, *,
                   mask: np.ndarray | None = None, crop_mask: np.ndarray | None = None,
                   detections: detect.Detections | None = None, seamless: bool = True
                   ) -> PhotoCompletion:
    """Completes the faces of a photo that the hole meets; detections that are not faces to
    use (``detect.detect_faces``: low confidence, implausible landmarks) are left alone.

    Args:
        completer: completes aligned crops (``search_completer(model, settings)``).
        photo: uint8 [H, W, 3].
        mask: [H, W], 1 = known, drawn on the photo (bool: True = known, keeps a large
            photo's mask at a byte a pixel until the face crops); or
        crop_mask: [S, S], 1 = known, a hole in the model's framing (``--mask=center``...),
            made in every kept face's aligned crop and mapped back onto the photo.
        detections: the photo's ``detect.detect_faces``, when the caller has them (detection
            costs ~0.3 s a photo).
        seamless: Poisson-blend the completed crops into the photo (``paste.paste_back``);
            False pastes them (4x faster at the photo's resolution: the live preview).

    Returns:
        The completion; a mask with no hole gives the photo back unchanged (with a warning).

    Raises:
        align.AlignmentError: no face to use (naming the detections rejected and why), or a
            hole that meets no face.
    """
    if (mask is None) == (crop_mask is None):
        raise ValueError("give a mask drawn on the photo or a mask in the crop, not both")
    if mask is not None and mask.min() >= 0.5:
        log.warning("the mask marks every pixel as known: nothing to complete")
        return PhotoCompletion(photo.copy(), mask, [], 0.0)
    detections = detect.detect_faces(photo) if detections is None else detections
    if not detections.faces:
        raise align.AlignmentError("no face found" + (
            f" ({_not_used(detections.rejected)})" if detections.rejected else ""))
    alignments = [align.align(face, completer.template, completer.image_size)
                  for face in detections.faces]
    if mask is None:
        mask = np.ones(photo.shape[:2], np.float32)
        for alignment in alignments:
            mask = np.minimum(mask, align.mask_from_crop(crop_mask, alignment, mask.shape))
    try:
        result = complete_aligned(completer, photo, mask, alignments, seamless=seamless)
    except align.AlignmentError as error:
        rejected = f"; {_not_used(detections.rejected)}" if detections.rejected else ""
        raise align.AlignmentError(f"{error} (faces found: {len(detections.faces)}"
                                   f"{rejected})") from None
    result.rejected = detections.rejected
    return result


def _not_used(rejected: list) -> str:
    """"not used: <reason>; <reason>" naming the first detections rejected, for error
    messages."""
    more = f"; {len(rejected) - 3} more" if len(rejected) > 3 else ""
    return f"not used: {'; '.join(item.reason for item in rejected[:3])}{more}"


def complete_aligned(completer: CropCompleter, photo: np.ndarray, mask: np.ndarray,
                     alignments: list, *, seamless: bool = True) -> PhotoCompletion:
    """Completes a photo through given alignments (``complete_photo`` finds them; a benchmark
    may give the true ones).

    Args:
        completer, photo, seamless: as for ``complete_photo``.
        mask: [H, W], 1 (or True) = known, drawn on the photo.
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

    crops = np.stack([view.crop for view in views])
    masks = np.stack([view.crop_mask for view in views])[..., np.newaxis]
    completed, remaining = photo, mask >= 0.5  # remaining: known, or filled by a face
    hole = align.hole_box(mask)
    for view, crop_result in zip(views, completer(crops, masks)):
        view.completed = image_utils.to_uint8(crop_result)
        completed = paste.paste_back(completed, remaining, crop_result, view.alignment,
                                     seamless=seamless)
        remaining |= align.footprint(view.alignment, mask.shape, hole)
    hole = mask < 0.5
    uncovered = float((~remaining[hole]).mean()) if hole.any() else 0.0
    if uncovered > 0:
        log.warning("%.0f%% of the hole lies outside every face's crop and is left as it was",
                    100 * uncovered)
    return PhotoCompletion(completed, mask, views, uncovered)
