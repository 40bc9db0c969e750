"""Every mask kind: shape, binary values, hole fraction, seeding; mask files and folders."""

import numpy as np
import pytest
from PIL import Image

from dcgan_tf import masks

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
