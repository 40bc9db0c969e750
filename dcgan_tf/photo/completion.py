"""Completing a whole photo: find and align its faces, complete the ones the hole meets in the
model's framing, blend each completion back into the photo at the photo's resolution, and fill
the rest of the hole from its surroundings (``background``).

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
from dcgan_tf.photo import align, background, detect, paste

log = logging.getLogger(__name__)

_SURROUNDINGS = "filled from its surroundings"  # the end of a note


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
    completed (``FaceCompletion``), the source map uint8 [H, W] (``background``: ``KNOWN``,
    k + 1 for face k's model, ``CLASSICAL``), the share of the hole's pixels each face's model
    filled (``face_shares``, in [0, 1], in the order of ``faces``) and the classical fill
    filled (``classical_share``), a note for the user ("" or why no face's model filled any of
    it) and the detections not used (``detect.Rejected``)."""

    completed: np.ndarray
    mask: np.ndarray
    faces: list
    sources: np.ndarray
    face_shares: list
    classical_share: float
    note: str = ""
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
    """The model's landmark template [5, 2] (crop-relative): the one its config records, else
    the one measured for its training crop (``align.crop_template``: a run trained before runs
    recorded it).

    Raises:
        align.AlignmentError: when the model has none.
    """
    config = model.config
    return template_of(config.face_template
                       or align.crop_template(config.crop, config.align_framing), model.source)


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
                   detections: detect.Detections | None = None, seamless: bool = True,
                   fill_side: int | None = None) -> PhotoCompletion:
    """Completes the faces of a photo that the hole meets and fills the rest of the hole from
    its surroundings; detections that are not faces to use (``detect.detect_faces``: low
    confidence, implausible landmarks) are left alone.

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
        fill_side: the longest side at which the hole's box is filled from its surroundings
            (``background.fill_uncovered``'s ``max_side``); None: the photo's resolution.

    Returns:
        The completion: every hole pixel filled (a photo without a face to use, or a hole that
        meets none, entirely from its surroundings, with a note); a mask with no hole gives the
        photo back unchanged (with a warning).

    Raises:
        align.AlignmentError: a ``crop_mask`` on a photo without a face to use (naming the
            detections rejected and why).
    """
    if (mask is None) == (crop_mask is None):
        raise ValueError("give a mask drawn on the photo or a mask in the crop, not both")
    if mask is not None and mask.min() >= 0.5:
        log.warning("the mask marks every pixel as known: nothing to complete")
        return PhotoCompletion(photo.copy(), mask, [], np.zeros(mask.shape, np.uint8), [], 0.0)
    detections = detect.detect_faces(photo) if detections is None else detections
    not_used = f" ({_not_used(detections.rejected)})" if detections.rejected else ""
    if not detections.faces and mask is None:
        raise align.AlignmentError(f"no face found{not_used}: a --mask kind is made in the "
                                   f"faces' crops; draw the hole on the photo instead "
                                   f"(--mask_file)")
    alignments = [align.align(face, completer.template, completer.image_size)
                  for face in detections.faces]
    if mask is None:
        mask = np.ones(photo.shape[:2], np.float32)
        for alignment in alignments:
            mask = np.minimum(mask, align.mask_from_crop(crop_mask, alignment, mask.shape))
    result = complete_aligned(completer, photo, mask, alignments, seamless=seamless,
                              fill_side=fill_side)
    if not detections.faces:
        result.note = f"no face found{not_used}: the hole is {_SURROUNDINGS}"
    result.rejected = detections.rejected
    return result


def _not_used(rejected: list) -> str:
    """"not used: <reason>; <reason>" naming the first detections rejected, for error
    messages."""
    more = f"; {len(rejected) - 3} more" if len(rejected) > 3 else ""
    return f"not used: {'; '.join(item.reason for item in rejected[:3])}{more}"


def complete_aligned(completer: CropCompleter, photo: np.ndarray, mask: np.ndarray,
                     alignments: list, *, seamless: bool = True,
                     fill_side: int | None = None) -> PhotoCompletion:
    """Completes a photo through given alignments (``complete_photo`` finds them; a benchmark
    may give the true ones): the faces the hole meets by the model, then the hole pixels no
    face's crop covers by the classical fill (``background.fill_uncovered``), with the completed
    faces as its context.

    Args:
        completer, photo, seamless, fill_side: as for ``complete_photo``.
        mask: [H, W], 1 (or True) = known, drawn on the photo.
        alignments: ``align.Alignment`` of each face to the model's crop.

    Raises:
        align.AlignmentError: when the hole meets more faces than a source map tells apart
            (``background.MAX_FACES``).
    """
    views = []
    for alignment in alignments:
        crop, coverage = align.warp_to_crop(photo, alignment)
        known = align.mask_to_crop(mask, alignment) * coverage
        if (coverage * (1.0 - known)).any():  # the hole meets this face
            views.append(FaceCompletion(alignment, crop, known, None))
    if len(views) > background.MAX_FACES:
        raise align.AlignmentError(f"the hole meets {len(views)} faces; at most "
                                   f"{background.MAX_FACES} are completed in one photo")
    hole = mask < 0.5
    sources = np.where(hole, np.uint8(background.CLASSICAL), np.uint8(background.KNOWN))
    completed, remaining = photo, ~hole  # remaining: known, or filled by a face
    if views:
        crops = np.stack([view.crop for view in views])
        masks = np.stack([view.crop_mask for view in views])[..., np.newaxis]
        box = align.hole_box(mask)
        for label, (view, crop_result) in enumerate(zip(views, completer(crops, masks)), 1):
            view.completed = image_utils.to_uint8(crop_result)
            completed = paste.paste_back(completed, remaining, crop_result, view.alignment,
                                         seamless=seamless)
            covered = align.footprint(view.alignment, mask.shape, box) & ~remaining
            sources[covered] = label
            remaining |= covered
    seams = [background.SEAM_CROP_PIXELS / view.alignment.scale for view in views]
    completed = background.fill_uncovered(completed, sources, seams, max_side=fill_side)
    counts = np.bincount(sources[hole], minlength=256) / max(int(hole.sum()), 1)
    result = PhotoCompletion(completed, mask, views, sources,
                             [float(share) for share in counts[1:len(views) + 1]],
                             float(counts[background.CLASSICAL]))
    if hole.any() and not views:
        result.note = f"the hole meets no face: it is {_SURROUNDINGS}"
    elif result.classical_share > 0:
        log.info("%.0f%% of the hole lies outside every face's crop: filled from its "
                 "surroundings", 100 * result.classical_share)
    return result
