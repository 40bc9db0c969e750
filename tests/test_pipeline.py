"""The training pipeline: every data source with tiny fixtures written here, unreadable-file
handling, and the batches of ``training_dataset``."""

import io
import os
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcgan_tf import images as images_lib
from dcgan_tf.data import pipeline


def _picture(height, width, seed):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _write(path, array, fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def _encoded(array, fmt):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def test_folder_searched_recursively_in_every_format(tmp_path):
    formats = {"a.png": "PNG", "sub/b.jpg": "JPEG", "sub/deeper/c.JPEG": "JPEG",
               "d.webp": "WEBP", "e.bmp": "BMP"}
    for name, fmt in formats.items():
        _write(str(tmp_path / name), _picture(40, 40, 0), fmt)
    (tmp_path / "notes.txt").write_text("not an image, not counted")
    images = pipeline.load_images(str(tmp_path), image_size=32)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8


def test_ffhq_nested_layout_keeps_sorted_order_and_max_images(tmp_path):
    for index in range(6):
        value = np.full((128, 128, 3), index * 40, np.uint8)
        _write(str(tmp_path / f"{index // 3 * 1000:05d}" / f"{index:05d}.png"), value)
    images = pipeline.load_images(str(tmp_path), crop="ffhq", image_size=32, max_images=4)
    assert images.shape == (4, 32, 32, 3)
    np.testing.assert_array_equal(images[:, 0, 0, 0], [0, 40, 80, 120])


def test_zip_archive_read_without_extracting(tmp_path):
    archive = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("img_align_celeba/", "")
        for index in range(3):
            handle.writestr(f"img_align_celeba/{index:06d}.jpg",
                            _encoded(_picture(218, 178, index), "JPEG"))
        handle.writestr("../evil.jpg", _encoded(_picture(218, 178, 9), "JPEG"))
    images = pipeline.load_images(str(archive), crop="celeba", image_size=64)
    assert images.shape == (3, 64, 64, 3)
    assert not (tmp_path.parent / "evil.jpg").exists()
    assert os.listdir(tmp_path) == ["img_align_celeba.zip"]


def _write_ffhq_tfrecord(path, images):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for image in images:
            chw = np.transpose(image, [2, 0, 1])
            features = {
                "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=chw.shape)),
                "data": tf.train.Feature(bytes_list=tf.train.BytesList(value=[chw.tobytes()])),
            }
            example = tf.train.Example(features=tf.train.Features(feature=features))
            writer.write(example.SerializeToString())


def test_ffhq_tfrecords_folder_picks_the_wanted_resolution(tmp_path):
    small = [np.full((32, 32, 3), 10 * i, np.uint8) for i in range(3)]
    large = [np.full((64, 64, 3), 100 + 10 * i, np.uint8) for i in range(2)]
    _write_ffhq_tfrecord(tmp_path / "ffhq-r05.tfrecords", small)
    _write_ffhq_tfrecord(tmp_path / "ffhq-r06.tfrecords", large)
    at_32 = pipeline.load_images(str(tmp_path), image_size=32)
    assert at_32.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(at_32[:, 0, 0, 0], [0, 10, 20])
    at_64 = pipeline.load_images(str(tmp_path), image_size=64)
    assert at_64.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(at_64[:, 5, 5, 1], [100, 110])
    single = pipeline.load_images(str(tmp_path / "ffhq-r06.tfrecords"), image_size=32, max_images=1)
    assert single.shape == (1, 32, 32, 3)


def test_damaged_tfrecord_is_a_clear_error(tmp_path):
    path = tmp_path / "ffhq-r05.tfrecords"
    _write_ffhq_tfrecord(path, [np.zeros((32, 32, 3), np.uint8)] * 2)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="ffhq-r05.tfrecords"):
        pipeline.load_images(str(path), image_size=32)


def test_unreadable_files_are_skipped_and_named(tmp_path, caplog):
    for index in range(200):
        _write(str(tmp_path / f"{index:04d}.png"), _picture(16, 16, index))
    (tmp_path / "zero.png").write_bytes(b"")
    images = pipeline.load_images(str(tmp_path), image_size=32)
    assert len(images) == 200
    assert "1 of 201" in caplog.text and "zero.png" in caplog.text


def test_more_than_one_percent_unreadable_stops(tmp_path):
    for index in range(100):
        _write(str(tmp_path / f"{index:04d}.png"), _picture(16, 16, index))
    (tmp_path / "text.jpg").write_bytes(b"this is not a jpeg")
    good = (tmp_path / "0000.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"2 of 102 .*more than 1%"):
        pipeline.load_images(str(tmp_path), image_size=32)


def test_missing_empty_and_unknown_paths_name_the_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist: .*nowhere"):
        pipeline.load_images(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        pipeline.load_images(str(tmp_path / "empty"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt"):
        pipeline.load_images(str(tmp_path / "notes.txt"))


def test_synthetic_source():
    images = pipeline.load_images("synthetic", image_size=32, max_images=5, seed=3)
    assert images.shape == (5, 32, 32, 3)


def test_training_dataset_batches_in_range_and_flips():
    images = np.zeros((10, 8, 8, 3), np.uint8)
    images[:, :, :4] = 255  # left half white
    batch = next(iter(pipeline.training_dataset(images, 8, seed=1, flip=True))).numpy()
    assert batch.shape == (8, 8, 8, 3) and batch.dtype == np.float32
    assert batch.min() == -1.0 and batch.max() == 1.0
    flipped = batch[:, 0, 0, 0] == -1.0
    assert 0 < flipped.sum() < 8
    plain = next(iter(pipeline.training_dataset(images, 8, flip=False))).numpy()
    assert np.all(plain[:, 0, 0, 0] == 1.0)


def test_training_dataset_reshuffles_each_pass():
    images = np.arange(8, dtype=np.uint8).reshape(8, 1, 1, 1).repeat(3, axis=3)
    stream = iter(pipeline.training_dataset(images, 8, seed=0, flip=False))
    first, second = (images_lib.to_uint8(next(stream).numpy()[:, 0, 0, 0]) for _ in range(2))
    assert sorted(first) == sorted(second) == list(range(8))
    assert list(first) != list(second)


def test_every_iterator_of_the_training_dataset_yields_the_same_stream():
    """Keras' fit() under a strategy reads a batch from an iterator it drops before training: the
    next iterator starts the same stream, not at a later pass."""
    images = np.arange(12, dtype=np.uint8).reshape(12, 1, 1, 1).repeat(3, axis=3)
    dataset = pipeline.training_dataset(images, 8, seed=0)
    dropped = iter(dataset)
    first = [next(dropped).numpy() for _ in range(4)]  # three passes over the 12 images
    again = iter(dataset)
    for batch in first:
        np.testing.assert_array_equal(next(again).numpy(), batch)


def test_batch_larger_than_data_is_refused():
    with pytest.raises(ValueError, match="--batch_size"):
        pipeline.training_dataset(np.zeros((3, 8, 8, 3), np.uint8), 4)
