"""Metrics of sets of images (image-by-image comparisons are ``image_metrics``).

Distributions of images: FID (Frechet distance of Gaussians fitted to Inception features) and KID
(unbiased squared MMD with the cubic polynomial kernel), from feature arrays [N, D]; see
``inception`` for the features.

Realism of completions (``realism``, ``discriminative_scores``): FID, KID, U-IDS and P-IDS of
completed images against real faces that are not their own originals, by one fixed protocol
described in ``realism``. U-IDS / P-IDS need scikit-learn (the ``bench`` extra).
"""

import numpy as np

# The U-IDS / P-IDS protocol (``discriminative_scores``): cite these with every figure.
IDS_FOLDS = 5
IDS_C = 0.01  # LinearSVC's C on standardised features
IDS_SEED = 0  # of the fold assignment
MIN_IDS_SIDE = 200  # images a side (each half of the set) below which the figures are refused
RELIABLE_IDS_SIDE = 1000  # below this many a side the figures are noisy: warn


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


def realism(completed_features, original_features, **kid_options) -> dict:
    """FID, KID, U-IDS and P-IDS of completed images, each against real faces that are not
    their own originals.

    Protocol (fixed, so figures compare): the N pairs (completed image i, its original i) are
    split into halves A = pairs [0, n) and B = pairs [n, 2n), n = N // 2 (an odd last pair is
    left out). Each figure is the mean of two comparisons: completions of A against the real
    faces of B, and completions of B against the real faces of A. FID and KID use n images a
    side (FID is biased upward at small n: report n with it); U-IDS and P-IDS are
    ``discriminative_scores``.

    Args:
        completed_features: Inception pool features [N, D] of the completed images.
        original_features: [N, D] of their originals, row i the original of completion i.
        **kid_options: ``subsets``, ``subset_size`` or ``seed`` of ``kid`` (its defaults
            otherwise).

    Returns:
        {"fid", "kid", "u_ids", "p_ids", "num_per_side"}: floats, and n.

    Raises:
        ValueError: when n < ``MIN_IDS_SIDE`` or the arrays do not pair up.
    """
    own, other = _halves(completed_features, original_features)
    completed = np.asarray(completed_features, np.float64)
    originals = np.asarray(original_features, np.float64)
    fids, kids = [], []
    for first, second in ((own, other), (other, own)):
        fids.append(fid(completed[first], originals[second]))
        kids.append(kid(completed[first], originals[second], **kid_options)[0])
    u_ids, p_ids = discriminative_scores(completed, originals)
    return {"fid": float(np.mean(fids)), "kid": float(np.mean(kids)), "u_ids": u_ids,
            "p_ids": p_ids, "num_per_side": own.stop}


def discriminative_scores(completed_features, original_features) -> tuple[float, float]:
    """U-IDS and P-IDS (Zhao et al., CoModGAN, ICLR 2021), measured on held-out data.

    Protocol (every U-IDS / P-IDS figure of the project is this one; cite it with N):
    - halves as in ``realism``: completions of A are told from the real faces of B, and
      completions of B from the real faces of A, n images a side (n = N // 2 >=
      ``MIN_IDS_SIDE`` = 200; below ``RELIABLE_IDS_SIDE`` = 1,000 the figures are noisy);
    - a linear SVM (scikit-learn ``LinearSVC``, C = ``IDS_C`` = 0.01, its default squared
      hinge loss and intercept, ``random_state`` = ``IDS_SEED``) on features standardised to
      zero mean and unit variance per dimension (the scaler fitted on the training folds
      only), real = the positive class;
    - ``IDS_FOLDS`` = 5-fold stratified cross-validation (fold assignment shuffled with seed
      ``IDS_SEED`` = 0): each image's decision value comes from the SVM fitted on the other
      four folds, so no figure is measured on the images the SVM was fitted on. Fitted and
      scored in-sample, an SVM separates any two sets of fewer than D = 2,048 images a side
      (U-IDS 0 for real faces against other real faces): that estimate is not offered.

    U-IDS is the held-out error rate over both comparisons (0.5: indistinguishable, 0: told
    apart every time). P-IDS is the share of the 2n pairs whose completion gets a higher
    held-out decision value (scores more real) than its own original, both scored by the same
    fold's SVM, which saw neither; a tie counts one half (0.5: indistinguishable, 0: every
    completion less real than its original).

    Args:
        completed_features: Inception pool features [N, D] of the completed images.
        original_features: [N, D] of their originals, row i the original of completion i.

    Returns:
        (u_ids, p_ids), each in [0, 1].

    Raises:
        ValueError: when N // 2 < ``MIN_IDS_SIDE`` or the arrays do not pair up.
    """
    own, other = _halves(completed_features, original_features)
    completed = np.asarray(completed_features, np.float64)
    originals = np.asarray(original_features, np.float64)
    errors, wins = [], []
    for first, second in ((own, other), (other, own)):
        fake, real = completed[first], originals[second]
        fake_scores, real_scores, partner_scores = _held_out_decisions(fake, real,
                                                                       originals[first])
        errors.extend([fake_scores > 0, real_scores <= 0])
        wins.append((fake_scores > partner_scores) + 0.5 * (fake_scores == partner_scores))
    return float(np.concatenate(errors).mean()), float(np.concatenate(wins).mean())


def _halves(completed_features, original_features) -> tuple[slice, slice]:
    """The slices of halves A and B (``realism``), after checking the arrays pair up and each
    half holds ``MIN_IDS_SIDE`` images."""
    shapes = np.shape(completed_features), np.shape(original_features)
    if len(shapes[0]) != 2 or shapes[0] != shapes[1]:
        raise ValueError(f"need completed and original features of one shape [N, D], got "
                         f"{shapes[0]} and {shapes[1]}")
    side = shapes[0][0] // 2
    if side < MIN_IDS_SIDE:
        raise ValueError(f"realism figures need {MIN_IDS_SIDE} images a side, i.e. "
                         f"{2 * MIN_IDS_SIDE} completions with their originals; got "
                         f"{shapes[0][0]}")
    return slice(0, side), slice(side, 2 * side)


def _held_out_decisions(fake, real, partners) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Held-out SVM decision values (``discriminative_scores``' protocol).

    Args:
        fake: features [n, D] of completed images (label 0).
        real: [m, D] of real images (label 1), not the fakes' originals.
        partners: [n, D] of the fakes' originals, scored but never fitted on.

    Returns:
        Decision values (positive = real) of ``fake`` [n], ``real`` [m] and ``partners`` [n],
        each from the SVM whose training folds did not hold that row (for ``partners``: the
        SVM that scored its fake).
    """
    from sklearn import model_selection, pipeline, preprocessing, svm
    features = np.concatenate([fake, real])
    labels = np.concatenate([np.zeros(len(fake)), np.ones(len(real))])
    folds = model_selection.StratifiedKFold(IDS_FOLDS, shuffle=True, random_state=IDS_SEED)
    scores, partner_scores = np.empty(len(features)), np.empty(len(fake))
    for train, test in folds.split(features, labels):
        classifier = pipeline.make_pipeline(preprocessing.StandardScaler(),
                                            svm.LinearSVC(C=IDS_C, random_state=IDS_SEED))
        classifier.fit(features[train], labels[train])
        scores[test] = classifier.decision_function(features[test])
        fakes = test[test < len(fake)]
        partner_scores[fakes] = classifier.decision_function(partners[fakes])
    return scores[:len(fake)], scores[len(fake):], partner_scores


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
