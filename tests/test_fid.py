"""FID and KID maths, and the FID Inception network's wiring and input scaling (random weights:
the real weights file is never needed here)."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from dcgan_tf import inception, metrics


def _random_covariance(rng, dim):
    factor = rng.normal(size=(dim, dim))
    return factor @ factor.T / dim + 0.1 * np.eye(dim)


def test_identical_feature_sets_have_zero_fid():
    features = np.random.default_rng(0).normal(size=(500, 16)) * 3 + 1
    assert abs(metrics.fid(features, features)) < 1e-8


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    expected = (np.sum((mean_a - mean_b) ** 2)
                + np.sum(var_a + var_b - 2 * np.sqrt(var_a * var_b)))  # 5 + (1 + 1 + 0)
    got = metrics.frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert got == pytest.approx(expected, abs=1e-10)
    assert expected == pytest.approx(7.0)


def test_frechet_distance_matches_scipy_sqrtm_for_full_covariances():
    rng = np.random.default_rng(1)
    cov_a, cov_b = _random_covariance(rng, 12), _random_covariance(rng, 12)
    mean_a, mean_b = rng.normal(size=12), rng.normal(size=12)
    reference = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                 - 2 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b)).real)
    assert metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(reference,
                                                                                   rel=1e-9)


def test_fid_of_samples_approaches_the_gaussians_distance():
    rng = np.random.default_rng(2)
    cov_a, cov_b = _random_covariance(rng, 4), _random_covariance(rng, 4)
    mean_a, mean_b = np.zeros(4), np.array([1.0, 0.0, -1.0, 0.5])
    a = rng.multivariate_normal(mean_a, cov_a, size=200_000)
    b = rng.multivariate_normal(mean_b, cov_b, size=200_000)
    expected = metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b)
    assert metrics.fid(a, b) == pytest.approx(expected, rel=0.02)


def test_fid_rejects_too_few_rows():
    with pytest.raises(ValueError, match="N >= 2"):
        metrics.fid(np.ones((1, 3)), np.ones((5, 3)))


def _biased_mmd2(a, b):
    kernel = metrics._polynomial_kernel
    return kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean()


def test_kid_is_unbiased_for_equal_distributions():
    """Small subsets of two samples of one distribution: the unbiased estimator averages to 0
    (within its standard error), where the biased V-statistic is clearly positive."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4000, 8)), rng.normal(size=(4000, 8))
    mean, std = metrics.kid(a, b, subsets=400, subset_size=20, seed=0)
    standard_error = std / np.sqrt(400)
    assert abs(mean) < 3 * standard_error
    biased = np.mean([_biased_mmd2(a[i:i + 20], b[i:i + 20]) for i in range(0, 4000, 20)])
    assert biased > 10 * standard_error


def test_kid_on_small_subsets_agrees_with_a_large_sample_estimate():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(4000, 8)), rng.normal(0.3, 1.2, size=(4000, 8))
    reference = metrics._unbiased_mmd2(a, b)
    mean, std = metrics.kid(a, b, subsets=400, subset_size=25, seed=1)
    assert reference > 0.1
    assert abs(mean - reference) < 4 * std / np.sqrt(400)


def test_kid_grows_with_a_shift_and_needs_two_rows():
    features = np.random.default_rng(5).normal(size=(300, 6))
    same, same_std = metrics.kid(features, features, subsets=20, subset_size=100)
    shifted, _ = metrics.kid(features, features + 0.5, subsets=20, subset_size=100)
    assert abs(same) < 3 * same_std
    assert shifted > 10 * same_std
    with pytest.raises(ValueError, match="at least 2"):
        metrics.kid(features[:1], features)


@pytest.fixture(scope="module")
def random_inception():
    return inception.FeatureExtractor(None, batch_size=4)


def test_last_block_pool_is_a_stride_one_max_pool(random_inception):
    model = random_inception.model
    pools = [layer for layer in model.layers
             if isinstance(layer, (tf.keras.layers.AveragePooling2D,
                                   tf.keras.layers.MaxPooling2D))]
    last = pools[-1]
    assert type(last).__name__ == "MaxPooling2D"
    assert last.pool_size == (3, 3) and last.strides == (1, 1) and last.padding == "same"
    assert [type(p).__name__ for p in pools].count("AveragePooling2D") == 8  # the other blocks
    assert model.output_shape == (None, inception.FEATURE_DIM)


def test_features_of_uint8_and_float_inputs_agree(random_inception):
    pixels = np.random.default_rng(6).integers(0, 256, size=(3, 16, 16, 3), dtype=np.uint8)
    from_uint8 = random_inception(pixels)
    from_float = random_inception(pixels.astype(np.float32) / 127.5 - 1.0)
    assert from_uint8.shape == (3, inception.FEATURE_DIM) and from_uint8.dtype == np.float64
    np.testing.assert_allclose(from_uint8, from_float, rtol=1e-4, atol=1e-5)
    assert np.ptp(from_uint8, axis=0).max() > 0  # different images, different features


def test_preprocess_resizes_without_half_pixel_centres_and_scales():
    image = np.random.default_rng(7).integers(0, 256, size=(1, 2, 5, 3), dtype=np.uint8)
    got = inception.preprocess(image).numpy()[0]
    size = inception.INPUT_SIZE

    def source_weights(out_index, in_size):  # TF1 ResizeBilinear: x_in = x_out * in / out
        position = out_index * in_size / size
        low = min(int(np.floor(position)), in_size - 1)
        high = min(low + 1, in_size - 1)
        return low, high, position - low

    for row, col in [(0, 0), (75, 75), (150, 37), (298, 298)]:
        r0, r1, fr = source_weights(row, 2)
        c0, c1, fc = source_weights(col, 5)
        pixels = image[0].astype(np.float64)
        top = pixels[r0, c0] * (1 - fc) + pixels[r0, c1] * fc
        bottom = pixels[r1, c0] * (1 - fc) + pixels[r1, c1] * fc
        expected = ((top * (1 - fr) + bottom * fr) - 128) / 128
        np.testing.assert_allclose(got[row, col], expected, atol=1e-4)
    assert inception.preprocess(np.full((1, 4, 4, 3), 128, np.uint8)).numpy().max() == 0


def test_weights_file_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="not found: .*missing.weights.h5"):
        inception.build_fid_inception(str(tmp_path / "missing.weights.h5"))
    wrong = tmp_path / "wrong.weights.h5"
    tiny = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    tiny.save_weights(str(wrong))
    with pytest.raises(ValueError, match="wrong.weights.h5 does not hold FID Inception"):
        inception.build_fid_inception(str(wrong))
