"""Every mask kind: shape, binary values, hole fraction, seeding; mask files and folders."""

import numpy as np
import pytest
from PIL import Image

from dcgan_tf.inpainting import masks

SIZE = 64


@pytest.mark.parametrize("kind", masks.MASK_KINDS)
def test_every_kind_is_binary_with_the_right_shape(kind):
    batch = masks.make_masks(kind, 5, SIZE, seed=1)
    assert batch.shape == (5, SIZE, SIZE, 1) and batch.dtype == np.float32
    assert set(np.unique(batch)) <= {0.0, 1.0}


def test_center_default_is_the_classic_32_hole():
    mask = masks.center(SIZE)
    assert (mask == 0).sum() == 32 * 32
    assert mask[16:48, 16:48].max() == 0 and mask[15, :].min() == 1 and mask[48, :].min() == 1


@pytest.mark.parametrize("side, missing", [("left", np.s_[:, :32]), ("right", np.s_[:, 32:]),
                                           ("top", np.s_[:32]), ("bottom", np.s_[32:])])
def test_halves(side, missing):
    mask = masks.half(SIZE, side)
    assert mask[missing].max() == 0 and mask.mean() == 0.5


def test_random_fraction_and_per_image_seeding():
    batch = masks.make_masks("random", 4, SIZE, seed=3)
    assert abs(1.0 - batch.mean() - 0.8) < 0.02
    assert not np.array_equal(batch[0], batch[1])
    np.testing.assert_array_equal(batch, masks.make_masks("random", 4, SIZE, seed=3))
    assert not np.array_equal(batch, masks.make_masks("random", 4, SIZE, seed=4))
    sparse = masks.make_masks("random", 1, SIZE, seed=3, fraction=0.2)
    assert abs(1.0 - sparse.mean() - 0.2) < 0.03


def test_grid_keeps_every_fourth_pixel():
    mask = masks.grid(SIZE)
    assert mask.sum() == (SIZE // 4) ** 2 and mask[0, 0, 0] == 1 and mask[0, 1, 0] == 0


def test_lowres_knows_no_pixel():
    assert masks.lowres(SIZE).max() == 0 and masks.is_lowres("lowres")


@pytest.mark.parametrize("kind", ["thin", "medium", "thick", "box"])
def test_irregular_holes_are_nonempty_and_capped(kind):
    batch = masks.make_masks(kind, 20, SIZE, seed=0)
    holes = 1.0 - batch.mean(axis=(1, 2, 3))
    assert holes.min() > 0.0
    if kind != "box":
        assert holes.max() <= masks.MAX_STROKE_HOLE
    assert len({h for h in holes}) > 10  # each image its own mask


def test_a_stroke_draw_without_a_hole_is_drawn_again_and_one_with_a_hole_is_kept():
    """Thick strokes at 64 px, seed 0: the first draws of masks 451, 1497 and 2597 skip every
    stroke (each over the 50% cap) and leave no hole, which made every thick row of the
    2,720-face benchmark an infinite hole PSNR; they are drawn again. Mask 450's first draw has
    a hole and is the mask."""
    thick = masks._STROKES_256["thick"]
    for index in (451, 1497, 2597):
        first_draw = masks._draw_strokes(64, np.random.default_rng([0, index]), *thick)
        assert first_draw.min() == 1.0  # the draw that used to be the mask: no hole
        mask = masks.strokes(64, np.random.default_rng([0, index]), "thick")
        assert 0.0 < 1.0 - mask.mean() <= masks.MAX_STROKE_HOLE
    first_draw = masks._draw_strokes(64, np.random.default_rng([0, 450]), *thick)
    np.testing.assert_array_equal(masks.make_masks("thick", 451, 64, seed=0)[450], first_draw)


def test_stroke_kinds_grow_from_thin_to_thick():
    mean_hole = {kind: 1.0 - masks.make_masks(kind, 30, SIZE, seed=0).mean()
                 for kind in ("thin", "medium", "thick")}
    assert mean_hole["thin"] < mean_hole["thick"]


def test_mask_file_any_size_and_mode_with_invert(tmp_path):
    picture = np.full((100, 50), 255, np.uint8)
    picture[:, :25] = 0  # left half black = missing
    Image.fromarray(picture).convert("P").save(tmp_path / "m.png")
    mask = masks.load_mask_file(str(tmp_path / "m.png"), SIZE)
    assert mask.shape == (SIZE, SIZE, 1)
    assert mask[:, :32].max() == 0 and mask[:, 32:].min() == 1
    np.testing.assert_array_equal(masks.load_mask_file(str(tmp_path / "m.png"), SIZE, True),
                                  1 - mask)


def test_mask_dir_matches_by_stem_and_names_missing(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(tmp_path / "b.bmp")
    batch = masks.load_mask_dir(str(tmp_path), ["x/a.jpg", "y/b.png"], SIZE)
    assert batch[0].max() == 0 and batch[1].min() == 1
    with pytest.raises(ValueError, match="no mask for: c"):
        masks.load_mask_dir(str(tmp_path), ["c.jpg"], SIZE)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="--mask"):
        masks.make_masks("circle", 1, SIZE)
    with pytest.raises(ValueError, match="fraction"):
        masks.make_masks("random", 1, SIZE, fraction=1.5)
    (tmp_path / "bad.png").write_bytes(b"no image")
    with pytest.raises(ValueError, match="bad.png"):
        masks.load_mask_file(str(tmp_path / "bad.png"), SIZE)


def test_transparent_pixels_of_a_mask_with_alpha_are_missing(tmp_path):
    rgba = np.full((SIZE, SIZE, 4), 255, np.uint8)
    rgba[:, :, :3] = 0  # all black: luminance alone would say "all missing"
    rgba[:16, :, 3] = 0  # the top quarter transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    mask = masks.load_mask_file(str(tmp_path / "alpha.png"), SIZE)
    assert mask[:16].max() == 0 and mask[16:].min() == 1


def test_mask_drawn_on_the_photo_is_cropped_like_the_images(tmp_path, caplog):
    photo_mask = np.full((120, 80), 255, np.uint8)  # portrait photo; center crop = rows 20..100
    photo_mask[20:60] = 0  # the top half of the cropped square is missing
    Image.fromarray(photo_mask).save(tmp_path / "m.png")
    with caplog.at_level("WARNING"):
        mask = masks.load_mask_file(str(tmp_path / "m.png"), SIZE, crop="center")
    assert mask[:32].max() == 0 and mask[32:].min() == 1
    assert "m.png is 80x120: cropped (--crop=center) and resized to 64x64" in caplog.text


def test_grey_and_colour_masks_are_thresholded_with_a_warning(tmp_path, caplog):
    colour = np.zeros((SIZE, SIZE, 3), np.uint8)
    colour[:, 32:] = (250, 250, 250)
    colour[:8, 32:] = (140, 140, 140)  # grey: known (>= 128) but reported
    colour[:8, :32] = (0, 0, 120)  # dark blue: missing, reported
    Image.fromarray(colour).save(tmp_path / "grey.png")
    with caplog.at_level("WARNING"):
        mask = masks.load_mask_file(str(tmp_path / "grey.png"), SIZE)
    assert mask[:, :32].max() == 0 and mask[:, 32:].min() == 1
    assert "has 256 pixels neither black nor white: below 128 is missing" in caplog.text


def test_unreadable_mask_file_is_named(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="mask file .*empty.png: not a readable image"):
        masks.load_mask_file(str(tmp_path / "empty.png"), SIZE)
