"""Paste and Poisson blending: known pixels unchanged, Poisson equals a reference sparse solve."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg
import tensorflow as tf

from dcgan_tf.inpainting import blend, masks


def _reference_poisson(image, generated, mask):
    """Direct sparse solve of the same discrete Poisson problem, one channel."""
    height, width = image.shape
    unknown = np.argwhere(mask == 0)
    index = {tuple(p): i for i, p in enumerate(unknown)}
    rows, cols, values = [], [], []
    rhs = np.zeros(len(unknown))
    for i, (y, x) in enumerate(unknown):
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if not (0 <= ny < height and 0 <= nx < width):
                continue  # Neumann: no condition across the border
            rows.append(i), cols.append(i), values.append(1.0)
            rhs[i] += generated[y, x] - generated[ny, nx]
            if mask[ny, nx] == 0:
                rows.append(i), cols.append(index[(ny, nx)]), values.append(-1.0)
            else:
                rhs[i] += image[ny, nx]
    matrix = scipy.sparse.csr_matrix((values, (rows, cols)), shape=(len(unknown),) * 2)
    result = image.copy()
    result[mask == 0] = scipy.sparse.linalg.spsolve(matrix, rhs)
    return result


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    images = rng.uniform(-0.4, 0.4, (2, 16, 16, 3)).astype(np.float32)
    generated = rng.uniform(-0.4, 0.4, (2, 16, 16, 3)).astype(np.float32)
    mask = np.stack([masks.center(16), masks.strokes(16, rng, "thick")])
    return images, generated, mask


def test_paste_takes_known_pixels_from_the_image(problem):
    images, generated, mask = problem
    pasted = np.asarray(blend.paste(images, generated, mask))
    np.testing.assert_array_equal(pasted[mask[..., 0] == 1], images[mask[..., 0] == 1])
    np.testing.assert_array_equal(pasted[mask[..., 0] == 0], generated[mask[..., 0] == 0])


def test_poisson_matches_a_sparse_direct_solve(problem):
    images, generated, mask = problem
    blended = blend.poisson(images, generated, mask, tolerance=1e-7).numpy()
    for b in range(2):
        for c in range(3):
            expected = _reference_poisson(images[b, ..., c].astype(np.float64),
                                          generated[b, ..., c].astype(np.float64),
                                          mask[b, ..., 0])
            np.testing.assert_allclose(blended[b, ..., c], np.clip(expected, -1, 1), atol=2e-4)


def test_poisson_keeps_known_pixels_exactly_and_matches_the_boundary(problem):
    images, generated, mask = problem
    blended = blend.poisson(images, generated, mask).numpy()
    known = mask[..., 0] == 1
    np.testing.assert_array_equal(blended[known], images[known])
    as_uint8 = np.rint((blended + 1) * 127.5)
    np.testing.assert_array_equal(as_uint8[known], np.rint((images[known] + 1) * 127.5))


def test_poisson_of_a_shifted_fill_recovers_the_surroundings():
    # G(z) = image + constant offset: same gradients, so the blend removes the seam entirely.
    image = np.tile(np.linspace(-0.5, 0.5, 16, dtype=np.float32), (16, 1))[None, ..., None]
    mask = masks.center(16)[None]
    blended = blend.poisson(image, image + 0.3, mask).numpy()
    np.testing.assert_allclose(blended, image, atol=1e-4)


def test_all_missing_mask_gives_the_generated_image():
    generated = tf.random.uniform([1, 8, 8, 3], -1, 1)
    blended = blend.poisson(tf.zeros([1, 8, 8, 3]), generated, tf.zeros([1, 8, 8, 1]))
    np.testing.assert_allclose(blended, generated, atol=1e-6)
