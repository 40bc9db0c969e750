"""Crop presets: the region of each preset, at CelebA's frame and scaled for others."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf.data import crops


def _box_image(height, width, top, left, side):
    """Black frame with a white square at the given box."""
    image = np.zeros((height, width, 3), np.uint8)
    image[top:top + side, left:left + side] = 255
    return tf.constant(image)


def test_celeba_crop_is_the_central_108_box():
    image = _box_image(218, 178, top=55, left=35, side=108)
    cropped = crops.crop_and_resize(image, "celeba", 108).numpy()
    assert cropped.min() == 255
    assert crops.crop_and_resize(image, "auto", 108).numpy().min() == 255


def test_celeba_face_crop_is_the_144_box_from_row_50_and_scales_with_the_frame():
    image = _box_image(218, 178, top=50, left=17, side=144)
    assert crops.crop_and_resize(image, "celeba_face", 144).numpy().min() == 255
    assert [int(v) for v in crops.region_box(218, 178, "celeba_face")] == [50, 17, 144, 144]
    assert [int(v) for v in crops.region_box(436, 356, "celeba_face")] == [100, 34, 288, 288]
    # a frame shorter than the box: the square still fits inside it
    top, left, side, _ = (int(v) for v in crops.region_box(150, 178, "celeba_face"))
    assert side == 144 and 0 <= top and top + side <= 150 and left == 17


def test_auto_cuts_the_model_s_celeba_framing_from_celeba_frames_only():
    face_box = _box_image(218, 178, top=50, left=17, side=144)
    assert crops.crop_and_resize(face_box, "auto", 144, "celeba_face").numpy().min() == 255
    assert [int(v) for v in crops.region_box(218, 178, "auto", "celeba_face")] == [50, 17, 144,
                                                                                   144]
    # any other frame: its central square, whatever the framing
    assert [int(v) for v in crops.region_box(100, 60, "auto", "celeba_face")] == [20, 0, 60, 60]
    with pytest.raises(ValueError, match="CelebA framing of --crop=auto"):
        crops.region_box(218, 178, "auto", "center")


def test_the_celeba_framing_of_a_model_follows_its_training_crop():
    assert crops.celeba_framing("celeba_face") == "celeba_face"
    assert crops.celeba_framing("align", "celeba_face") == "celeba_face"
    assert crops.celeba_framing("auto") == "celeba"
    assert crops.celeba_framing("center", "celeba_face") == "celeba"
    assert crops.trained_framing("center", "celeba_face") is None
    assert crops.trained_framing("align", "celeba_face") == "celeba_face"


def test_center_crop_is_the_largest_central_square():
    image = _box_image(100, 60, top=20, left=0, side=60)
    assert crops.crop_and_resize(image, "center", 60).numpy().min() == 255
    assert crops.crop_and_resize(image, "auto", 60).numpy().min() == 255


def test_ffhq_and_none_keep_the_whole_frame():
    image = _box_image(64, 64, top=0, left=0, side=32)
    for crop in ("ffhq", "none", "auto"):
        resized = crops.crop_and_resize(image, crop, 32).numpy()
        # antialiasing blurs one pixel either side of the edge
        assert resized[:15, :15].min() == 255 and resized[17:, 17:].max() == 0
