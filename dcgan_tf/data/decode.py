"""Reading any image file a user may have as RGB uint8, or failing with one documented error.

``read_rgb(path_or_bytes)`` returns uint8 [H, W, 3] and raises only ``UnreadableImage`` (a
``ValueError``) whose message names the file. It handles:

- every Pillow mode: 1, L, P, RGB and CMYK are converted by Pillow; images with transparency
  (LA, RGBA, PA, P with a transparent colour) are composited over white; 16- and 32-bit integer
  (I;16*, I) and float (F) greyscale are scaled to 8 bits from their value range;
- EXIF orientation (phone photos are stored sideways with a rotation tag);
- animated images: the first frame;
- decompression bombs: more than ``MAX_PIXELS`` pixels (Pillow's limit, set here) is refused
  before decoding;
- images with a side below ``MIN_SIDE`` pixels are refused (nothing to complete);
- zero-byte, truncated, corrupt and non-image files.

It is the one decoder of the package: training (``pipeline.load_images``), completion and
evaluation (``listing.load_image_files``) all read files through it, so a file gives the same
pixels in each.
Safe to call from several threads at once.
"""

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps

MAX_PIXELS = 64_000_000  # about 8000 x 8000; a 64x64 model needs far less
MIN_SIDE = 8
# Pillow warns above its limit and refuses twice above it. The warning is an error in this
# process, so Pillow refuses anything over MAX_PIXELS when it reads the header, before decoding.
# The filter is installed once, here: a ``warnings.catch_warnings`` block per read would swap
# process-wide state under the training pipeline's parallel reads.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


class UnreadableImage(ValueError):
    """The file is not an image this tool can use; the message names the file and why."""


def read_rgb(source, name: str = "", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decodes an image file (a path, or encoded bytes with ``name`` for messages).

    Args:
        max_pixels: more pixels than this (at most ``MAX_PIXELS``) is refused before decoding.

    Returns:
        uint8 [H, W, 3].

    Raises:
        UnreadableImage: naming the file and the problem.
    """
    return read(source, to_rgb, name, max_pixels)


def read(source, convert, name: str = "", max_pixels: int = MAX_PIXELS):
    """Opens an image file (a path, or encoded bytes with ``name`` for messages) with every check
    of ``read_rgb`` and returns ``convert(picture)`` of its first frame, turned upright by its
    EXIF orientation (``convert`` takes a Pillow image).

    Raises:
        UnreadableImage: naming the file and the problem.
    """
    name = name or (source if isinstance(source, (str, os.PathLike)) else "<bytes>")
    try:
        handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        with Image.open(handle) as picture:
            _check_size(picture, name, max_pixels)
            picture.seek(0)  # the first frame of an animation
            ImageOps.exif_transpose(picture, in_place=True)  # no copy of an upright photo
            return convert(picture)
    except UnreadableImage:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise UnreadableImage(f"{name}: refused as a decompression bomb ({error})") from error
    except FileNotFoundError as error:
        raise UnreadableImage(f"{name}: no such file") from error
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError,
            KeyError, ZeroDivisionError, MemoryError, Image.UnidentifiedImageError) as error:
        # Pillow's plugins raise a variety of errors on corrupt data.
        reason = str(error) or type(error).__name__
        raise UnreadableImage(f"{name}: not a readable image ({reason})") from error


def _check_size(picture: Image.Image, name: str, max_pixels: int) -> None:
    width, height = picture.size
    if width * height > max_pixels:
        raise UnreadableImage(f"{name}: {width}x{height} pixels is more than the "
                              f"{max_pixels:,} allowed (a decompression bomb, or far larger "
                              f"than needed)")
    if min(width, height) < MIN_SIDE:
        raise UnreadableImage(f"{name}: {width}x{height} is too small (the shorter side must be "
                              f"at least {MIN_SIDE} pixels)")


def to_rgb(picture: Image.Image) -> np.ndarray:
    """uint8 [H, W, 3] of a Pillow image of any mode: transparency over white, 16-bit and float
    greys scaled to 8 bits."""
    mode = picture.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _high_depth_to_rgb(np.asarray(picture), is_float=mode == "F")
    if mode == "P" and "transparency" in picture.info:
        picture = picture.convert("RGBA")
    elif mode in ("LA", "PA", "La", "RGBa"):
        picture = picture.convert("RGBA")
    if picture.mode == "RGBA":
        background = Image.new("RGBA", picture.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(background, picture)
    if picture.mode != "RGB":
        picture = picture.convert("RGB")
    return np.array(picture, dtype=np.uint8)  # a writable copy of Pillow's bytes


def _high_depth_to_rgb(values: np.ndarray, is_float: bool) -> np.ndarray:
    """Greyscale of more than 8 bits -> RGB uint8: floats in [0, 1] by x255, values in [0, 255]
    as they are, 16-bit values by /257 (65535 -> 255), anything else stretched from its own
    minimum and maximum; NaN becomes 0."""
    values = np.asarray(values, np.float64)
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
    if is_float and low >= 0 and high <= 1.0:
        scaled = values * 255.0
    elif low >= 0 and high <= 65535 and high > 255:
        scaled = values / 257.0
    elif low >= 0 and high <= 255:
        scaled = values
    else:
        scaled = (values - low) * (255.0 / max(high - low, 1e-12))
    grey = np.clip(np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0), 0, 255)
    grey = grey.round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)
