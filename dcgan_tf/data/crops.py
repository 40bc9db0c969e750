"""Crop presets: which region of a decoded image a model sees, before it is resized to S x S.

Presets (``CROPS``, the ``--crop`` of completion and evaluation; training adds "align"):
    auto         CelebA's 178x218 frame -> the model's CelebA framing (``celeba_framing``:
                 "celeba" unless it trained on "celeba_face"), any other frame -> "center"
    celeba       the central 108x108 of CelebA's 178x218 frame, scaled for other widths
    celeba_face  the 144x144 square from row 50 of that frame, centred across: the whole face
                 with chin and hairline, for 128 px models; scaled for other sizes
    ffhq, none   the whole frame (not a square unless the frame is one: resizing to S x S
                 then squeezes it)
    center       the largest central square
    align        (training only, ``TRAIN_CROPS``) each photo's most confident face, aligned to
                 the landmark template of one of ``ALIGN_FRAMINGS`` (``training.inputs``)

The names import without TensorFlow (the scripts' ``--help`` and flag checks stay quick);
the crop functions import it when first called.
"""

CROPS = ("auto", "celeba", "celeba_face", "ffhq", "center", "none")
TRAIN_CROPS = CROPS + ("align",)  # align: the faces of photos, detected and aligned
# The framings --crop=align aligns faces to (--align_framing): the CelebA crops whose face
# template was measured (photo.align.TEMPLATES).
ALIGN_FRAMINGS = ("celeba", "celeba_face")
CELEBA_SIZE = (218, 178)  # height, width of CelebA's aligned images
CELEBA_CROP = 108  # side of the usual central crop of a 178-pixel-wide CelebA image
# "celeba_face": the whole face from hairline to chin, for 128 px models. On the mean of 2,000
# training images the hairline lies at y ~ 62 and the chin at y ~ 185 of the 218-pixel frame, so
# a 144 px square from y = 50 holds both with ~10 px to spare (144 -> 128 px only downsamples).
CELEBA_FACE_CROP = 144  # side, in a 178-pixel-wide frame; centred horizontally
CELEBA_FACE_TOP = 50  # top row, in a 218-pixel-high frame


def trained_framing(crop: str, align_framing: str = "celeba") -> str | None:
    """The CelebA framing (``ALIGN_FRAMINGS``) the faces of a run trained with ``--crop=crop``
    are in (``align_framing`` for "align"), or None for a crop that is none of them."""
    framing = align_framing if crop == "align" else crop
    return framing if framing in ALIGN_FRAMINGS else None


def celeba_framing(crop: str, align_framing: str = "celeba") -> str:
    """What "auto" cuts from CelebA's 178x218 frame for a model trained with ``--crop=crop``:
    its ``trained_framing``, else "celeba"."""
    return trained_framing(crop, align_framing) or "celeba"


def crop_and_resize(image, crop: str, image_size: int, celeba_framing: str = "celeba"):
    """Crops one decoded image by preset and resizes it.

    Args:
        image: uint8 [H, W, 3] (an array or a tensor).
        crop: one of ``CROPS``.
        image_size: output side S.
        celeba_framing: what "auto" cuts from a CelebA frame (``ALIGN_FRAMINGS``).

    Returns:
        uint8 tensor [S, S, 3], resized bilinearly with antialiasing.
    """
    import tensorflow as tf
    region = crop_region(image, crop, celeba_framing)
    resized = tf.image.resize(region, [image_size, image_size], method="bilinear",
                              antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def crop_region(image, crop: str, celeba_framing: str = "celeba"):
    """The crop preset's region of an image [H, W, C] (any dtype), as a tensor: a square, but
    the whole frame for "ffhq" and "none" (``region_box``)."""
    import tensorflow as tf
    image = tf.convert_to_tensor(image)
    shape = tf.shape(image)
    top, left, height, width = region_box(shape[0], shape[1], crop, celeba_framing)
    return tf.image.crop_to_bounding_box(image, top, left, height, width)


def region_box(height, width, crop: str, celeba_framing: str = "celeba") -> tuple:
    """The region (top, left, height, width) of the crop preset ``crop`` in an image of
    ``height`` x ``width`` pixels (ints or int32 tensors): a centred square (a square from
    ``CELEBA_FACE_TOP`` for "celeba_face"), or the whole frame for "ffhq" and "none";
    "auto" cuts ``celeba_framing`` from a CelebA frame.

    Raises:
        ValueError: naming --crop for an unknown preset, or an unknown ``celeba_framing``.
    """
    import tensorflow as tf
    height, width = tf.convert_to_tensor(height), tf.convert_to_tensor(width)
    if crop == "auto":
        if celeba_framing not in ALIGN_FRAMINGS:
            raise ValueError(f"the CelebA framing of --crop=auto must be one of "
                             f"{', '.join(ALIGN_FRAMINGS)}; got {celeba_framing!r}")
        is_celeba = tf.logical_and(tf.equal(height, CELEBA_SIZE[0]),
                                   tf.equal(width, CELEBA_SIZE[1]))
        framed = region_box(height, width, celeba_framing)
        centred = region_box(height, width, "center")
        return tuple(tf.where(is_celeba, a, b) for a, b in zip(framed, centred))
    elif crop == "celeba":
        side = tf.minimum(_celeba_side(width), height)
    elif crop == "celeba_face":
        side = tf.minimum(_scaled(width, CELEBA_FACE_CROP / CELEBA_SIZE[1]), height)
        top = tf.minimum(_scaled(height, CELEBA_FACE_TOP / CELEBA_SIZE[0]), height - side)
        return top, (width - side) // 2, side, side
    elif crop == "center":
        side = tf.minimum(height, width)
    elif crop in ("ffhq", "none"):
        return 0, 0, height, width
    else:
        raise ValueError(f"--crop must be one of {', '.join(CROPS)}; got {crop!r}")
    return (height - side) // 2, (width - side) // 2, side, side


def _celeba_side(width):
    return _scaled(width, CELEBA_CROP / CELEBA_SIZE[1])


def _scaled(length, fraction: float):
    """round(length * fraction) as int32, for int or int32-tensor lengths."""
    import tensorflow as tf
    return tf.cast(tf.round(tf.cast(length, tf.float32) * fraction), tf.int32)
