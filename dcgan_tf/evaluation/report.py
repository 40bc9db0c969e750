"""The library behind ``evaluate.py``: FID and KID of a generator's samples, or of a set of images
(e.g. completions), against a set of real images.

Both sides are brought to the model's resolution (the real set through the training crop), then
through the FID Inception network (``inception``). Generated images are rounded to uint8
first, as they would be saved. Real-set features are cached on disk, keyed by the files read
(a folder by every file in it: names, sizes, modification times), crop, size, count and
Inception weights, since they cost minutes on a CPU.
"""

import dataclasses
import hashlib
import json
import logging
import os

import numpy as np

from dcgan_tf import files
from dcgan_tf.data import decode, listing, pipeline
from dcgan_tf.evaluation import distribution_metrics, inception
from dcgan_tf.models import sampling
from dcgan_tf.serving import loading

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Report:
    """FID and KID of one comparison, with the set sizes they were measured on."""

    fid: float
    kid: float
    kid_std: float
    num_real: int
    num_fake: int
    fake: str
    real: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def real_features(extractor: inception.FeatureExtractor, source: str, *, crop: str,
                  image_size: int, max_images: int, weights_path: str | None,
                  cache_dir: str = "") -> np.ndarray:
    """Inception features [N, 2048] of a real image set (``pipeline.load_images`` sources), read
    from ``cache_dir`` when this exact set was measured before."""
    cache_path = ""
    if cache_dir and source != "synthetic" and weights_path:
        key = _cache_key(source, crop, image_size, max_images, weights_path)
        cache_path = os.path.join(cache_dir, f"real-features-{key}.npy")
        if os.path.exists(cache_path):
            log.info("Real-set features from cache %s", cache_path)
            return np.load(cache_path)
    images = pipeline.load_images(source, crop=crop, image_size=image_size, max_images=max_images)
    log.info("Inception features of %d real images from %s", len(images), source)
    features = extractor(images, progress=_progress_logger(len(images)))
    if cache_path:
        os.makedirs(cache_dir, exist_ok=True)
        files.atomic_write(cache_path, lambda path: _save_npy(path, features))
    return features


def compare(fake_features, real_feature_array, *, fake: str, real: str, kid_subsets: int = 100,
            kid_subset_size: int = 1000) -> Report:
    """FID and KID (mean, std over subsets) of fake vs real features."""
    kid_mean, kid_std = distribution_metrics.kid(fake_features, real_feature_array,
                                                 subsets=kid_subsets, subset_size=kid_subset_size)
    return Report(fid=distribution_metrics.fid(fake_features, real_feature_array), kid=kid_mean,
                  kid_std=kid_std, num_real=len(real_feature_array),
                  num_fake=len(fake_features), fake=fake, real=real)


def evaluate(*, real: str, inception_weights: str | None, model: str = "", images=(),
             runs_dir: str = "runs", crop: str = "", image_size: int = 0, max_real: int = 0,
             num_generated: int = 0, batch_size: int = 50, kid_subsets: int = 100,
             kid_subset_size: int = 1000, cache_dir: str = "") -> Report:
    """Measures a generator (``model``) or a set of image files (``images``) against ``real``.

    Args:
        real: the real set (any ``pipeline.load_images`` source), cropped with ``crop``.
        inception_weights: path of the FID Inception weights (None: random, for tests).
        model: run folder, checkpoint prefix or packaged model name; used when ``images`` is
            empty, and then also fixes the image size.
        images: image files, folders or globs (already framed like the real set after ``crop``,
            e.g. the ``*_completed.png`` of complete.py), resized to ``image_size``.
        crop: the real set's crop preset (``crops.CROPS``); "" = the model's training crop
            ("auto" with ``images``).
        image_size: the side both sets are compared at when ``images`` are given; 0 = the
            shorter side of the first of them.
        num_generated: samples of the model; 0 = as many as there are real images.

    Raises:
        ValueError: naming the flag at fault (no such model, unreadable images, a model
            trained with --crop=align and no ``crop``, ...).
    """
    extractor = inception.FeatureExtractor(inception_weights, batch_size)
    if images:
        paths = listing.expand_image_paths(list(images))
        image_size = image_size or min(decode.read_rgb(paths[0]).shape[:2])
        fake_images, _, problems = listing.load_image_files(paths, crop="none",
                                                            image_size=image_size)
        if problems:
            raise ValueError("--images: unreadable files: " + "; ".join(problems[:5]))
        fake_name, crop = ", ".join(images), crop or "auto"
    else:
        loaded = loading.load(model, runs_dir)
        image_size, fake_name = loaded.config.image_size, loaded.source
        crop = crop or loaded.config.crop
        if crop == "align":
            framing = loaded.config.align_framing
            raise ValueError(f"--crop: {fake_name} was trained on faces aligned in photos "
                             f"(--crop=align --align_framing={framing}); give the crop that "
                             f"frames --real alike (for CelebA: --crop={framing})")
    real_array = real_features(extractor, real, crop=crop, image_size=image_size,
                               max_images=max_real, weights_path=inception_weights,
                               cache_dir=cache_dir)
    if not images:
        count = num_generated or len(real_array)
        log.info("Generating %d samples of %s", count, fake_name)
        fake_images = sampling.sample_images(loaded.generator, count, sampling.FID_SEED,
                                             loaded.config.latent_prior)
    log.info("Inception features of %d images of %s", len(fake_images), fake_name)
    fake_array = extractor(fake_images, progress=_progress_logger(len(fake_images)))
    return compare(fake_array, real_array, fake=fake_name, real=real, kid_subsets=kid_subsets,
                   kid_subset_size=kid_subset_size)


def write_report(path: str, report: Report) -> None:
    """Writes the report as JSON, atomically."""
    files.atomic_write_text(path, json.dumps(report.to_dict(), indent=2))


# Part of the real-feature cache key: raise it when decoding or resizing changes the pixels
# (2: every file decoded by data.decode, Pillow, instead of TensorFlow's JPEG decoder).
_PIXELS_VERSION = 2


def _cache_key(source, crop, image_size, max_images, weights_path) -> str:
    """The real set's cache key: its path and every file it is read from (a folder by all the
    files inside it: names, sizes and modification times), the crop, size and count, and the
    weights file."""
    parts = [os.path.abspath(source), crop, image_size, max_images, _PIXELS_VERSION,
             _file_stamps(source), _file_stamps(weights_path)]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _file_stamps(path: str) -> list:
    """[(name relative to ``path``, size, mtime_ns)] of a file, or of every file in a folder."""
    if not os.path.isdir(path):
        status = os.stat(path)
        return [("", status.st_size, status.st_mtime_ns)]
    stamps = []
    for folder, subfolders, names in os.walk(path):
        subfolders.sort()
        for name in sorted(names):
            status = os.stat(os.path.join(folder, name))
            stamps.append((os.path.relpath(os.path.join(folder, name), path), status.st_size,
                           status.st_mtime_ns))
    return stamps


def _save_npy(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)


def _progress_logger(total: int):
    """Logs progress about every 10% of ``total`` images."""
    step = max(1, total // 10)
    last = [0]

    def report(done):
        if done - last[0] >= step or done == total:
            log.info("  %d / %d", done, total)
            last[0] = done
    return report
