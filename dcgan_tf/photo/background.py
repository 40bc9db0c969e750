"""The part of a photo's hole that no face's crop covers, filled from its surroundings.

After the faces' completions are pasted (``completion.complete_aligned``), the hole pixels no
face covers are filled by a classical fill (``inpainting.classical``, ``FILL_METHOD``) at the
photo's resolution, so the completed faces are part of its context. Where such a pixel borders a
face's completion, the completion fades into the fill over a band of ``SEAM_CROP_PIXELS`` of that
face's crop pixels (the band is filled too, then cross-faded), so no seam shows.

Which model filled each hole pixel is a source map: uint8 [H, W], ``KNOWN`` (0) for a pixel
outside the hole, k + 1 for a pixel that face k's model filled, ``CLASSICAL`` for one that the
classical fill filled.
"""

import cv2
import numpy as np

from dcgan_tf.inpainting import classical
from dcgan_tf.photo.align import hole_box

FILL_METHOD = "telea"  # PatchMatch looks more real, but is ~150x slower: docs/results.md
KNOWN, CLASSICAL = 0, 255
MAX_FACES = CLASSICAL - 1  # faces a source map can tell apart
SEAM_CROP_PIXELS = 3.0  # the band over which a face's completion fades into the fill
# Context beyond the pixels to fill: what cv2.inpaint reads (its radius), and a pixel more.
_CONTEXT = classical.INPAINT_RADIUS + 1


def fill_uncovered(photo: np.ndarray, sources: np.ndarray, seam_widths, *,
                   max_side: int | None = None) -> np.ndarray:
    """Fills the ``CLASSICAL`` pixels of a source map, and fades the faces' completions into
    the fill.

    Args:
        photo: uint8 [H, W, 3], the faces' completions pasted; values of the pixels to fill are
            ignored.
        sources: uint8 [H, W], the source map: ``CLASSICAL`` where to fill.
        seam_widths: per face k (label k + 1), the band's width in photo pixels.
        max_side: the fill runs on the hole's box shrunk to this longest side, and is enlarged
            back (a faster, softer fill: the web app's live preview); None: at the photo's
            resolution.

    Returns:
        uint8 [H, W, 3]: ``photo`` with the ``CLASSICAL`` pixels filled and each face's
        completion cross-faded into the fill within its band; every other pixel unchanged.
    """
    result = photo.copy()
    box = hole_box(sources != CLASSICAL)
    if box is None:
        return result
    widths = np.zeros(256, np.float32)
    widths[1:len(seam_widths) + 1] = seam_widths
    widest = int(np.ceil(widths.max()))
    side = max(box[1] - box[0], box[3] - box[2]) + 2 * widest
    # The fill's context: _CONTEXT pixels at the scale it runs at.
    scale = min(1.0, max_side / side) if max_side else 1.0
    grow = widest + int(np.ceil(_CONTEXT / scale))
    top, bottom = max(box[0] - grow, 0), min(box[1] + grow, photo.shape[0])
    left, right = max(box[2] - grow, 0), min(box[3] + grow, photo.shape[1])
    region = np.s_[top:bottom, left:right]
    labels = sources[region]
    to_fill = labels == CLASSICAL
    band = np.zeros_like(to_fill)
    if widest:  # faces beside the fill: their seam bands
        width = widths[labels]
        # Distance of every pixel to the nearest pixel to fill (1 for its neighbours).
        distance = cv2.distanceTransform((~to_fill).astype(np.uint8), cv2.DIST_L2, 3)
        band = (width > 0) & (distance < width + 0.5)
    rows, columns = np.nonzero(to_fill | band)
    filled = _fill(photo[region], to_fill | band, scale)[rows, columns]
    weight = np.zeros((rows.size, 1), np.float32)  # of the face's completion
    if band.any():
        in_band = band[rows, columns]
        at = rows[in_band], columns[in_band]
        weight[in_band, 0] = np.clip((distance[at] - 0.5) / width[at], 0.0, 1.0)
    mixed = weight * photo[region][rows, columns] + (1 - weight) * filled
    result[top + rows, left + columns] = np.rint(mixed).astype(np.uint8)
    return result


def _fill(pixels: np.ndarray, hole: np.ndarray, scale: float) -> np.ndarray:
    """``FILL_METHOD`` of ``hole`` (bool [h, w]) in ``pixels`` (uint8 [h, w, 3]), run at
    ``scale`` (<= 1) of their size and enlarged back: uint8 [h, w, 3]."""
    if scale >= 1.0:
        return classical.fill_photo(pixels, ~hole, FILL_METHOD)
    height, width = hole.shape
    small = (max(1, round(width * scale)), max(1, round(height * scale)))  # OpenCV: (w, h)
    small_pixels = cv2.resize(pixels, small, interpolation=cv2.INTER_AREA)
    # A small pixel is to fill when any of the pixels it covers is.
    small_hole = cv2.resize(hole.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0
    filled = classical.fill_photo(small_pixels, ~small_hole, FILL_METHOD)
    return cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
