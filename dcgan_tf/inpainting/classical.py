"""Classical fills of a hole, with no model: what a user without one picks, and the anchors the
benchmarks compare the model's completions with.

Methods (``METHODS``):
    telea   OpenCV's ``cv2.inpaint`` with ``INPAINT_TELEA`` (Telea 2004, fast marching)
    ns      OpenCV's ``cv2.inpaint`` with ``INPAINT_NS`` (Bertalmio et al. 2001, Navier-Stokes)
    mean    every hole pixel set to the mean colour of the image's known pixels: the floor

OpenCV works on uint8 pixels: ``fill_photo`` takes and returns uint8 [H, W, 3] at any size;
``fill`` takes the library's float images in [-1, 1], goes through uint8 for the fill and gives
every known pixel back bit-identical.
"""

import cv2
import numpy as np

from dcgan_tf import images as image_utils

METHODS = ("telea", "ns", "mean")
INPAINT_RADIUS = 3  # px: the neighbourhood cv2.inpaint draws each pixel from (OpenCV's example)
_OPENCV_FLAGS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def fill_photo(photo: np.ndarray, mask: np.ndarray, method: str) -> np.ndarray:
    """Fills the hole of one image.

    Args:
        photo: uint8 [H, W, 3]; values in the hole are ignored.
        mask: [H, W] or [H, W, 1], 1 = known pixel, 0 = hole (thresholded at 0.5).
        method: one of ``METHODS``.

    Returns:
        uint8 [H, W, 3]: the hole filled, every known pixel as in ``photo``. An image with no
        known pixel comes back mid-grey (128) in the hole, whatever the method.

    Raises:
        ValueError: for an unknown method, naming ``--methods``.
    """
    if method not in METHODS:
        raise ValueError(f"--methods: unknown classical fill {method!r}; one of {METHODS}")
    photo = np.ascontiguousarray(photo, np.uint8)
    known = np.asarray(mask).reshape(photo.shape[:2]) >= 0.5
    if not known.any():
        return np.full_like(photo, 128)
    if method == "mean":
        filled = photo.copy()
        filled[~known] = np.rint(photo[known].mean(axis=0)).astype(np.uint8)
        return filled
    hole = (~known).astype(np.uint8)  # OpenCV fills the non-zero pixels of its mask
    return cv2.inpaint(photo, hole, INPAINT_RADIUS, _OPENCV_FLAGS[method])


def fill(images, masks, method: str) -> np.ndarray:
    """Fills the holes of a batch in the library's conventions.

    Args:
        images: float32 [B, H, W, 3] in [-1, 1]; values in the hole are ignored.
        masks: [B, H, W, 1], 1 = known pixel, 0 = hole.
        method: one of ``METHODS``.

    Returns:
        float32 [B, H, W, 3] in [-1, 1]: the fill (computed on the uint8 image,
        ``images.to_uint8``) in the hole, ``images`` unchanged on the known pixels.
    """
    images = np.asarray(images, np.float32)
    masks = np.asarray(masks, np.float32)
    pixels = image_utils.to_uint8(images)
    filled = np.stack([fill_photo(photo, mask, method) for photo, mask in zip(pixels, masks)])
    return np.where(masks >= 0.5, images, image_utils.to_float(filled)).astype(np.float32)
