"""A completed crop back into its photo, at the photo's resolution, blended into the hole only."""

import numpy as np
import tensorflow as tf

from dcgan_tf import images as image_utils
from dcgan_tf.inpainting import blend
from dcgan_tf.photo.align import Alignment, footprint, hole_box, offset, resample


def paste_back(photo: np.ndarray, mask: np.ndarray, completed_crop: np.ndarray,
               alignment: Alignment, seamless: bool = True) -> np.ndarray:
    """Blends a completed crop into the photo's hole at the photo's resolution.

    The crop is warped back by the inverse transform onto the bounding box of the hole pixels it
    covers, and Poisson-blended there (the known pixels around the hole are the boundary;
    ``blend.poisson_coarse_to_fine``), so the seam follows the photo. The hole pixels in that box
    that the crop does not cover are free in the solve, not a boundary: their values (what was
    painted over) do not pull the completion. Every pixel outside the hole, and every hole pixel
    the crop does not cover, comes out bit-identical.

    Args:
        photo: uint8 [H, W, 3].
        mask: [H, W], 1 or True = known (bool keeps a large photo's mask small).
        completed_crop: float [S, S, 3] in [-1, 1].
        alignment: the face's alignment.
        seamless: False pastes the warped crop without the Poisson solve (about 4x faster on
            a large hole: the web app's live preview; the crop is blended in its own framing).

    Returns:
        uint8 [H, W, 3].
    """
    height, width = mask.shape
    hole = hole_box(mask)
    if hole is None:
        return photo.copy()
    # The hole the crop covers (all of it lies in the hole's box).
    filled = (mask < 0.5) & footprint(alignment, mask.shape, within=hole)
    rows, columns = np.nonzero(filled[hole[0]:hole[1], hole[2]:hole[3]])
    if not rows.size:
        return photo.copy()
    rows, columns = rows + hole[0], columns + hole[2]
    top, left = max(rows.min() - 2, 0), max(columns.min() - 2, 0)
    bottom, right = min(rows.max() + 3, height), min(columns.max() + 3, width)
    generated = resample(tf.constant(completed_crop, tf.float32),
                         alignment.matrix @ offset(left, top), bottom - top, right - left,
                         "NEAREST")
    box = np.s_[top:bottom, left:right]
    known = (mask[box] >= 0.5).astype(np.float32)
    if seamless:
        generated = blend.poisson_coarse_to_fine(
            image_utils.to_float(photo[box])[np.newaxis], generated[np.newaxis],
            known[np.newaxis, ..., np.newaxis])[0]
    result = photo.copy()
    result[box] = np.where(filled[box][..., np.newaxis],
                           image_utils.to_uint8(np.asarray(generated)), photo[box])
    return result
