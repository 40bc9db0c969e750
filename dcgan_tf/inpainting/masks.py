"""Masks for completion: float32 [H, W, 1] with 1 = known pixel and 0 = missing (to fill).

One function per kind, and ``make_masks(kind, count, size, seed=...)`` for a batch where each image
of a random kind gets its own mask (image i of a batch with seed s always gets the same mask).

Kinds (``MASK_KINDS``):
    center   a central square hole covering ``scale`` of the area (0.25: 32x32 in 64x64)
    random   each pixel missing with probability ``fraction`` (0.8 as in Yeh et al. 2017)
    left, right, top, bottom   that half missing
    grid     only every ``spacing``-th pixel of every ``spacing``-th row known
    lowres   no pixel known; the completion instead matches ``factor`` x ``factor`` block means
             (see ``is_lowres``), so the mask itself is all zeros
    box      1 to ``max_boxes`` random rectangles, each up to half the side
    thin, medium, thick   LaMa's irregular brush strokes (Suvorov et al. 2022), their 256-px
             parameters scaled to the image size; the hole covers at most half the image
Mask files: any image; pixels darker than 50% grey are missing, or transparent ones when the
mask has transparency (``invert=True`` swaps that); cropped like the images and resized to the
image size by nearest neighbour when drawn at another size.
"""

import logging
import math
import os

import numpy as np
from PIL import Image

from dcgan_tf.data import crops, decode

log = logging.getLogger(__name__)

MASK_KINDS = ("center", "random", "left", "right", "top", "bottom", "grid", "lowres", "box",
              "thin", "medium", "thick")
MAX_STROKE_HOLE = 0.5  # LaMa caps the hole area of stroke masks at half the image

# LaMa's stroke generators at 256 px: (min strokes, max strokes, max width, max length, boxes).
_STROKES_256 = {
    "thin": (4, 50, 10, 40, 0),
    "medium": (4, 5, 50, 100, 3),
    "thick": (1, 5, 100, 200, 3),
}
_MAX_VERTICES = 5  # segments per stroke


def center(size: int, scale: float = 0.25) -> np.ndarray:
    """Central square hole covering ``scale`` (0, 1] of the image area."""
    _check_fraction("scale", scale)
    side = max(1, round(size * math.sqrt(scale)))
    start = (size - side) // 2
    mask = np.ones((size, size, 1), np.float32)
    mask[start:start + side, start:start + side] = 0.0
    return mask


def half(size: int, side: str) -> np.ndarray:
    """The ``side`` ("left", "right", "top" or "bottom") half missing."""
    mask = np.ones((size, size, 1), np.float32)
    middle = size // 2
    regions = {"left": np.s_[:, :middle], "right": np.s_[:, middle:],
               "top": np.s_[:middle, :], "bottom": np.s_[middle:, :]}
    if side not in regions:
        raise ValueError(f"half mask side must be one of {sorted(regions)}, got {side!r}")
    mask[regions[side]] = 0.0
    return mask


def random_pixels(size: int, rng: np.random.Generator, fraction: float = 0.8) -> np.ndarray:
    """Each pixel missing independently with probability ``fraction``."""
    _check_fraction("fraction", fraction)
    return (rng.random((size, size, 1)) >= fraction).astype(np.float32)


def grid(size: int, spacing: int = 4) -> np.ndarray:
    """Only pixels whose row and column are multiples of ``spacing`` are known."""
    if spacing < 1:
        raise ValueError(f"grid spacing must be >= 1, got {spacing}")
    mask = np.zeros((size, size, 1), np.float32)
    mask[::spacing, ::spacing] = 1.0
    return mask


def lowres(size: int) -> np.ndarray:
    """All pixels missing: for the lowres kind only block means are known (see ``is_lowres``)."""
    return np.zeros((size, size, 1), np.float32)


def boxes(size: int, rng: np.random.Generator, max_boxes: int = 3) -> np.ndarray:
    """1 to ``max_boxes`` random rectangles, each side between 1/8 and 1/2 of the image."""
    mask = np.ones((size, size, 1), np.float32)
    for _ in range(rng.integers(1, max_boxes + 1)):
        _cut_box(mask, rng, size // 8, size // 2)
    return mask


def strokes(size: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """LaMa-style irregular brush strokes ("thin", "medium" or "thick"), hole area in (0, 50%].

    A stroke or box that would take the hole over 50% is skipped; a draw left with no hole at
    all (every stroke over the cap: 3 of 2,720 thick masks at 64 px) is drawn again from the
    same generator, so a mask always has a hole and the masks with one are unchanged."""
    if kind not in _STROKES_256:
        raise ValueError(f"stroke kind must be one of {sorted(_STROKES_256)}, got {kind!r}")
    while True:
        mask = _draw_strokes(size, rng, *_STROKES_256[kind])
        if mask.min() == 0.0:
            return mask


def _draw_strokes(size: int, rng: np.random.Generator, min_strokes: int, max_strokes: int,
                  max_width: float, max_length: float, max_boxes: int) -> np.ndarray:
    """One draw of ``strokes``: float32 [S, S, 1], 1 = known; the hole may be empty."""
    scale = size / 256.0
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    hole = np.zeros((size, size), bool)
    for _ in range(rng.integers(min_strokes, max_strokes + 1)):
        width = max(1.0, rng.uniform(1, max_width) * scale)
        stroke = _stroke(rows, cols, rng, width, max(1.0, max_length * scale), size)
        if (hole | stroke).mean() <= MAX_STROKE_HOLE:
            hole |= stroke
    mask = (~hole).astype(np.float32)[..., np.newaxis]
    for _ in range(rng.integers(0, max_boxes + 1)):
        candidate = mask.copy()
        _cut_box(candidate, rng, max(1, size // 10), size // 3)
        if 1.0 - candidate.mean() <= MAX_STROKE_HOLE:
            mask = candidate
    return mask


def make_masks(kind: str, count: int, size: int, *, seed: int = 0, **params) -> np.ndarray:
    """A batch of masks of one kind.

    Args:
        kind: one of ``MASK_KINDS``.
        count: number of masks N.
        size: image side S.
        seed: for random kinds, mask i comes from (seed, i), so each image has its own mask.
        **params: the kind's parameters (scale, fraction, spacing, max_boxes).

    Returns:
        float32 [N, S, S, 1] of 0 (missing) and 1 (known).
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"--mask must be one of {', '.join(MASK_KINDS)}; got {kind!r}")
    masks = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        if kind == "center":
            masks.append(center(size, **params))
        elif kind in ("left", "right", "top", "bottom"):
            masks.append(half(size, kind))
        elif kind == "random":
            masks.append(random_pixels(size, rng, **params))
        elif kind == "grid":
            masks.append(grid(size, **params))
        elif kind == "lowres":
            masks.append(lowres(size))
        elif kind == "box":
            masks.append(boxes(size, rng, **params))
        else:
            masks.append(strokes(size, rng, kind))
    return np.stack(masks) if masks else np.zeros((0, size, size, 1), np.float32)


def is_lowres(kind: str) -> bool:
    """True for the kind whose known information is block means rather than pixels."""
    return kind == "lowres"


def read_mask(source, invert: bool = False, name: str = "") -> np.ndarray:
    """Reads a mask image of any size and mode at its own size: dark (< 50% grey, i.e. below
    128) = missing, light = known. A mask with transparency uses its alpha instead:
    transparent = missing. Grey values between black and white are thresholded at 128, with a
    warning saying how many there were.

    Args:
        source: image file, or its encoded bytes (``name`` names them in messages).
        invert: treat light (or opaque) pixels as missing instead.

    Returns:
        float32 [H, W] of 0 and 1.

    Raises:
        ValueError: naming the file if it cannot be read as an image.
    """
    return read_known(source, invert, name).astype(np.float32)


def read_known(source, invert: bool = False, name: str = "",
               max_pixels: int = decode.MAX_PIXELS) -> np.ndarray:
    """``read_mask`` as bool [H, W], True = known: a byte a pixel (a photo's mask at 64 MP is
    64 MB, not 256 MB); a mask of more than ``max_pixels`` is refused before decoding.

    Raises:
        ValueError: naming the file if it cannot be read as an image.
    """
    try:
        values = decode.read(source, _alpha_or_luminance, name, max_pixels)
    except decode.UnreadableImage as error:
        raise ValueError(f"mask file {error}") from error
    grey = np.count_nonzero((values > 25) & (values < 230))
    if grey:
        log.warning("Mask %s has %d pixels neither black nor white: below 128 is missing, "
                    "128 and above is known", name or source, grey)
    known = values >= 128
    if invert:
        known = ~known
    return known


def load_mask_file(path: str, size: int, invert: bool = False, crop: str = "none",
                   celeba_framing: str = "celeba") -> np.ndarray:
    """A mask file (``read_mask``) for S x S images.

    A mask of another size than S x S is taken to be drawn on the original photo: it is cropped
    like the images (``crop``) and resized by nearest neighbour, with a warning.

    Args:
        path: image file.
        size: side S of the images.
        invert: treat light (or opaque) pixels as missing instead.
        crop: the images' crop preset.
        celeba_framing: the images' framing of CelebA frames under "auto".

    Returns:
        float32 [S, S, 1] of 0 and 1.

    Raises:
        ValueError: naming the file if it cannot be read as an image.
    """
    known = read_mask(path, invert)
    height, width = known.shape
    if (height, width) != (size, size):
        log.warning("Mask %s is %dx%d: cropped (--crop=%s) and resized to %dx%d", path, width,
                    height, crop, size, size)
        known = _crop_like_images((known * 255).astype(np.uint8), crop, size,
                                  celeba_framing) / 255.0
    return known.astype(np.float32)[..., np.newaxis]


def _alpha_or_luminance(picture: Image.Image) -> np.ndarray:
    """uint8 [H, W]: the alpha channel of a mask with transparency, else its luminance."""
    if picture.mode in ("LA", "RGBA", "PA") or (picture.mode == "P"
                                                 and "transparency" in picture.info):
        alpha = np.asarray(picture.convert("RGBA").getchannel("A"))
        if alpha.min() < 255:
            return alpha
    if picture.mode in ("1", "L", "P", "RGB", "RGBA", "LA", "PA"):  # opaque: Pillow's own grey
        return np.asarray(picture.convert("L"))
    return np.asarray(Image.fromarray(decode.to_rgb(picture)).convert("L"))


def _crop_like_images(values: np.ndarray, crop: str, size: int,
                      celeba_framing: str) -> np.ndarray:
    """Crops [H, W] as ``crops.crop_and_resize`` crops images, then resizes by nearest."""
    region = crops.crop_region(values[..., np.newaxis], crop, celeba_framing).numpy()[..., 0]
    return np.asarray(Image.fromarray(region).resize((size, size), Image.NEAREST))


def mask_paths(folder: str, image_paths: list[str]) -> list[str]:
    """For each image, the file in ``folder`` with the same name stem.

    Raises:
        ValueError: naming the images that have no mask file.
    """
    stems = {}
    for name in sorted(os.listdir(folder)):
        stems.setdefault(os.path.splitext(name)[0], os.path.join(folder, name))
    wanted = [os.path.splitext(os.path.basename(p))[0] for p in image_paths]
    missing = [stem for stem in wanted if stem not in stems]
    if missing:
        raise ValueError(f"--mask_dir {folder} has no mask for: {', '.join(missing[:10])}")
    return [stems[stem] for stem in wanted]


def load_mask_dir(folder: str, image_paths: list[str], size: int,
                  invert: bool = False, crop: str = "none",
                  celeba_framing: str = "celeba") -> np.ndarray:
    """Per-image masks (``mask_paths``) for S x S images: float32 [N, S, S, 1]."""
    return np.stack([load_mask_file(path, size, invert, crop, celeba_framing)
                     for path in mask_paths(folder, image_paths)])


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"mask {name} must be in (0, 1], got {value}")


def _cut_box(mask: np.ndarray, rng: np.random.Generator, low: int, high: int) -> None:
    size = mask.shape[0]
    height, width = (int(rng.integers(max(1, low), max(2, high) + 1)) for _ in range(2))
    top, left = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
    mask[top:top + height, left:left + width] = 0.0


def _stroke(rows, cols, rng, width: float, max_length: float, size: int) -> np.ndarray:
    """One random-walk polyline of ``width`` pixels as a boolean [S, S] image."""
    y, x = rng.uniform(0, size, 2)
    painted = np.zeros((size, size), bool)
    for _ in range(rng.integers(1, _MAX_VERTICES + 1)):
        angle = rng.uniform(0, 2 * math.pi)
        length = rng.uniform(1, max_length)
        end_y = float(np.clip(y + length * math.sin(angle), 0, size - 1))
        end_x = float(np.clip(x + length * math.cos(angle), 0, size - 1))
        painted |= _distance_to_segment(rows, cols, y, x, end_y, end_x) <= width / 2
        y, x = end_y, end_x
    return painted


def _distance_to_segment(rows, cols, y0, x0, y1, x1) -> np.ndarray:
    dy, dx = y1 - y0, x1 - x0
    length_squared = dy * dy + dx * dx
    if length_squared == 0:
        t = np.zeros_like(rows)
    else:
        t = np.clip(((rows - y0) * dy + (cols - x0) * dx) / length_squared, 0.0, 1.0)
    return np.hypot(rows - (y0 + t * dy), cols - (x0 + t * dx))
