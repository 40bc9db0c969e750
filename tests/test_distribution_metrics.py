"""Metrics of image sets: FID and KID maths, and the realism of completions (U-IDS / P-IDS by the
held-out protocol, FID / KID against the other half) on synthetic feature vectors."""

import numpy as np
import pytest
import scipy.linalg
from sklearn import svm

from dcgan_tf.evaluation import distribution_metrics


def _random_covariance(rng, dim):
    factor = rng.normal(size=(dim, dim))
    return factor @ factor.T / dim + 0.1 * np.eye(dim)


def test_identical_feature_sets_have_zero_fid():
    features = np.random.default_rng(0).normal(size=(500, 16)) * 3 + 1
    assert abs(distribution_metrics.fid(features, features)) < 1e-8


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 0.25])
    expected = (np.sum((mean_a - mean_b) ** 2)
                + np.sum(var_a + var_b - 2 * np.sqrt(var_a * var_b)))  # 5 + (1 + 1 + 0)
    got = distribution_metrics.frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert got == pytest.approx(expected, abs=1e-10)
    assert expected == pytest.approx(7.0)


def test_frechet_distance_matches_scipy_sqrtm_for_full_covariances():
    rng = np.random.default_rng(1)
    cov_a, cov_b = _random_covariance(rng, 12), _random_covariance(rng, 12)
    mean_a, mean_b = rng.normal(size=12), rng.normal(size=12)
    reference = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                 - 2 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b)).real)
    distance = distribution_metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b)
    assert distance == pytest.approx(reference, rel=1e-9)


def test_fid_of_samples_approaches_the_gaussians_distance():
    rng = np.random.default_rng(2)
    cov_a, cov_b = _random_covariance(rng, 4), _random_covariance(rng, 4)
    mean_a, mean_b = np.zeros(4), np.array([1.0, 0.0, -1.0, 0.5])
    a = rng.multivariate_normal(mean_a, cov_a, size=200_000)
    b = rng.multivariate_normal(mean_b, cov_b, size=200_000)
    expected = distribution_metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b)
    assert distribution_metrics.fid(a, b) == pytest.approx(expected, rel=0.02)


def test_fid_rejects_too_few_rows():
    with pytest.raises(ValueError, match="N >= 2"):
        distribution_metrics.fid(np.ones((1, 3)), np.ones((5, 3)))


def _biased_mmd2(a, b):
    kernel = distribution_metrics._polynomial_kernel
    return kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean()


def test_kid_is_unbiased_for_equal_distributions():
    """Small subsets of two samples of one distribution: the unbiased estimator averages to 0
    (within its standard error), where the biased V-statistic is clearly positive."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4000, 8)), rng.normal(size=(4000, 8))
    mean, std = distribution_metrics.kid(a, b, subsets=400, subset_size=20, seed=0)
    standard_error = std / np.sqrt(400)
    assert abs(mean) < 3 * standard_error
    biased = np.mean([_biased_mmd2(a[i:i + 20], b[i:i + 20]) for i in range(0, 4000, 20)])
    assert biased > 10 * standard_error


def test_kid_on_small_subsets_agrees_with_a_large_sample_estimate():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(4000, 8)), rng.normal(0.3, 1.2, size=(4000, 8))
    reference = distribution_metrics._unbiased_mmd2(a, b)
    mean, std = distribution_metrics.kid(a, b, subsets=400, subset_size=25, seed=1)
    assert reference > 0.1
    assert abs(mean - reference) < 4 * std / np.sqrt(400)


def test_kid_grows_with_a_shift_and_needs_two_rows():
    features = np.random.default_rng(5).normal(size=(300, 6))
    same, same_std = distribution_metrics.kid(features, features, subsets=20, subset_size=100)
    shifted, _ = distribution_metrics.kid(features, features + 0.5, subsets=20, subset_size=100)
    assert abs(same) < 3 * same_std
    assert shifted > 10 * same_std
    with pytest.raises(ValueError, match="at least 2"):
        distribution_metrics.kid(features[:1], features)


def _draws(seed, count, dim):
    """Two independent draws [count, dim] of one Gaussian, as (completed, originals)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, dim)), rng.normal(size=(count, dim))


def test_two_draws_of_one_distribution_are_indistinguishable():
    completed, originals = _draws(0, 4000, 16)  # 2,000 a side
    u_ids, p_ids = distribution_metrics.discriminative_scores(completed, originals)
    assert abs(u_ids - 0.5) < 0.05 and abs(p_ids - 0.5) < 0.05


def test_fewer_images_than_dimensions_still_give_one_half_held_out():
    completed, originals = _draws(1, 600, 2048)  # 300 a side at 2,048-d
    features = np.concatenate([completed[:300], originals[300:]])
    labels = np.repeat([0, 1], 300)
    in_sample = svm.LinearSVC(C=distribution_metrics.IDS_C).fit(features, labels).score(features,
                                                                                        labels)
    assert in_sample == 1.0  # the trap: scored on its own fit, U-IDS would be 0
    u_ids, p_ids = distribution_metrics.discriminative_scores(completed, originals)
    assert abs(u_ids - 0.5) < 0.05 and abs(p_ids - 0.5) < 0.05


def test_clearly_different_sets_are_told_apart():
    completed, originals = _draws(2, 400, 16)
    u_ids, p_ids = distribution_metrics.discriminative_scores(completed + 2.0, originals)
    assert u_ids < 0.01 and p_ids < 0.01  # 8 standard deviations apart


def test_p_ids_sees_a_small_change_made_to_every_pair():
    _, originals = _draws(3, 4000, 16)
    shifted = originals.copy()
    shifted[:, 0] += 0.3  # 0.3 standard deviations along one axis
    u_ids, p_ids = distribution_metrics.discriminative_scores(shifted, originals)
    assert u_ids > 0.4  # unpaired, the two sets overlap almost entirely
    assert p_ids < 0.02  # paired, every completion scores less real than its original


def test_completions_equal_to_their_originals_give_the_real_against_real_reference():
    _, originals = _draws(4, 1001, 16)  # odd: the last pair is left out
    scores = distribution_metrics.realism(originals, originals, subsets=10)
    assert scores["num_per_side"] == 500
    assert scores["p_ids"] == 0.5  # every pair ties
    assert abs(scores["u_ids"] - 0.5) < 0.05
    # Against the other half, not against themselves: FID is that of two real halves.
    halves_fid = distribution_metrics.fid(originals[:500], originals[500:1000])
    assert scores["fid"] == pytest.approx(halves_fid) and scores["fid"] > 0.01
    shifted = distribution_metrics.realism(originals + 0.5, originals, subsets=10)
    assert shifted["fid"] > 3 * scores["fid"] and shifted["kid"] > 10 * abs(scores["kid"])


def test_realism_refuses_too_few_images_and_unpaired_arrays():
    completed, originals = _draws(5, 2 * distribution_metrics.MIN_IDS_SIDE - 1, 4)
    with pytest.raises(ValueError, match="need 200 images a side"):
        distribution_metrics.discriminative_scores(completed, originals)
    with pytest.raises(ValueError, match="one shape"):
        distribution_metrics.realism(completed, originals[:-1])
