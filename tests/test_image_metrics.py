"""PSNR / SSIM / L1 on the hole and the whole image."""

import math

import numpy as np

from dcgan_tf.evaluation import image_metrics
from dcgan_tf.inpainting import masks


def test_psnr_hand_computed_on_hole_and_image():
    reference = np.zeros((1, 8, 8, 3), np.float32)
    image = reference.copy()
    mask = masks.center(8)[None]  # 4x4 hole
    image[:, 2:6, 2:6] = 0.2  # error only in the hole
    # hole MSE = 0.04 -> 10 log10(4 / 0.04) = 20 dB; image MSE = 0.04 / 4 -> 26.02 dB
    assert abs(image_metrics.psnr(image, reference, 1 - mask)[0] - 20.0) < 1e-6  # 0.2 is a float32
    assert abs(image_metrics.psnr(image, reference)[0] - (20 + 10 * math.log10(4))) < 1e-6
    assert abs(image_metrics.l1(image, reference, 1 - mask)[0] - 0.2) < 1e-7


def test_identical_images_score_perfectly():
    rng = np.random.default_rng(0)
    image = rng.uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    mask = masks.make_masks("center", 2, 32)
    scores = image_metrics.completion_metrics(image, image, mask)
    assert scores["hole_psnr"] == [math.inf, math.inf]
    np.testing.assert_allclose(scores["ssim"], 1.0, atol=1e-5)
    np.testing.assert_allclose(scores["hole_ssim"], 1.0, atol=1e-5)
    assert scores["l1"] == [0.0, 0.0]


def test_hole_ssim_is_nan_without_a_hole():
    image = np.zeros((1, 16, 16, 3), np.float32)
    assert math.isnan(image_metrics.hole_ssim(image, image, np.ones((1, 16, 16, 1)))[0])


def test_hole_ssim_of_a_batch_equals_that_of_each_image_alone():
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (5, 32, 32, 3)).astype(np.float32)
    references = np.clip(images + rng.normal(0, 0.3, images.shape), -1, 1).astype(np.float32)
    mask_batch = np.concatenate([masks.make_masks("center", 2, 32),
                                 masks.make_masks("thick", 2, 32, seed=3),
                                 np.ones((1, 32, 32, 1), np.float32)])
    batch = image_metrics.hole_ssim(images, references, mask_batch)
    alone = [image_metrics.hole_ssim(images[i:i + 1], references[i:i + 1], mask_batch[i:i + 1])[0]
             for i in range(5)]
    np.testing.assert_allclose(batch, alone, rtol=1e-6)
    assert np.isnan(batch[4]) and not np.isnan(batch[:4]).any()
