"""The FID Inception network's wiring and input scaling (random weights: the real weights file
is never needed here)."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf.evaluation import inception


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
