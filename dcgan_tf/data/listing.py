"""Image files by name: folders searched recursively, globs, and reading a list of files for
completion and evaluation (``load_image_files``) with the one decoder (``decode.read_rgb``) and
the training crops, so a file gives the pixels it gives in training."""

import glob
import logging
import os

import numpy as np

from dcgan_tf.data import crops, decode

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def image_files(folder: str) -> list[str]:
    """The image files (``IMAGE_EXTENSIONS``) of ``folder`` and its sub-folders, sorted."""
    paths = glob.glob(os.path.join(glob.escape(folder), "**", "*"), recursive=True)
    return sorted(p for p in paths if p.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(p))


def expand_image_paths(specs: list[str]) -> list[str]:
    """Files, folders (searched recursively) and glob patterns -> image files, in given order.

    Raises:
        ValueError: naming a spec that matches no image.
    """
    paths = []
    for spec in specs:
        if os.path.isdir(spec):
            found = image_files(spec)
        elif os.path.isfile(spec):
            found = [spec]
        else:
            found = sorted(p for p in glob.glob(spec, recursive=True)
                           if p.lower().endswith(IMAGE_EXTENSIONS))
        if not found:
            raise ValueError(f"--images {spec} matches no image file")
        paths.extend(found)
    return paths


def load_image_files(paths: list[str], *, crop: str = "auto", image_size: int = 64,
                     celeba_framing: str = "celeba") -> tuple[np.ndarray, list[str], list[str]]:
    """Reads images of any format and mode (``decode.read_rgb``), crops and resizes them
    (``crops.crop_and_resize``, "auto" cutting ``celeba_framing`` from CelebA frames), giving
    the same pixels as ``pipeline.load_images`` gives for the same files. Images whose crop is
    smaller than ``image_size`` are upscaled with a warning.

    Returns:
        (uint8 [N, S, S, 3] of the readable files, their paths, messages naming unreadable ones).
    """
    images, kept, problems = [], [], []
    for path in paths:
        try:
            rgb = decode.read_rgb(path)
        except decode.UnreadableImage as error:
            problems.append(str(error))
            continue
        if min(rgb.shape[:2]) < image_size:
            log.warning("%s is %dx%d: upscaled to %d px, so it will look blurred", path,
                        rgb.shape[1], rgb.shape[0], image_size)
        images.append(crops.crop_and_resize(rgb, crop, image_size, celeba_framing).numpy())
        kept.append(path)
    stacked = np.stack(images) if images else np.zeros((0, image_size, image_size, 3), np.uint8)
    return stacked, kept, problems
