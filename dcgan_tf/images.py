"""Image helpers at the edges of the library: uint8 <-> [-1, 1], grids, atomic PNG/GIF writes."""

import math
import os
import tempfile

import numpy as np
from PIL import Image


def to_uint8(images) -> np.ndarray:
    """Maps floats in [-1, 1] (any array-like, e.g. a tensor) to uint8 in [0, 255], rounding."""
    array = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((array + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_float(images) -> np.ndarray:
    """Maps uint8 in [0, 255] to float32 in [-1, 1]."""
    return np.asarray(images, dtype=np.float32) / 127.5 - 1.0


def load_png(path: str) -> np.ndarray:
    """Reads an image file as uint8 [H, W, 3]."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def make_grid(images: np.ndarray, columns: int = 0, padding: int = 2) -> np.ndarray:
    """Tiles images into one picture.

    Args:
        images: uint8 [N, H, W, 3].
        columns: images per row; 0 = the smallest square that holds them all.
        padding: pixels of black between tiles and around the edge.

    Returns:
        uint8 [rows * (H + padding) + padding, columns * (W + padding) + padding, 3].
    """
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding,
                     channels), np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def atomic_write(path: str, write) -> None:
    """Calls ``write(temporary_path)`` and renames the result to ``path`` only if it succeeded.

    A reader (or a crash) never sees a half-written ``path``.
    """
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1],
                                         dir=directory)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def check_writable_dir(path: str, flag: str) -> None:
    """Proves that files can be written in folder ``path`` (or, if it does not exist yet, that
    it can be created), so an unwritable or full output folder is reported before any work
    starts. Nothing is left behind: no probe file, no folder.

    Raises:
        ValueError: naming ``--flag``, the folder and the system's reason.
    """
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    try:
        if not os.path.isdir(existing):
            raise NotADirectoryError(20, f"{existing} is a file, not a folder")
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-test-") as probe:
            probe.write(b"\0" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        raise ValueError(f"--{flag} {path} is not writable: {error.strerror or error}") from error


def save_png(path: str, image: np.ndarray) -> None:
    """Writes uint8 [H, W, 3] (or [H, W]) to ``path`` atomically."""
    atomic_write(path, lambda temporary: Image.fromarray(image).save(temporary, format="PNG"))


def save_gif(path: str, frames, duration_ms: int = 200) -> None:
    """Writes an endlessly looping animated GIF of uint8 [H, W, 3] frames atomically."""
    pictures = [Image.fromarray(frame) for frame in frames]
    if not pictures:
        raise ValueError(f"no frames to write to {path}")
    atomic_write(path, lambda temporary: pictures[0].save(
        temporary, format="GIF", save_all=True, append_images=pictures[1:],
        duration=duration_ms, loop=0))
