"""Completion against ground truth, image by image: PSNR, SSIM and L1, on the whole image and on
the hole (metrics of sets of images, FID and the like, are ``distribution_metrics``).

Images are float [N, H, W, 3] in [-1, 1] (a peak-to-peak range of 2); masks [N, H, W, 1] with
1 = known, so the hole is where the mask is 0. Hole SSIM is computed on the bounding box of the
hole (SSIM needs neighbourhoods, so it cannot be restricted to scattered pixels).
"""

import numpy as np
import tensorflow as tf

_RANGE = 2.0  # [-1, 1]


def psnr(images, references, region=None) -> np.ndarray:
    """Peak signal-to-noise ratio in dB per image, over ``region`` ([N, H, W, 1] weights of 0/1)
    or the whole image; inf where the two are identical there."""
    squared = np.square(np.asarray(images, np.float64) - np.asarray(references, np.float64))
    if region is None:
        region = np.ones(squared.shape[:3] + (1,))
    region = np.broadcast_to(np.asarray(region, np.float64), squared.shape)
    mse = (squared * region).sum(axis=(1, 2, 3)) / np.maximum(region.sum(axis=(1, 2, 3)), 1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(_RANGE ** 2 / mse)


def l1(images, references, region=None) -> np.ndarray:
    """Mean absolute difference per image (on the [-1, 1] scale), over ``region`` or all."""
    difference = np.abs(np.asarray(images, np.float64) - np.asarray(references, np.float64))
    if region is None:
        return difference.mean(axis=(1, 2, 3))
    region = np.broadcast_to(np.asarray(region, np.float64), difference.shape)
    return (difference * region).sum(axis=(1, 2, 3)) / np.maximum(region.sum(axis=(1, 2, 3)), 1)


def ssim(images, references) -> np.ndarray:
    """Structural similarity per image (``tf.image.ssim``, 11x11 Gaussian window)."""
    return tf.image.ssim(tf.constant(images, tf.float32), tf.constant(references, tf.float32),
                         max_val=_RANGE).numpy()


def hole_ssim(images, references, masks) -> np.ndarray:
    """SSIM on each image's hole bounding box; NaN for an image without a hole. Images whose
    holes share one bounding box are measured in one batch."""
    images, references = np.asarray(images), np.asarray(references)
    boxes = {}
    for index, mask in enumerate(np.asarray(masks)):
        rows, cols = np.nonzero(mask[..., 0] == 0)
        if rows.size:
            box = (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
            boxes.setdefault(box, []).append(index)
    scores = np.full(len(images), np.nan)
    for (top, bottom, left, right), indices in boxes.items():
        window = min(11, bottom - top, right - left)  # small holes get a smaller window
        crops = [tf.constant(x[indices, top:bottom, left:right], tf.float32)
                 for x in (images, references)]
        scores[indices] = tf.image.ssim(*crops, max_val=_RANGE, filter_size=window).numpy()
    return scores


def completion_metrics(completed, originals, masks) -> dict:
    """Per-image lists of hole_psnr, hole_ssim, psnr, ssim and l1 (l1 on the hole)."""
    hole = 1.0 - np.asarray(masks, np.float32)
    return {
        "hole_psnr": psnr(completed, originals, hole).tolist(),
        "hole_ssim": hole_ssim(completed, originals, masks).tolist(),
        "psnr": psnr(completed, originals).tolist(),
        "ssim": ssim(completed, originals).tolist(),
        "l1": l1(completed, originals, hole).tolist(),
    }
