"""DiffAugment: each transformation recovered exactly from its output (shift, rectangle, colour
factors), the drawn parameters' ranges, gradients, determinism, tf.function/XLA and
MirroredStrategy; and in the DCGAN, every image D sees augmented with draws of its own."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import FACES
from dcgan_tf.models import augment, gan, networks
from dcgan_tf.models.augment import POLICIES, diff_augment, parse_policy

_SINGLE_POLICIES = [(name,) for name in POLICIES]


def _seed(*words):
    return tf.constant(words, tf.int64)


def _positive_images(shape, seed=0):
    """Values in [0.5, 1]: never 0, so zeros in an output are the augmentation's."""
    return np.random.default_rng(seed).uniform(0.5, 1.0, shape).astype(np.float32)


def _shift(image, dy, dx):
    """image [H, W, ...] moved down by dy and right by dx, zeros brought in."""
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    out[max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = (
        image[max(-dy, 0):height - max(dy, 0), max(-dx, 0):width - max(dx, 0)])
    return out


def _shifts_matching(image, augmented, search):
    """All (dy, dx) with |dy|, |dx| <= search that turn image into augmented exactly."""
    return [(dy, dx) for dy in range(-search, search + 1) for dx in range(-search, search + 1)
            if np.array_equal(_shift(image, dy, dx), augmented)]


def _cut_box(image, augmented):
    """(top, bottom, left, right) (inclusive) of the zeroed rectangle, after checking that the
    output is the input with exactly one axis-aligned rectangle set to 0 in every channel."""
    zero = np.all(augmented == 0, axis=-1)
    np.testing.assert_array_equal(augmented[~zero], image[~zero])
    rows, columns = np.flatnonzero(zero.any(axis=1)), np.flatnonzero(zero.any(axis=0))
    assert rows.size and columns.size, "no cut rectangle"
    top, bottom, left, right = rows[0], rows[-1], columns[0], columns[-1]
    assert zero[top:bottom + 1, left:right + 1].all() and zero.sum() == (
        (bottom - top + 1) * (right - left + 1)), "zeros are not one rectangle"
    return top, bottom, left, right


# parse_policy

@pytest.mark.parametrize("text, expected", [
    ("translation,cutout,color", ("translation", "cutout", "color")),
    ("color,translation,cutout", ("translation", "cutout", "color")),
    ("color, cutout", ("cutout", "color")),
    ("cutout", ("cutout",)),
    ("", ()),
    ("none", ()),
])
def test_parse_policy_canonical_order(text, expected):
    assert parse_policy(text) == expected


@pytest.mark.parametrize("text", ["flip", "color,color", "translation,,cutout", "Color",
                                  "none,color"])
def test_parse_policy_rejects_unknown_and_repeated_names(text):
    with pytest.raises(ValueError, match="--augment") as error:
        parse_policy(text)
    assert all(name in str(error.value) for name in POLICIES)


# diff_augment: general

def test_empty_policy_returns_the_input_tensor():
    images = tf.zeros([2, 8, 8, 3])
    assert diff_augment(images, (), _seed(1, 2)) is images


def test_unknown_policy_name_raises():
    with pytest.raises(ValueError, match="flip"):
        diff_augment(tf.zeros([1, 8, 8, 3]), ("color", "flip"), _seed(0, 0))


@pytest.mark.parametrize("policy", _SINGLE_POLICIES + [POLICIES])
def test_same_seed_same_output_other_seed_other_output(policy):
    images = tf.constant(_positive_images([4, 16, 16, 3]))
    first = diff_augment(images, policy, _seed(3, 4)).numpy()
    assert first.shape == (4, 16, 16, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, diff_augment(images, policy, _seed(3, 4)).numpy())
    assert not np.array_equal(first, diff_augment(images, policy, _seed(3, 5)).numpy())
    int32_seed = diff_augment(images, policy, tf.constant([3, 4], tf.int32)).numpy()
    np.testing.assert_array_equal(first, int32_seed)


@pytest.mark.parametrize("policy", _SINGLE_POLICIES)
def test_each_image_of_a_batch_gets_its_own_draw(policy):
    images = tf.constant(np.repeat(_positive_images([1, 16, 16, 3]), 8, axis=0))
    out = diff_augment(images, policy, _seed(0, 7)).numpy()
    distinct = {out[i].tobytes() for i in range(8)}
    assert len(distinct) >= 6  # a few coincidences are possible for the integer draws


def test_order_is_canonical_whatever_the_tuple_order():
    images = tf.constant(_positive_images([4, 16, 16, 3]))
    np.testing.assert_array_equal(diff_augment(images, ("cutout", "translation", "color"),
                                               _seed(9, 9)),
                                  diff_augment(images, POLICIES, _seed(9, 9)))


def test_full_policy_is_color_then_translation_then_cutout():
    """A constant grey image: colour makes it another constant v (brightness only), translation
    brings in zeros, cutout zeros a rectangle, so every pixel is v or 0. Applied the other way
    round, colour would move the zeros off 0 and the image would have more than two values."""
    images = tf.fill([16, 32, 32, 3], 0.4)
    out = diff_augment(images, POLICIES, _seed(5, 1)).numpy()
    for image in out:
        values = np.unique(image)
        assert len(values) <= 2 and 0.0 in values


# translation

def test_translation_is_an_integer_shift_within_an_eighth_with_zero_fill():
    height, width = 32, 16  # limits 4 rows, 2 columns: a non-square image catches swapped axes
    images = _positive_images([128, height, width, 3])
    out = diff_augment(tf.constant(images), ("translation",), _seed(2, 0)).numpy()
    found = []
    for image, augmented in zip(images, out):
        matches = _shifts_matching(image, augmented, search=6)
        assert len(matches) == 1, matches
        found.append(matches[0])
    dys, dxs = zip(*found)
    assert set(dys) == set(range(-4, 5)) and set(dxs) == set(range(-2, 3))


def _weighted_sum_gradient(policy, seed):
    """(images, augmented, weights, d sum(augmented * weights) / d images) for 6 random
    16x16 images."""
    images = tf.constant(_positive_images([6, 16, 16, 3]))
    weights = _positive_images([6, 16, 16, 3], seed=1)
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = diff_augment(images, policy, seed)
        total = tf.reduce_sum(out * weights)
    return images.numpy(), out.numpy(), weights, tape.gradient(total, images).numpy()


def test_translation_gradient_is_the_inverse_shift_of_the_upstream_gradient():
    images, out, weights, gradient = _weighted_sum_gradient(("translation",), _seed(4, 4))
    for image, augmented, weight, grad in zip(images, out, weights, gradient):
        (dy, dx), = _shifts_matching(image, augmented, search=2)
        np.testing.assert_allclose(grad, _shift(weight, -dy, -dx), rtol=1e-6)


# cutout

def test_cutout_zeros_one_half_size_rectangle_clipped_at_the_border():
    height, width = 32, 16
    images = _positive_images([128, height, width, 3])
    out = diff_augment(tf.constant(images), ("cutout",), _seed(6, 0)).numpy()
    clipped = full = 0
    for image, augmented in zip(images, out):
        top, bottom, left, right = _cut_box(image, augmented)
        box_height, box_width = bottom - top + 1, right - left + 1
        # The centre is a pixel of the image, so at least half of each side is inside it.
        assert height // 4 <= box_height <= height // 2 and width // 4 <= box_width <= width // 2
        if 0 < top and bottom < height - 1:
            assert box_height == height // 2
        if 0 < left and right < width - 1:
            assert box_width == width // 2
        if (box_height, box_width) == (height // 2, width // 2):
            full += 1
        else:
            clipped += 1
    assert full > 10 and clipped > 10


def test_cutout_gradient_is_the_upstream_gradient_outside_the_rectangle():
    _, out, weights, gradient = _weighted_sum_gradient(("cutout",), _seed(8, 8))
    kept = out != 0
    np.testing.assert_array_equal(gradient, np.where(kept, weights, 0.0))
    assert (~kept).any()


# color

def test_color_on_a_constant_grey_image_only_shifts_brightness_unclipped():
    """Saturation and contrast leave a constant grey image alone; brightness moves it by b."""
    images = tf.fill([500, 4, 4, 3], 0.9)
    out = diff_augment(images, ("color",), _seed(1, 1)).numpy()
    np.testing.assert_allclose(out, out[:, :1, :1, :1] + np.zeros_like(out), atol=1e-6)
    brightness = out[:, 0, 0, 0] - 0.9
    assert brightness.min() >= -augment.BRIGHTNESS - 1e-6
    assert brightness.max() <= augment.BRIGHTNESS + 1e-6
    assert out.max() > 1.3  # not clipped to [-1, 1]


def test_color_factors_recovered_exactly_and_distributed_as_documented():
    """x = g + d, g grey (equal channels) and varying over the image, d coloured with zero mean
    over channels at every pixel. The documented brightness b, saturation s and contrast c give
    out = (g - mean(g) + s d) c + mean(g) + b, so the per-pixel channel mean of the output gives
    b and c, and what is left gives s."""
    rng = np.random.default_rng(0)
    count = 2000
    grey = rng.uniform(-0.5, 0.5, [4, 4, 1]).astype(np.float32)
    colour = rng.uniform(-0.3, 0.3, [4, 4, 3]).astype(np.float32)
    colour -= colour.mean(axis=-1, keepdims=True)
    images = np.broadcast_to(grey + colour, [count, 4, 4, 3])
    out = diff_augment(tf.constant(images), ("color",), _seed(2, 3)).numpy().astype(np.float64)

    grey_centred = grey - grey.mean()
    pixel_mean = out.mean(axis=-1, keepdims=True)
    brightness = pixel_mean.mean(axis=(1, 2, 3)) - grey.mean()
    centred = pixel_mean - pixel_mean.mean(axis=(1, 2, 3), keepdims=True)
    contrast = (centred * grey_centred).sum(axis=(1, 2, 3)) / (grey_centred ** 2).sum()
    saturation = ((out - pixel_mean) * colour).sum(axis=(1, 2, 3)) / (colour ** 2).sum() / contrast

    b, s, c = (v[:, None, None, None] for v in (brightness, saturation, contrast))
    np.testing.assert_allclose(out, (grey_centred + s * colour) * c + grey.mean() + b, atol=2e-5)
    for values, (low, high) in ((brightness, (-0.5, 0.5)), (saturation, (0.0, 2.0)),
                                (contrast, (0.5, 1.5))):
        span = high - low
        assert low - 1e-4 <= values.min() < low + 0.01 * span
        assert high - 0.01 * span < values.max() <= high + 1e-4
        np.testing.assert_allclose(np.quantile(values, [0.25, 0.5, 0.75]),
                                   low + span * np.array([0.25, 0.5, 0.75]), atol=0.04 * span)
    correlations = np.corrcoef([brightness, saturation, contrast])
    assert np.abs(correlations[np.triu_indices(3, 1)]).max() < 0.1  # independent draws


# whole policy: gradient, graph modes, strategies

def test_full_policy_gradient_is_finite_and_matches_finite_differences():
    """For a fixed seed the policy is affine in the images, so <grad, v> = <w, f(x + v) - f(x)>."""
    rng = np.random.default_rng(3)
    images = tf.constant(rng.uniform(-1, 1, [4, 16, 16, 3]).astype(np.float32))
    weights = tf.constant(rng.uniform(-1, 1, [4, 16, 16, 3]).astype(np.float32))
    direction = tf.constant(rng.uniform(-1, 1, [4, 16, 16, 3]).astype(np.float32))
    seed = _seed(7, 1)
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(diff_augment(images, POLICIES, seed) * weights)
    gradient = tape.gradient(total, images)
    assert np.all(np.isfinite(gradient.numpy())) and np.any(gradient.numpy() != 0)
    change = diff_augment(images + direction, POLICIES, seed) - diff_augment(images, POLICIES, seed)
    np.testing.assert_allclose(tf.reduce_sum(gradient * direction).numpy(),
                               tf.reduce_sum(weights * change).numpy(), rtol=1e-4)


def _augment_in_graph(images, seed, jit_compile):
    """diff_augment with each single-name policy and the full one, in one tf.function traced for
    any batch size: {policy: [B, 16, 16, 3]}."""
    policies = _SINGLE_POLICIES + [POLICIES]

    @tf.function(jit_compile=jit_compile, input_signature=[
        tf.TensorSpec([None, 16, 16, 3], tf.float32), tf.TensorSpec([2], tf.int64)])
    def augment_all(images, seed):
        return [diff_augment(images, policy, seed) for policy in policies]

    return dict(zip(policies, (out.numpy() for out in augment_all(images, seed))))


def test_tf_function_with_unknown_batch_matches_eager():
    images = tf.constant(_positive_images([5, 16, 16, 3]))
    for policy, out in _augment_in_graph(images, _seed(1, 5), jit_compile=False).items():
        np.testing.assert_allclose(out, diff_augment(images, policy, _seed(1, 5)), atol=1e-5)


def test_xla_compiles_and_keeps_each_transformation_exact():
    """XLA draws other random numbers than TensorFlow's kernels for the same seed, so its output
    is checked for what each transformation must do rather than against eager mode."""
    images = _positive_images([8, 16, 16, 3])
    images[-1] = 0.4  # a constant grey image: only its brightness may change
    outs = _augment_in_graph(images, _seed(1, 5), jit_compile=True)
    for image, augmented in zip(images[:-1], outs[("translation",)]):
        assert len(_shifts_matching(image, augmented, search=2)) == 1
    for image, augmented in zip(images, outs[("cutout",)]):
        top, bottom, left, right = _cut_box(image, augmented)
        assert bottom - top < 8 and right - left < 8
    grey = outs[("color",)][-1]
    np.testing.assert_allclose(grey, np.full_like(grey, grey[0, 0, 0]), atol=1e-6)
    assert np.all(np.isfinite(outs[POLICIES]))


def test_mirrored_strategy_replicas_draw_from_their_own_seeds(two_cpus):
    strategy = tf.distribute.MirroredStrategy(two_cpus)
    images = tf.constant(_positive_images([4, 16, 16, 3]))
    weights = tf.constant(_positive_images([4, 16, 16, 3], seed=1))
    base = _seed(11, 0)

    def replica_seed(replica_id):
        return tf.random.experimental.stateless_fold_in(base, replica_id)

    def replica_step():
        seed = replica_seed(tf.distribute.get_replica_context().replica_id_in_sync_group)
        with tf.GradientTape() as tape:
            tape.watch(images)
            out = diff_augment(images, POLICIES, seed)
            total = tf.reduce_sum(out * weights)
        return out, tape.gradient(total, images)

    outs, grads = tf.function(lambda: strategy.run(replica_step))()
    outs, grads = strategy.experimental_local_results(outs), strategy.experimental_local_results(
        grads)
    assert not np.array_equal(outs[0].numpy(), outs[1].numpy())
    for replica_id, (out, grad) in enumerate(zip(outs, grads)):
        np.testing.assert_allclose(out, diff_augment(images, POLICIES, replica_seed(replica_id)),
                                   atol=1e-6)
        assert np.all(np.isfinite(grad.numpy()))


def test_augmentation_reaches_the_discriminator_with_draws_of_its_own():
    keras.utils.set_random_seed(2)
    generator = networks.build_generator(8, 32, 4)
    discriminator = networks.build_discriminator(32, 4)
    plain = gan.DCGAN(generator, discriminator, seed=3)
    augmented = gan.DCGAN(generator, discriminator, seed=3, augment=("translation", "cutout"))
    for model in (plain, augmented):
        model.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
    images = tf.random.stateless_uniform([4, 32, 32, 3], [4, 5], -1, 1)
    assert not np.allclose(plain._discriminate(images, 0, fake=False).numpy(),
                           augmented._discriminate(images, 0, fake=False).numpy())
    np.testing.assert_array_equal(augmented._discriminate(images, 0, fake=False).numpy(),
                                  augmented._discriminate(images, 0, fake=False).numpy())
    assert not np.allclose(augmented._discriminate(images, 0, fake=False).numpy(),
                           augmented._discriminate(images, 0, fake=True).numpy())


def _generator_after_one_step(augment: tuple) -> list:
    keras.utils.set_random_seed(2)
    generator = networks.build_generator(8, 32, 4)
    model = gan.DCGAN(generator, networks.build_discriminator(32, 4), seed=3, augment=augment)
    model.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
    start = [weight.numpy() for weight in generator.trainable_weights]
    model.fit(tf.data.Dataset.from_tensor_slices(FACES[:8] / 127.5 - 1).batch(8).repeat(),
              steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
    return start, [weight.numpy() for weight in generator.trainable_weights]


def test_the_generator_learns_through_the_augmentation():
    """Every G weight moves in a step whose D saw G(z) only augmented (Keras refuses an update
    without gradients), and differently from a step without augmentation."""
    start, plain = _generator_after_one_step(())
    same_start, augmented = _generator_after_one_step(("translation", "cutout", "color"))
    for before, before_again, after_plain, after_augmented in zip(start, same_start, plain,
                                                                  augmented):
        np.testing.assert_array_equal(before, before_again)
        assert np.abs(after_augmented - before).max() > 0
    assert any(not np.allclose(a, b) for a, b in zip(plain, augmented))
