"""Training data: load faces once into memory, then serve shuffled batches with ``tf.data``.

``load_images(source, ...)`` accepts
    - "synthetic": the embedded procedural faces (``synthetic``);
    - a folder of images, searched recursively (png, jpg/jpeg, webp, bmp), e.g. FFHQ's
      ``thumbnails128x128/`` or ``images1024x1024/`` with their nested ``00000/`` folders;
    - a zip archive, read without extracting (e.g. CelebA's ``img_align_celeba.zip``);
    - NVIDIA's FFHQ TFRecords (``ffhq-rNN.tfrecords``, features ``shape`` int64[3] CHW and ``data``
      raw uint8), either one file or a folder of them (the file of the wanted resolution is used).
Files are decoded by ``decode.read_rgb`` (the reader completion and evaluation use too, via
``listing.load_image_files``: EXIF orientation, transparency over white, every Pillow mode),
cropped and resized (``crops.crop_and_resize``) in parallel by a ``tf.data`` pipeline; the result
is cached as one uint8 array [N, S, S, 3], from which ``training_dataset`` serves float batches in
[-1, 1].

Unreadable files are skipped with a warning that names them; when more than 1% of the files are
unreadable, loading stops with a ``ValueError``.
"""

import glob
import logging
import os
import re
import zipfile

import numpy as np
import tensorflow as tf

from dcgan_tf import images as image_utils
from dcgan_tf.data import crops, decode, synthetic
from dcgan_tf.data.listing import IMAGE_EXTENSIONS, image_files

log = logging.getLogger(__name__)

MAX_UNREADABLE_FRACTION = 0.01
_TFRECORD_NAME = re.compile(r"-r(\d\d)\.tfrecords$")
_DECODE_BATCH = 256
_CHUNK = 1024  # files read into memory at a time


def load_images(source: str, *, crop: str = "auto", image_size: int = 64, max_images: int = 0,
                synthetic_images: int = synthetic.DEFAULT_FACES, seed: int = 0) -> np.ndarray:
    """Loads a whole data set as uint8 [N, image_size, image_size, 3].

    Args:
        source: "synthetic", or a path to a folder, a zip file, a .tfrecords file or a folder of
            FFHQ TFRecords.
        crop: a preset of ``crops.CROPS`` (the faces of photos aligned to a template, train.py
            --crop=align, come from ``photo.aligned_faces``).
        image_size: output side in pixels.
        max_images: keep at most this many (the first in sorted file order); 0 = all.
        synthetic_images: how many synthetic faces to draw when max_images is 0.
        seed: stream of the synthetic faces.

    Raises:
        ValueError: the path is missing, holds no images, or too many of them are unreadable.
    """
    if source == "synthetic":
        return synthetic.faces(max_images or synthetic_images, seed=seed, image_size=image_size)
    if not os.path.exists(source):
        raise ValueError(f"--data path does not exist: {source}")
    if source.endswith(".tfrecords") or (os.path.isdir(source) and _tfrecord_files(source)):
        return _load_tfrecords(_pick_tfrecord(source, image_size), crop, image_size, max_images)
    if os.path.isdir(source):
        names = image_files(source)
    elif zipfile.is_zipfile(source):
        names = _zip_members(source)
    elif source.lower().endswith(".zip"):
        raise ValueError(f"--data {source} is not a readable zip archive (damaged or "
                         f"incomplete download?)")
    else:
        raise ValueError(f"--data must be 'synthetic', a folder of images, a zip archive or "
                         f"FFHQ TFRecords; {source} is none of these")
    if not names:
        raise ValueError(f"--data {source} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    names = names[:max_images] if max_images else names
    return _decode_all(source, names, _chunks(source, names), crop, image_size)


def read_encoded(source: str, max_images: int = 0):
    """The encoded bytes of the images of a folder or zip archive, in sorted order, without
    decoding them: yields (name, bytes) for the first ``max_images`` (0 = all).

    Raises:
        ValueError: when ``source`` is neither a folder nor a readable zip archive.
    """
    if os.path.isdir(source):
        for path in image_files(source)[:max_images or None]:
            yield path, _read_file(path)
        return
    if not zipfile.is_zipfile(source):
        raise ValueError(f"{source} is neither a folder of images nor a zip archive")
    with zipfile.ZipFile(source) as archive:
        for name in _zip_members(source)[:max_images or None]:
            yield name, _read_member(archive, name)


def training_dataset(images: np.ndarray, batch_size: int, *, seed: int = 0,
                     flip: bool = True) -> tf.data.Dataset:
    """An endless, shuffled stream of global batches.

    Args:
        images: uint8 [N, S, S, 3], N >= batch_size (the in-memory cache of the data set).
        batch_size: global batch size (split across replicas by the strategy).
        seed: shuffling and flipping seed; each pass over the data is a new permutation.
        flip: mirror half of the images horizontally at random.

    Returns:
        Dataset of float32 [batch_size, S, S, 3] in [-1, 1]. Every iterator of it yields the
        same stream: permutations and flips are stateless, keyed by the seed and the number of
        the pass or batch.

    Sharding across workers (MultiWorkerMirroredStrategy): the images are already in memory on
    every worker (decoded from the files each worker reads), so the auto-shard policy is DATA:
    every worker runs this same seeded pipeline and keeps its own part of each global batch, so
    the workers see disjoint images and together exactly the batch one worker would see. (FILE
    sharding would need one file per shard; an in-memory array has none.)
    """
    count = len(images)
    if count < batch_size:
        raise ValueError(f"--batch_size {batch_size} is larger than the data set ({count} images)")
    pixels = tf.constant(images)

    def permutation(pass_number):
        # Stateless, keyed by (seed, -1 - pass number), never a batch's flip seed. shuffle(
        # reshuffle_each_iteration=True) gave each new iterator the next seeds of a generator
        # that all share, and Keras' fit() under a strategy first reads a batch from an
        # iterator it then drops: its prefetching had run through a number of passes that
        # depended on timing, and training started at whichever permutation came next.
        pass_seed = tf.stack([tf.cast(seed, tf.int64), -1 - pass_number])
        return tf.data.Dataset.from_tensor_slices(tf.random.experimental.index_shuffle(
            tf.range(count, dtype=tf.int64), pass_seed, count - 1))

    def to_batch(number, indices):
        batch = image_utils.to_float(tf.gather(pixels, indices))
        if flip:
            # Stateless, seeded by the batch's number: a stateful random op in a parallel map
            # hands its draws to whichever call runs first, so the flips depended on scheduling.
            draws = tf.random.stateless_uniform([tf.shape(batch)[0], 1, 1, 1],
                                                seed=tf.stack([tf.cast(seed, tf.int64), number]))
            batch = tf.where(draws < 0.5, tf.reverse(batch, axis=[2]), batch)
        return batch

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (tf.data.Dataset.counter()
            .flat_map(permutation)
            .batch(batch_size, drop_remainder=True)
            .enumerate()
            .map(to_batch, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE)
            .with_options(options))


def _zip_members(path: str) -> list[str]:
    """Image members of a zip, sorted; members with absolute paths or '..' are never read."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"--data zip archive {path} cannot be read: {error}") from error
    safe = [m for m in members if not m.startswith(("/", "\\")) and ".." not in m.split("/")]
    if len(safe) < len(members):
        log.warning("Ignoring %d members of %s with absolute or '..' paths",
                    len(members) - len(safe), path)
    return sorted(m for m in safe if m.lower().endswith(IMAGE_EXTENSIONS))


def _chunks(source: str, names: list[str]):
    """Datasets of the encoded bytes (string scalars) of the files of a folder or the members of
    a zip, _CHUNK files at a time (bounded memory).

    Bytes are read in Python and handed over as tensors: ``Dataset.from_generator`` would also
    work, but it left this process's later training steps twice as slow (measured).
    """
    if os.path.isdir(source):
        for start in range(0, len(names), _CHUNK):
            yield tf.data.Dataset.from_tensor_slices(
                [_read_file(name) for name in names[start:start + _CHUNK]])
        return
    with zipfile.ZipFile(source) as archive:
        for start in range(0, len(names), _CHUNK):
            yield tf.data.Dataset.from_tensor_slices(
                [_read_member(archive, name) for name in names[start:start + _CHUNK]])


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""  # fails to decode, so it is counted as unreadable


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError):
        return b""  # fails to decode, so it is counted as unreadable


def _decode_all(source: str, names: list[str], chunks, crop: str, image_size: int) -> np.ndarray:
    """Decodes (in parallel), crops and resizes every file; skips and counts unreadable ones.

    Args:
        chunks: datasets of encoded file bytes that together hold ``names`` in order.
    """

    def decode_one(index, encoded):
        return index, crops.crop_and_resize(_read_rgb(encoded), crop, image_size)

    indices, batches, offset = [], [], 0
    for chunk in chunks:
        size = int(chunk.cardinality())
        pipeline = (tf.data.Dataset.zip(tf.data.Dataset.range(offset, offset + size), chunk)
                    .map(decode_one, num_parallel_calls=tf.data.AUTOTUNE)
                    .ignore_errors()
                    .batch(_DECODE_BATCH))
        for index, batch in pipeline.as_numpy_iterator():
            indices.append(index)
            batches.append(batch)
        offset += size
    loaded = np.concatenate(indices) if indices else np.zeros([0], np.int64)
    unreadable = sorted(set(range(len(names))) - set(loaded.tolist()))
    _report_unreadable(source, [names[i] for i in unreadable], len(names))
    images = (np.concatenate(batches) if batches
              else np.zeros([0, image_size, image_size, 3], np.uint8))
    return images[np.argsort(loaded, kind="stable")]


def _read_rgb(encoded: tf.Tensor) -> tf.Tensor:
    """``decode.read_rgb`` of an encoded file (string scalar tensor) as a graph op: uint8
    [H, W, 3], or an error (which the decoding pipeline skips) for an unreadable file."""
    image = tf.numpy_function(decode.read_rgb, [encoded], tf.uint8, stateful=False)
    image.set_shape([None, None, 3])
    return image


def _report_unreadable(source: str, unreadable: list[str], total: int) -> None:
    if not unreadable:
        return
    shown = ", ".join(unreadable[:10]) + (" ..." if len(unreadable) > 10 else "")
    message = f"{len(unreadable)} of {total} files in {source} are unreadable: {shown}"
    if len(unreadable) > MAX_UNREADABLE_FRACTION * total:
        raise ValueError(f"{message}; more than {MAX_UNREADABLE_FRACTION:.0%} of the files are "
                         f"unreadable, so the data set is probably damaged")
    log.warning("Skipping %s", message)


def _tfrecord_files(folder: str) -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(glob.escape(folder), "*.tfrecords"))
                  if _TFRECORD_NAME.search(p))


def _pick_tfrecord(source: str, image_size: int) -> str:
    """The file itself, or in a folder the smallest ffhq-rNN.tfrecords with 2**NN >= image_size."""
    if not os.path.isdir(source):
        return source
    by_resolution = {2 ** int(_TFRECORD_NAME.search(p).group(1)): p
                     for p in _tfrecord_files(source)}
    large_enough = [r for r in by_resolution if r >= image_size]
    resolution = min(large_enough) if large_enough else max(by_resolution)
    if resolution < image_size:
        log.warning("Largest TFRecord resolution in %s is %d px, upscaling to %d px",
                    source, resolution, image_size)
    return by_resolution[resolution]


def _load_tfrecords(path: str, crop: str, image_size: int, max_images: int) -> np.ndarray:
    features = {"shape": tf.io.FixedLenFeature([3], tf.int64),
                "data": tf.io.FixedLenFeature([], tf.string)}

    def parse(record):
        example = tf.io.parse_single_example(record, features)
        chw = tf.reshape(tf.io.decode_raw(example["data"], tf.uint8), example["shape"])
        return crops.crop_and_resize(tf.transpose(chw, [1, 2, 0]), crop, image_size)

    records = tf.data.TFRecordDataset(path)
    if max_images:
        records = records.take(max_images)
    pipeline = records.map(parse, num_parallel_calls=tf.data.AUTOTUNE).batch(_DECODE_BATCH)
    try:
        batches = list(pipeline.as_numpy_iterator())
    except tf.errors.OpError as error:
        raise ValueError(f"--data TFRecord file {path} is damaged or not in FFHQ's format "
                         f"(features shape int64[3] CHW, data raw uint8): "
                         f"{error.message}") from error
    if not batches:
        raise ValueError(f"--data TFRecord file {path} holds no images")
    return np.concatenate(batches)
