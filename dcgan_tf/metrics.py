"""Image quality metrics.

Completion against ground truth: PSNR, SSIM and L1, on the whole image and on the hole. Images are
float [N, H, W, 3] in [-1, 1] (a peak-to-peak range of 2); masks [N, H, W, 1] with
1 = known, so the hole is where the mask is 0. Hole SSIM is computed on the bounding box of the
hole (SSIM needs neighbourhoods, so it cannot be restricted to scattered pixels).

Distributions of images: FID (Frechet distance of Gaussians fitted to Inception features) and KID
(unbiased squared MMD with the cubic polynomial kernel), from feature arrays [N, D]; see
``dcgan_tf.inception`` for the features.
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
    """SSIM on each image's hole bounding box; NaN for an image without a hole."""
    scores = []
    for image, reference, mask in zip(images, references, np.asarray(masks)):
        rows, cols = np.nonzero(mask[..., 0] == 0)
        if rows.size == 0:
            scores.append(np.nan)
            continue
        box = np.s_[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        window = min(11, *image[box].shape[:2])  # small holes get a smaller window
        crops = [tf.constant(x[box][None], tf.float32) for x in (image, reference)]
        scores.append(float(tf.image.ssim(*crops, max_val=_RANGE, filter_size=window)[0]))
    return np.array(scores)


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


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased covariance [D, D] of features [N, D] (N >= 2), in float64."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need features [N >= 2, D], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mean_a, cov_a, mean_b, cov_b) -> float:
    """Squared Frechet (2-Wasserstein) distance between N(mean_a, cov_a) and N(mean_b, cov_b):
    ``|mean_a - mean_b|^2 + tr(cov_a + cov_b - 2 (cov_a cov_b)^(1/2))``.

    The trace of the matrix square root is the sum of the square roots of the eigenvalues of the
    symmetric PSD matrix ``cov_a^(1/2) cov_b cov_a^(1/2)`` (the same eigenvalues as
    ``cov_a cov_b``); small negative eigenvalues from rounding are clipped to zero.
    """
    root_a = _psd_sqrt(np.asarray(cov_a, np.float64))
    middle = root_a @ np.asarray(cov_b, np.float64) @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    difference = np.asarray(mean_a, np.float64) - np.asarray(mean_b, np.float64)
    return float(difference @ difference + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def fid(features_a, features_b) -> float:
    """Frechet Inception Distance between two sets of features [N, D] (biased upward at small N:
    report N with it)."""
    return frechet_distance(*feature_statistics(features_a), *feature_statistics(features_b))


def kid(features_a, features_b, *, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and standard deviation over random subsets of the unbiased
    squared MMD with the kernel ``k(x, y) = (x.y / D + 1)^3``.

    Args:
        features_a, features_b: [N_a, D] and [N_b, D]; each subset draws ``min(subset_size,
            N_a, N_b)`` rows of each without replacement.
        subsets: how many subsets to average.
        seed: of the subset draws.

    Returns:
        (mean, std) of the subset estimates; the mean is an unbiased estimate of MMD^2 (it can be
        slightly negative when the distributions are equal).
    """
    features_a = np.asarray(features_a, np.float64)
    features_b = np.asarray(features_b, np.float64)
    size = min(subset_size, len(features_a), len(features_b))
    if size < 2:
        raise ValueError("KID needs at least 2 feature rows on each side")
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(subsets):
        a = features_a[rng.choice(len(features_a), size, replace=False)]
        b = features_b[rng.choice(len(features_b), size, replace=False)]
        estimates.append(_unbiased_mmd2(a, b))
    return float(np.mean(estimates)), float(np.std(estimates))


def _polynomial_kernel(x, y) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(a, b) -> float:
    """Unbiased MMD^2 of two equal-size samples: within-set means leave out the diagonal."""
    n = len(a)
    within_a = _polynomial_kernel(a, a)
    within_b = _polynomial_kernel(b, b)
    across = _polynomial_kernel(a, b)
    off_diagonal = (within_a.sum() - np.trace(within_a) + within_b.sum() - np.trace(within_b))
    return float(off_diagonal / (n * (n - 1)) - 2 * across.mean())


def _psd_sqrt(matrix) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
