"""Paste-back: a crop warped out of a photo and pasted back into an all-hole mask reproduces
the photo."""

import numpy as np

from dcgan_tf import images as image_utils
from dcgan_tf.photo import align, paste


def test_warp_there_and_back_reproduces_a_smooth_image():
    """Crop by a similarity, then sample the crop back at the photo's pixels: inside the crop
    a smooth image comes back within 2 uint8 levels."""
    y, x = np.mgrid[0:200, 0:260]
    smooth = np.stack([120 + 60 * np.sin(x / 80.0), 110 + 50 * np.cos(y / 70.0),
                       60 + 0.4 * x], axis=-1)
    photo = np.clip(np.rint(smooth), 0, 255).astype(np.uint8)
    face = align.Face(np.array([[100.0, 90], [140, 95], [120, 115], [104, 135], [136, 138]]),
                      (80, 60, 80, 100), 1.0)
    template = np.array([[0.35, 0.45], [0.65, 0.45], [0.5, 0.6], [0.37, 0.75], [0.63, 0.75]])
    alignment = align.align(face, template, 64)
    crop, _ = align.warp_to_crop(photo, alignment)
    mask = np.zeros(photo.shape[:2], np.float32)  # everything is hole: paste the crop back
    back = paste.paste_back(photo, mask, image_utils.to_float(crop), alignment)
    inside = align.footprint(alignment, mask.shape) > 0.5
    margin = np.zeros_like(inside)
    margin[3:-3, 3:-3] = inside[3:-3, 3:-3] & inside[:-6, 3:-3] & inside[6:, 3:-3] & \
        inside[3:-3, :-6] & inside[3:-3, 6:]
    difference = np.abs(back.astype(int) - photo.astype(int))[margin]
    assert margin.sum() > 2000 and difference.max() <= 2
