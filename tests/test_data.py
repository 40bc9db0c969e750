"""Every data source with tiny fixtures written here, crop geometry, unreadable-file handling."""

import io
import os
import zipfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcgan_tf import data, images as images_lib


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
    images = data.load_images(str(tmp_path), image_size=32)
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.uint8


def test_ffhq_nested_layout_keeps_sorted_order_and_max_images(tmp_path):
    for index in range(6):
        value = np.full((128, 128, 3), index * 40, np.uint8)
        _write(str(tmp_path / f"{index // 3 * 1000:05d}" / f"{index:05d}.png"), value)
    images = data.load_images(str(tmp_path), crop="ffhq", image_size=32, max_images=4)
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
    images = data.load_images(str(archive), crop="celeba", image_size=64)
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
    at_32 = data.load_images(str(tmp_path), image_size=32)
    assert at_32.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(at_32[:, 0, 0, 0], [0, 10, 20])
    at_64 = data.load_images(str(tmp_path), image_size=64)
    assert at_64.shape == (2, 64, 64, 3)
    np.testing.assert_array_equal(at_64[:, 5, 5, 1], [100, 110])
    single = data.load_images(str(tmp_path / "ffhq-r06.tfrecords"), image_size=32, max_images=1)
    assert single.shape == (1, 32, 32, 3)


def test_damaged_tfrecord_is_a_clear_error(tmp_path):
    path = tmp_path / "ffhq-r05.tfrecords"
    _write_ffhq_tfrecord(path, [np.zeros((32, 32, 3), np.uint8)] * 2)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="ffhq-r05.tfrecords"):
        data.load_images(str(path), image_size=32)


def _box_image(height, width, top, left, side):
    """Black frame with a white square at the given box."""
    image = np.zeros((height, width, 3), np.uint8)
    image[top:top + side, left:left + side] = 255
    return tf.constant(image)


def test_celeba_crop_is_the_central_108_box():
    image = _box_image(218, 178, top=55, left=35, side=108)
    cropped = data.crop_and_resize(image, "celeba", 108).numpy()
    assert cropped.min() == 255
    assert data.crop_and_resize(image, "auto", 108).numpy().min() == 255


def test_celeba_face_crop_is_the_144_box_from_row_50_and_scales_with_the_frame():
    image = _box_image(218, 178, top=50, left=17, side=144)
    assert data.crop_and_resize(image, "celeba_face", 144).numpy().min() == 255
    assert [int(v) for v in data.crop_box(218, 178, "celeba_face")] == [50, 17, 144, 144]
    assert [int(v) for v in data.crop_box(436, 356, "celeba_face")] == [100, 34, 288, 288]
    # a frame shorter than the box: the square still fits inside it
    top, left, side, _ = (int(v) for v in data.crop_box(150, 178, "celeba_face"))
    assert side == 144 and 0 <= top and top + side <= 150 and left == 17


def test_center_crop_is_the_largest_central_square():
    image = _box_image(100, 60, top=20, left=0, side=60)
    assert data.crop_and_resize(image, "center", 60).numpy().min() == 255
    assert data.crop_and_resize(image, "auto", 60).numpy().min() == 255


def test_ffhq_and_none_keep_the_whole_frame():
    image = _box_image(64, 64, top=0, left=0, side=32)
    for crop in ("ffhq", "none", "auto"):
        resized = data.crop_and_resize(image, crop, 32).numpy()
        # antialiasing blurs one pixel either side of the edge
        assert resized[:15, :15].min() == 255 and resized[17:, 17:].max() == 0


def test_unreadable_files_are_skipped_and_named(tmp_path, caplog):
    for index in range(200):
        _write(str(tmp_path / f"{index:04d}.png"), _picture(16, 16, index))
    (tmp_path / "zero.png").write_bytes(b"")
    images = data.load_images(str(tmp_path), image_size=32)
    assert len(images) == 200
    assert "1 of 201" in caplog.text and "zero.png" in caplog.text


def test_more_than_one_percent_unreadable_stops(tmp_path):
    for index in range(100):
        _write(str(tmp_path / f"{index:04d}.png"), _picture(16, 16, index))
    (tmp_path / "text.jpg").write_bytes(b"this is not a jpeg")
    good = (tmp_path / "0000.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"2 of 102 .*more than 1%"):
        data.load_images(str(tmp_path), image_size=32)


def test_missing_empty_and_unknown_paths_name_the_path(tmp_path):
    with pytest.raises(ValueError, match="does not exist: .*nowhere"):
        data.load_images(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        data.load_images(str(tmp_path / "empty"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="notes.txt"):
        data.load_images(str(tmp_path / "notes.txt"))


def test_synthetic_source():
    images = data.load_images("synthetic", image_size=32, max_images=5, seed=3)
    assert images.shape == (5, 32, 32, 3)


def test_training_dataset_batches_in_range_and_flips():
    images = np.zeros((10, 8, 8, 3), np.uint8)
    images[:, :, :4] = 255  # left half white
    batch = next(iter(data.training_dataset(images, 8, seed=1, flip=True))).numpy()
    assert batch.shape == (8, 8, 8, 3) and batch.dtype == np.float32
    assert batch.min() == -1.0 and batch.max() == 1.0
    flipped = batch[:, 0, 0, 0] == -1.0
    assert 0 < flipped.sum() < 8
    plain = next(iter(data.training_dataset(images, 8, flip=False))).numpy()
    assert np.all(plain[:, 0, 0, 0] == 1.0)


def test_training_dataset_reshuffles_each_pass():
    images = np.arange(8, dtype=np.uint8).reshape(8, 1, 1, 1).repeat(3, axis=3)
    stream = iter(data.training_dataset(images, 8, seed=0, flip=False))
    first, second = (images_lib.to_uint8(next(stream).numpy()[:, 0, 0, 0]) for _ in range(2))
    assert sorted(first) == sorted(second) == list(range(8))
    assert list(first) != list(second)


def test_every_iterator_of_the_training_dataset_yields_the_same_stream():
    """Keras' fit() under a strategy reads a batch from an iterator it drops before training: the
    next iterator starts the same stream, not at a later pass."""
    images = np.arange(12, dtype=np.uint8).reshape(12, 1, 1, 1).repeat(3, axis=3)
    dataset = data.training_dataset(images, 8, seed=0)
    dropped = iter(dataset)
    first = [next(dropped).numpy() for _ in range(4)]  # three passes over the 12 images
    again = iter(dataset)
    for batch in first:
        np.testing.assert_array_equal(next(again).numpy(), batch)


def test_batch_larger_than_data_is_refused():
    with pytest.raises(ValueError, match="--batch_size"):
        data.training_dataset(np.zeros((3, 8, 8, 3), np.uint8), 4)


def _awkward_files(folder) -> dict[str, str]:
    """Writes files that decoders disagree on (24x40, so crops matter); name -> Pillow mode."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 40, 3), np.uint8)
    rgb[:8, :12] = [255, 0, 0]  # a red corner shows any turn
    alpha = np.full((24, 40), 255, np.uint8)
    alpha[:, :10], alpha[:, 10:20] = 0, 128  # transparent, half transparent, opaque
    grey = Image.fromarray(rgb).convert("L")
    palette = Image.fromarray(rgb).quantize(16)
    pictures = {
        "a_rgba.png": (Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), {}),
        "b_palette.png": (palette, {"transparency": 3}),
        "c_grey16.png": (Image.fromarray(rng.integers(0, 65536, (24, 40), np.uint16)), {}),
        "d_cmyk.jpg": (Image.fromarray(rgb).convert("CMYK"), {}),
        "g_la.png": (Image.merge("LA", [grey, Image.fromarray(alpha)]), {}),
    }
    for orientation, name in ((6, "e_turned6.jpg"), (3, "f_turned3.png")):
        exif = Image.Exif()
        exif[0x0112] = orientation
        pictures[name] = (Image.fromarray(rgb), {"exif": exif})
    for name, (picture, options) in pictures.items():
        picture.save(folder / name, **options)
    return {name: picture.mode for name, (picture, _) in pictures.items()}


@pytest.mark.parametrize("crop", ["center", "none", "auto"])
def test_training_and_completion_loaders_give_identical_pixels(tmp_path, crop):
    """Awkward files (transparency, palette, 16-bit grey, CMYK, EXIF turns) give the same uint8
    bits from a folder and a zip (training) and from load_image_files (completion, FID)."""
    folder = tmp_path / "faces"
    folder.mkdir()
    modes = _awkward_files(folder)
    for name, mode in modes.items():  # the files really are what they claim
        with Image.open(folder / name) as picture:
            assert picture.mode == mode, name
    with Image.open(folder / "b_palette.png") as palette:
        assert palette.info["transparency"] == 3 and (np.asarray(palette) == 3).any()
    assert sorted(modes.values()) == ["CMYK", "I;16", "LA", "P", "RGB", "RGB", "RGBA"]
    with zipfile.ZipFile(tmp_path / "faces.zip", "w") as archive:
        for name in modes:
            archive.write(folder / name, name)
    paths = [str(folder / name) for name in sorted(modes)]
    completion, kept, problems = data.load_image_files(paths, crop=crop, image_size=16)
    assert kept == paths and problems == []
    assert completion.shape == (7, 16, 16, 3) and completion.dtype == np.uint8
    for source in (folder, tmp_path / "faces.zip"):
        training = data.load_images(str(source), crop=crop, image_size=16)
        np.testing.assert_array_equal(training, completion, err_msg=f"{source}, crop={crop}")
    if crop == "none":  # the awkward parts were honoured, not only decoded alike
        rgba, turned6, turned3 = (completion[sorted(modes).index(name)]
                                  for name in ("a_rgba.png", "e_turned6.jpg", "f_turned3.png"))
        assert (rgba[:, 0] == 255).all()  # transparent over white
        assert turned6[0, -1, 0] > 200 > turned6[0, -1, 1]  # red corner turned to the top right
        assert turned3[-1, -1, 0] > 200 > turned3[-1, -1, 1]  # and to the bottom right
