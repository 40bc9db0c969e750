"""Differentiable augmentation (DiffAugment; Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training") of every image the discriminator sees, real and generated.

The transformations are made of differentiable TensorFlow ops (additions, multiplications by
random factors and masks, gathers), so the generator's gradient flows through them. Randomness
comes from stateless ops keyed by a seed tensor: a run is reproducible, the graph holds no random
state (fine under ``tf.function``, XLA and ``tf.distribute``), and each image of a batch gets its
own draw. XLA-compiled code draws other numbers for the same seed than TensorFlow's kernels do
(from the same distributions), so runs are reproducible within one compilation mode.

Images are [B, H, W, C] float32 in [-1, 1], as in the paper's own code (StyleGAN2 and BigGAN
feed the discriminator images in [-1, 1]); so the paper's ranges apply unchanged:

- color: brightness x + U(-0.5, 0.5) (a quarter of the [-1, 1] range, i.e. +-0.25 in [0, 1]
  units), then saturation (x - per-pixel channel mean) * U(0, 2) + that mean, then contrast
  (x - image mean) * U(0.5, 1.5) + that mean. Saturation and contrast are the same on any affine
  rescaling of the range, so only brightness depends on it. Nothing is clipped: outputs may leave
  [-1, 1].
- translation: integer shifts in [-H/8, H/8] rows and [-W/8, W/8] columns; the pixels it brings
  in from outside are 0, which is mid-grey on the [-1, 1] scale (as in the paper).
- cutout: one H/2 x W/2 rectangle set to 0 (mid-grey), centred on a random pixel, clipped at the
  border.
"""

import tensorflow as tf

POLICIES = ("translation", "cutout", "color")  # names for --augment
_ORDER = ("color", "translation", "cutout")  # the order of application, as in the paper
BRIGHTNESS = 0.5  # brightness shift drawn from U(-BRIGHTNESS, BRIGHTNESS), in [-1, 1] units
TRANSLATION_RATIO = 0.125  # largest shift, as a fraction of the image side
CUTOUT_RATIO = 0.5  # side of the cut rectangle, as a fraction of the image side


def parse_policy(text: str) -> tuple[str, ...]:
    """The policy of an ``--augment`` flag value.

    Args:
        text: comma-separated names from POLICIES, e.g. "translation,cutout,color" (spaces around
            names are ignored); "" or "none" for no augmentation.

    Returns:
        The names in the order of POLICIES, e.g. ("translation", "cutout", "color"); () for none.

    Raises:
        ValueError: for an unknown name or a repeated one.
    """
    if text.strip() in ("", "none"):
        return ()
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in POLICIES:
            raise ValueError(f"--augment: unknown augmentation {name!r}; choose a comma-separated "
                             f"subset of {', '.join(POLICIES)}, or none")
        if names.count(name) > 1:
            raise ValueError(f"--augment: {name!r} is given more than once; choose a "
                             f"comma-separated subset of {', '.join(POLICIES)}, or none")
    return tuple(name for name in POLICIES if name in names)


def diff_augment(images: tf.Tensor, policy: tuple[str, ...], seed: tf.Tensor) -> tf.Tensor:
    """Applies the policy's transformations in the paper's order: color, translation, cutout.

    Args:
        images: [B, H, W, C] float in [-1, 1] (B may be dynamic).
        policy: names from POLICIES (any order), e.g. from ``parse_policy``.
        seed: int32 or int64 [2], the stateless-op seed; each transformation folds in its own
            constant, so it draws the same numbers whatever else is in the policy. Under a
            distribution strategy, fold the replica id into the seed for distinct draws per
            replica.

    Returns:
        [B, H, W, C] augmented images of the input's dtype; ``images`` itself for policy ().

    Raises:
        ValueError: for a name not in POLICIES.
    """
    unknown = sorted(set(policy) - set(POLICIES))
    if unknown:
        raise ValueError(f"unknown augmentations {unknown}; choose from {POLICIES}")
    transforms = {"color": _color, "translation": _translation, "cutout": _cutout}
    for index, name in enumerate(_ORDER):
        if name in policy:
            images = transforms[name](images, _fold(seed, index))
    return images


def _color(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random brightness, saturation and contrast, per image (see the module docstring).

    Args:
        images: [B, H, W, C] float, nominally in [-1, 1].
        seed: int [2] stateless-op seed.

    Returns:
        [B, H, W, C], not clipped.
    """
    brightness = _uniform_per_image(images, _fold(seed, 0), -BRIGHTNESS, BRIGHTNESS)
    saturation = _uniform_per_image(images, _fold(seed, 1), 0.0, 2.0)
    contrast = _uniform_per_image(images, _fold(seed, 2), 0.5, 1.5)
    images = images + brightness
    pixel_mean = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - pixel_mean) * saturation + pixel_mean
    image_mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - image_mean) * contrast + image_mean


def _translation(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Shifts each image by its own integer (dy, dx), |dy| <= round(H/8), |dx| <= round(W/8):
    output[b, i, j] = images[b, i - dy, j - dx], and 0 where that falls outside the image.

    Two batched gathers (rows, then columns) with clamped indices, then a 0/1 mask; the gradient
    is the gathers' scatter, masked.

    Args:
        images: [B, H, W, C] float.
        seed: int [2] stateless-op seed.

    Returns:
        [B, H, W, C].
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    rows, row_inside = _shifted_indices(batch, height, _fold(seed, 0))
    columns, column_inside = _shifted_indices(batch, width, _fold(seed, 1))
    shifted = tf.gather(images, rows, axis=1, batch_dims=1)
    shifted = tf.gather(shifted, columns, axis=2, batch_dims=1)
    inside = tf.logical_and(row_inside[:, :, None, None], column_inside[:, None, :, None])
    return shifted * tf.cast(inside, images.dtype)


def _cutout(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Sets one rectangle of round(H/2) x round(W/2) pixels per image to 0, centred on a uniformly
    drawn pixel (so it is clipped at the border when the centre is near it; never empty).

    Args:
        images: [B, H, W, C] float.
        seed: int [2] stateless-op seed.

    Returns:
        [B, H, W, C], images times a 0/1 mask.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    in_rows = _cut_span(batch, height, _fold(seed, 0))
    in_columns = _cut_span(batch, width, _fold(seed, 1))
    cut = tf.logical_and(in_rows[:, :, None, None], in_columns[:, None, :, None])
    return images * (1.0 - tf.cast(cut, images.dtype))


def _fold(seed: tf.Tensor, index: int) -> tf.Tensor:
    """A sub-seed: int [2], distinct for each index."""
    return tf.random.experimental.stateless_fold_in(seed, index)


def _uniform_per_image(images: tf.Tensor, seed: tf.Tensor, low: float, high: float) -> tf.Tensor:
    """[B, 1, 1, 1] draws from U(low, high), of the images' dtype."""
    shape = tf.stack([tf.shape(images)[0], 1, 1, 1])
    return tf.random.stateless_uniform(shape, seed, minval=low, maxval=high, dtype=images.dtype)


def _scaled(size: tf.Tensor, ratio: float) -> tf.Tensor:
    """round(size * ratio) as int32, halves rounded up."""
    return tf.cast(tf.floor(tf.cast(size, tf.float32) * ratio + 0.5), tf.int32)


def _shifted_indices(batch: tf.Tensor, size: tf.Tensor, seed: tf.Tensor):
    """Source indices along one axis of length ``size`` for a random shift per image.

    Returns:
        indices: [B, size] int32, i - shift clamped to [0, size - 1].
        inside: [B, size] bool, whether i - shift lies in the image.
    """
    limit = _scaled(size, TRANSLATION_RATIO)
    shift = tf.random.stateless_uniform([batch, 1], seed, minval=-limit, maxval=limit + 1,
                                        dtype=tf.int32)
    source = tf.range(size)[None, :] - shift
    inside = tf.logical_and(source >= 0, source < size)
    return tf.clip_by_value(source, 0, size - 1), inside


def _cut_span(batch: tf.Tensor, size: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """[B, size] bool, the cut rectangle's extent along one axis of length ``size``: round(size/2)
    consecutive indices around a centre drawn uniformly from [0, size), clipped to the image."""
    length = _scaled(size, CUTOUT_RATIO)
    centre = tf.random.stateless_uniform([batch, 1], seed, minval=0, maxval=size, dtype=tf.int32)
    start = centre - length // 2
    index = tf.range(size)[None, :]
    return tf.logical_and(index >= start, index < start + length)
