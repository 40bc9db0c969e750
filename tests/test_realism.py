"""Realism of completions (metrics.realism, metrics.discriminative_scores) on synthetic feature
vectors: the held-out U-IDS / P-IDS protocol and FID / KID against the other half."""

import numpy as np
import pytest
from sklearn import svm

from dcgan_tf import metrics


def _draws(seed, count, dim):
    """Two independent draws [count, dim] of one Gaussian, as (completed, originals)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, dim)), rng.normal(size=(count, dim))


def test_two_draws_of_one_distribution_are_indistinguishable():
    completed, originals = _draws(0, 4000, 16)  # 2,000 a side
    u_ids, p_ids = metrics.discriminative_scores(completed, originals)
    assert abs(u_ids - 0.5) < 0.05 and abs(p_ids - 0.5) < 0.05


def test_fewer_images_than_dimensions_still_give_one_half_held_out():
    completed, originals = _draws(1, 600, 2048)  # 300 a side at 2,048-d
    features = np.concatenate([completed[:300], originals[300:]])
    labels = np.repeat([0, 1], 300)
    in_sample = svm.LinearSVC(C=metrics.IDS_C).fit(features, labels).score(features, labels)
    assert in_sample == 1.0  # the trap: scored on its own fit, U-IDS would be 0
    u_ids, p_ids = metrics.discriminative_scores(completed, originals)
    assert abs(u_ids - 0.5) < 0.05 and abs(p_ids - 0.5) < 0.05


def test_clearly_different_sets_are_told_apart():
    completed, originals = _draws(2, 400, 16)
    u_ids, p_ids = metrics.discriminative_scores(completed + 2.0, originals)
    assert u_ids < 0.01 and p_ids < 0.01  # 8 standard deviations apart


def test_p_ids_sees_a_small_change_made_to_every_pair():
    _, originals = _draws(3, 4000, 16)
    shifted = originals.copy()
    shifted[:, 0] += 0.3  # 0.3 standard deviations along one axis
    u_ids, p_ids = metrics.discriminative_scores(shifted, originals)
    assert u_ids > 0.4  # unpaired, the two sets overlap almost entirely
    assert p_ids < 0.02  # paired, every completion scores less real than its original


def test_completions_equal_to_their_originals_give_the_real_against_real_reference():
    _, originals = _draws(4, 1001, 16)  # odd: the last pair is left out
    scores = metrics.realism(originals, originals, subsets=10)
    assert scores["num_per_side"] == 500
    assert scores["p_ids"] == 0.5  # every pair ties
    assert abs(scores["u_ids"] - 0.5) < 0.05
    # Against the other half, not against themselves: FID is that of two real halves.
    halves_fid = metrics.fid(originals[:500], originals[500:1000])
    assert scores["fid"] == pytest.approx(halves_fid) and scores["fid"] > 0.01
    shifted = metrics.realism(originals + 0.5, originals, subsets=10)
    assert shifted["fid"] > 3 * scores["fid"] and shifted["kid"] > 10 * abs(scores["kid"])


def test_realism_refuses_too_few_images_and_unpaired_arrays():
    completed, originals = _draws(5, 2 * metrics.MIN_IDS_SIDE - 1, 4)
    with pytest.raises(ValueError, match="need 200 images a side"):
        metrics.discriminative_scores(completed, originals)
    with pytest.raises(ValueError, match="one shape"):
        metrics.realism(completed, originals[:-1])
