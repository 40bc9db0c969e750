"""Reading user images: every Pillow mode, EXIF orientation, animations, bombs, tiny and broken
files, reads from parallel threads; and a property test that the reader only ever raises its
documented error."""

import io
import struct
import warnings
import zlib
from concurrent import futures

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from dcgan_tf.data import decode
from dcgan_tf.data.decode import UnreadableImage, read_rgb


def _encode(picture: Image.Image, format_name: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def _modes():
    gradient = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))  # 16x16, 0 .. 240
    grey = Image.fromarray(gradient, "L")
    rgb = Image.merge("RGB", [grey, grey, grey])
    palette_transparent = grey.convert("P")
    palette_transparent.info["transparency"] = 0  # palette entry of the black column
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(np.where(gradient == 0, 0, 255).astype(np.uint8)))
    la = grey.copy()
    la.putalpha(Image.fromarray(np.where(gradient == 0, 0, 255).astype(np.uint8)))
    high = Image.fromarray(gradient.astype(np.uint16) * 257)  # I;16, 0 .. 61680
    return [
        ("1", grey.point(lambda v: 255 if v >= 128 else 0).convert("1"), "PNG", (0, 255)),
        ("L", grey, "PNG", (0, 240)),
        ("LA", la, "PNG", (255, 240)),  # transparent black over white
        ("P", grey.convert("P"), "PNG", (0, 240)),
        ("P+transparency", palette_transparent, "PNG", (255, 240)),
        ("RGB", rgb, "PNG", (0, 240)),
        ("RGBA", rgba, "PNG", (255, 240)),
        ("CMYK", rgb.convert("CMYK"), "TIFF", (0, 240)),
        ("I;16", high, "PNG", (0, 240)),
        ("I", Image.fromarray(gradient.astype(np.int32) * 1000), "TIFF", (0, 255)),
        ("F", Image.fromarray(gradient.astype(np.float32) / 255), "TIFF", (0, 240)),
    ]


@pytest.mark.parametrize("mode, picture, format_name, corners", _modes(),
                         ids=[case[0] for case in _modes()])
def test_every_mode_reads_as_rgb(mode, picture, format_name, corners):
    rgb = read_rgb(_encode(picture, format_name), name=f"{mode}.img")
    assert rgb.shape == (16, 16, 3) and rgb.dtype == np.uint8
    left, right = corners  # the first and last column of the gradient
    assert abs(int(rgb[0, 0, 0]) - left) <= 1 and abs(int(rgb[0, -1, 0]) - right) <= 1
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()


def test_exif_orientation_is_applied():
    picture = Image.new("RGB", (40, 20), (255, 0, 0))
    picture.paste((0, 0, 255), (0, 0, 10, 20))  # a blue band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display turned 90 degrees clockwise
    rgb = read_rgb(_encode(picture, "JPEG", exif=exif, quality=95))
    assert rgb.shape == (40, 20, 3)  # portrait after rotation
    assert rgb[2, 10, 2] > 200 and rgb[-3, 10, 0] > 200  # the band is now at the top


def test_animated_images_give_their_first_frame():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    encoded = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    rgb = read_rgb(encoded)
    assert rgb[8, 8].tolist() == [255, 0, 0]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size (and no pixel data): enough for Pillow to size it."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize("encoded, message", [
    (b"", "not a readable image"),
    (b"this is a text file, not a picture\n", "not a readable image"),
    (_png_header_only(200_000, 200_000), "decompression bomb"),
    (_png_header_only(9_000, 9_000), "decompression bomb"),  # 81 MP > 64 MP
    (_png_header_only(64, 64), "not a readable image"),  # no pixel data
    (_encode(Image.new("RGB", (4, 30)), "PNG"), "too small"),
])
# pytest resets warning filters per test: put back the one decode installs for the process, so
# an 81 MP header is refused by Pillow's check as in production (and prints no warning).
@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_bad_files_raise_the_documented_error_naming_the_file(encoded, message):
    with pytest.raises(UnreadableImage, match=f"^photo.png: .*{message}"):
        read_rgb(encoded, name="photo.png")


def test_truncated_file_and_missing_path_are_named(tmp_path):
    whole = _encode(Image.fromarray(np.random.default_rng(0).integers(
        0, 255, (64, 64, 3), dtype=np.uint8)), "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(UnreadableImage, match="cut.png: not a readable image"):
        read_rgb(str(path))
    with pytest.raises(UnreadableImage, match="nowhere.png: no such file"):
        read_rgb(str(tmp_path / "nowhere.png"))


def test_parallel_reads_leave_the_warning_filters_alone():
    """Training reads in parallel threads: reads must not swap the process's warning filters,
    which parallel threads would leave changed."""
    encoded = _encode(Image.new("RGB", (32, 32)), "PNG")
    before = list(warnings.filters)
    with futures.ThreadPoolExecutor(8) as pool:
        assert all(rgb.shape == (32, 32, 3) for rgb in pool.map(read_rgb, [encoded] * 500))
    assert warnings.filters == before


def test_the_pixel_limit_is_deliberate():
    assert Image.MAX_IMAGE_PIXELS == decode.MAX_PIXELS == 64_000_000
    assert read_rgb(_encode(Image.new("RGB", (8, 8)), "PNG")).shape == (8, 8, 3)


# The fuzz tests feed malformed data on purpose: Pillow's UserWarnings about it are expected.
_EXPECT_PILLOW_NOTES = pytest.mark.filterwarnings("ignore::UserWarning:PIL")


@_EXPECT_PILLOW_NOTES
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise_anything_else(data):
    try:
        rgb = read_rgb(data, name="random.bin")
    except UnreadableImage:
        return
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


_ODD_MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]


@_EXPECT_PILLOW_NOTES
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(_ODD_MODES), width=st.integers(1, 40), height=st.integers(1, 40),
       format_name=st.sampled_from(["PNG", "TIFF", "BMP", "GIF", "JPEG", "WEBP"]),
       seed=st.integers(0, 2 ** 16), cut=st.floats(0.0, 1.0))
def test_odd_but_valid_images_read_or_raise_the_documented_error(mode, width, height,
                                                                  format_name, seed, cut):
    rng = np.random.default_rng(seed)
    picture = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8),
                              "RGBA").convert(mode if mode not in ("I;16", "I", "F") else "L")
    if mode in ("I;16", "I", "F"):
        picture = picture.convert("I") if mode == "I" else (
            picture.convert("F") if mode == "F" else Image.fromarray(
                rng.integers(0, 65536, (height, width), dtype=np.uint16)))
    try:
        encoded = _encode(picture, format_name)
    except (OSError, ValueError, KeyError):
        return  # that format cannot store that mode: nothing to read
    encoded = encoded[:max(1, int(len(encoded) * cut))] if cut < 0.5 else encoded
    try:
        rgb = read_rgb(encoded, name="odd.img")
    except UnreadableImage as error:
        assert str(error).startswith("odd.img: ")
        return
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3
    assert min(rgb.shape[:2]) >= decode.MIN_SIDE
