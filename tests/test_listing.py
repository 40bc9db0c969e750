"""Image files by name (folders, globs) and the completion/evaluation reader, which gives the
training pipeline's pixels for the same files."""

import zipfile

import numpy as np
import pytest
from PIL import Image

from dcgan_tf.data import listing, pipeline


def test_files_folders_and_globs_expand_in_the_given_order(tmp_path):
    for name in ("b.png", "sub/a.jpg", "sub/notes.txt", "c.webp"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    expanded = listing.expand_image_paths([str(tmp_path / "c.webp"), str(tmp_path / "sub"),
                                           str(tmp_path / "*.png")])
    assert expanded == [str(tmp_path / "c.webp"), str(tmp_path / "sub" / "a.jpg"),
                        str(tmp_path / "b.png")]
    with pytest.raises(ValueError, match="--images .*nothing.* matches no image file"):
        listing.expand_image_paths([str(tmp_path / "nothing*.png")])


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
    completion, kept, problems = listing.load_image_files(paths, crop=crop, image_size=16)
    assert kept == paths and problems == []
    assert completion.shape == (7, 16, 16, 3) and completion.dtype == np.uint8
    for source in (folder, tmp_path / "faces.zip"):
        training = pipeline.load_images(str(source), crop=crop, image_size=16)
        np.testing.assert_array_equal(training, completion, err_msg=f"{source}, crop={crop}")
    if crop == "none":  # the awkward parts were honoured, not only decoded alike
        rgba, turned6, turned3 = (completion[sorted(modes).index(name)]
                                  for name in ("a_rgba.png", "e_turned6.jpg", "f_turned3.png"))
        assert (rgba[:, 0] == 255).all()  # transparent over white
        assert turned6[0, -1, 0] > 200 > turned6[0, -1, 1]  # red corner turned to the top right
        assert turned3[-1, -1, 0] > 200 > turned3[-1, -1, 1]  # and to the bottom right
