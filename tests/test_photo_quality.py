"""bench/photo_quality.py on a tiny model and a folder of synthetic photos: the classical fills
and the reference row at the photos' size, the JSON it writes, --resume, and the photos it
refuses; with --scenes=celeba_canvas, synthetic 178x218 frames placed in canvases: the placement,
the warped hole, the realism crops and a run."""

import io
import json
import os
import sys
import types
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import FACES, SHARED_DATA, load_script
from dcgan_tf import images as image_utils
from dcgan_tf.data import crops, decode, pipeline, synthetic
from dcgan_tf.evaluation import image_metrics
from dcgan_tf.photo import align

MAGENTA = (255, 0, 255)  # a colour no synthetic face has: the painted hole box

@pytest.fixture(scope="module")
def bench():
    """The script as a module."""
    return load_script("bench", "photo_quality.py")


def photo_folder(tmp_path):
    """A folder of four 32x32 photos (``FACES[:4]``) under ``tmp_path``."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, face in enumerate(FACES[:4]):
        image_utils.save_png(str(folder / f"{index}.png"), face)
    return folder


def test_hole_covers_the_eyes_and_nose_box_of_the_frame(bench):
    mask = bench.hole_mask(128, 128)
    assert mask[50:84, 35:93].max() == 0 and mask.sum() == 128 * 128 - 34 * 58
    assert mask[49, 60] == mask[60, 34] == 1


def test_classical_fills_and_reference_row_at_the_photos_size(bench, tiny_run, tmp_path):
    folder = photo_folder(tmp_path)
    output = tmp_path / "photo.json"
    _, result = tiny_run
    bench.run(bench.parse_args([f"--model={result.run_dir}", f"--data={folder}",
                                "--methods=telea,mean,real", f"--output={output}"]))
    with open(output) as handle:
        table = json.load(handle)
    assert table.pop("setup") == {"bench": "photo_quality",
                                  "model": os.path.abspath(result.run_dir),
                                  "model_step": result.step, "data": str(folder),
                                  "num_images": 400, "realism": False}
    assert sorted(table) == ["mean/eyes_nose", "real/eyes_nose", "telea/eyes_nose"]
    assert table["real/eyes_nose"]["hole_psnr"] is None
    assert np.isfinite(table["telea/eyes_nose"]["hole_psnr"])
    assert table["mean/eyes_nose"]["hole_share"] == pytest.approx(1 - bench.hole_mask(
        32, 32).mean())


def test_photos_of_different_sizes_are_refused(bench, tiny_run, tmp_path):
    image_utils.save_png(str(tmp_path / "a.png"), FACES[0])
    image_utils.save_png(str(tmp_path / "b.png"), FACES[1][:16])
    _, result = tiny_run
    with pytest.raises(ValueError, match="the photos must share one size"):
        bench.run(bench.parse_args([f"--model={result.run_dir}", f"--data={tmp_path}",
                                    "--methods=telea"]))


def test_resume_runs_only_the_missing_methods(bench, tiny_run, tmp_path, monkeypatch, capsys):
    folder = photo_folder(tmp_path)
    output = tmp_path / "photo.json"
    _, result = tiny_run
    flags = [f"--model={result.run_dir}", f"--data={folder}", f"--output={output}"]
    bench.run(bench.parse_args([*flags, "--methods=telea"]))
    with open(output) as handle:
        first = json.load(handle)
    calls, real = [], bench.complete_photos
    monkeypatch.setattr(bench, "complete_photos",
                        lambda method, *rest: calls.append(method) or real(method, *rest))
    bench.run(bench.parse_args([*flags, "--methods=telea,mean", "--resume"]))
    assert calls == ["mean"]
    assert "--resume: 1 of 2 rows kept" in capsys.readouterr().out
    with open(output) as handle:
        table = json.load(handle)
    assert sorted(table) == ["mean/eyes_nose", "setup", "telea/eyes_nose"]
    assert table["telea/eyes_nose"] == first["telea/eyes_nose"]
    with pytest.raises(ValueError, match="--resume: .* was made with --num_images=400, not 3"):
        bench.run(bench.parse_args([*flags, "--methods=telea,ns", "--num_images=3",
                                    "--resume"]))
    assert calls == ["mean"]


def test_the_half_face_and_background_holes_and_the_grey_they_are_given(bench, tiny_run,
                                                                        tmp_path):
    """--holes: half_face runs from the cheek to the frame's right edge, background is a strip
    at that edge; rows are keyed by method and hole, the reference row scored on the photos
    themselves."""
    half, side = bench.hole_mask(128, 128, "half_face"), bench.hole_mask(128, 128, "background")
    assert half[58:90, 90:].max() == 0 and half[:, :89].min() == 1
    assert side[45:83, 105:].max() == 0 and side[:, :104].min() == 1
    folder = photo_folder(tmp_path)
    output = tmp_path / "photo.json"
    _, result = tiny_run
    bench.run(bench.parse_args([f"--model={result.run_dir}", f"--data={folder}",
                                "--methods=telea,real", "--holes=eyes_nose,half_face",
                                f"--output={output}"]))
    with open(output) as handle:
        table = json.load(handle)
    assert sorted(table) == ["real/eyes_nose", "real/half_face", "setup", "telea/eyes_nose",
                             "telea/half_face"]
    assert table["real/half_face"]["hole_psnr"] is None  # the reference: the photos themselves
    assert np.isfinite(table["telea/half_face"]["hole_psnr"])


def test_unknown_holes_and_a_missing_patchmatch_are_named(bench, tiny_run, tmp_path,
                                                          monkeypatch):
    _, result = tiny_run
    flags = [f"--model={result.run_dir}", f"--data={tmp_path}"]
    with pytest.raises(ValueError, match="--holes: unknown chin; choose from eyes_nose"):
        bench.run(bench.parse_args([*flags, "--holes=chin"]))
    monkeypatch.setitem(sys.modules, "patchmatch", None)  # as if not installed
    with pytest.raises(ValueError, match="--methods=patchmatch needs PyPatchMatch: pip install "
                                         "pypatchmatch"):
        bench.run(bench.parse_args([*flags, "--methods=patchmatch"]))


@pytest.fixture(scope="module")
def frames():
    """Three synthetic frames uint8 [3, 218, 178, 3] framed as CelebA's (a face rendered at
    218 px, its sides cut to CelebA's width)."""
    return synthetic.faces(3, seed=5, image_size=218)[:, :, 20:198]


def celeba_zip(tmp_path, frames) -> str:
    """A zip of ``frames`` as PNGs, in CelebA's layout (img_align_celeba/000000.png ...)."""
    path = tmp_path / "celeba.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for index, frame in enumerate(frames):
            encoded = io.BytesIO()
            Image.fromarray(frame).save(encoded, "PNG")
            archive.writestr(f"img_align_celeba/{index:06d}.png", encoded.getvalue())
    return str(path)


def test_canvas_placements_keep_the_face_square_inside_within_the_ranges(bench):
    """A placement depends on the photo's index only; each turns within +-20 degrees, scales
    within 1.25-2.5 and keeps the whole face square in the canvas."""
    left, top, side = bench.FACE_SQUARE
    corners = np.array([[left, top], [left + side, top], [left, top + side],
                        [left + side, top + side]]) - 0.5  # the square's outer edges
    placements = [bench.canvas_placement(index) for index in range(200)]
    for index, matrix in enumerate(placements):
        np.testing.assert_array_equal(matrix, bench.canvas_placement(index))
        scale = np.sqrt(np.linalg.det(matrix[:2, :2]))
        angle = np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0]))
        assert 1.25 <= scale <= 2.5 and abs(angle) <= 20
        placed = corners @ matrix[:2, :2].T + matrix[:2, 2]
        assert placed.min() >= -0.5 and placed.max() <= bench.CANVAS - 0.5
    scales = [np.sqrt(np.linalg.det(matrix[:2, :2])) for matrix in placements]
    assert min(scales) < 1.35 and max(scales) > 2.4  # the whole range is drawn


def test_the_same_canvases_and_holes_whatever_the_model(bench, tiny_run, frames, tmp_path,
                                                        monkeypatch):
    data = celeba_zip(tmp_path, frames)
    given, real = [], bench.complete_photos
    monkeypatch.setattr(bench, "complete_photos", lambda method, photos, masks, *rest: (
        given.append((photos.copy(), np.array(masks))) or real(method, photos, masks, *rest)))
    _, result = tiny_run
    for model in (result.run_dir, "celeba64"):  # 32 px and 64 px
        bench.run(bench.parse_args([f"--model={model}", "--scenes=celeba_canvas",
                                    f"--data={data}", "--methods=real"]))
    (photos, masks), (other_photos, other_masks) = given
    assert photos.shape == (3, bench.CANVAS, bench.CANVAS, 3) and masks.shape == photos.shape[:3]
    np.testing.assert_array_equal(photos, other_photos)
    np.testing.assert_array_equal(masks, other_masks)
    assert not np.array_equal(masks[0], masks[1])  # each canvas has its own hole


def test_the_warped_hole_covers_where_the_frames_eyes_and_nose_box_lands(bench, frames):
    """A frame whose eyes_nose box is painted magenta: in its canvas, on the frame's own
    footprint (the reflections around it show mirrored boxes, which are no hole), the magenta
    pixels lie in the hole and fill it but for a rim about a frame pixel wide."""
    top, bottom, left, right = bench.CANVAS_HOLES["eyes_nose"]
    painted = frames.copy()
    painted[:, top:bottom, left:right] = MAGENTA
    canvases = bench.CelebaCanvases(list(painted))
    for index in range(len(painted)):
        placement = canvases.placements[index]
        canvas = canvases.photos([index])[0]
        hole = canvases.masks([index], "eyes_nose")[0] < 0.5
        footprint = align.resample(np.ones(crops.CELEBA_SIZE + (1,)), np.linalg.inv(placement),
                                   bench.CANVAS, bench.CANVAS, "CONSTANT").numpy()[..., 0] > 0
        magenta = (canvas == MAGENTA).all(axis=-1) & footprint
        scale = np.sqrt(np.linalg.det(placement[:2, :2]))
        assert magenta.any() and not (magenta & ~hole).any()
        assert magenta.sum() > 0.85 * hole.sum()
        assert hole.sum() == pytest.approx((bottom - top) * (right - left) * scale ** 2,
                                           rel=0.05)


def test_the_eyes_nose_box_holds_the_celeba_templates_eyes_and_nose(bench):
    """The template of celeba64's crop (the central 108 px of the frame, from (35, 55)) put
    back in the frame: both eyes and the nose inside the box by 8 px or more, the mouth's
    corners below it."""
    top, bottom, left, right = bench.CANVAS_HOLES["eyes_nose"]
    landmarks = np.reshape(align.DEFAULT_TEMPLATE, (5, 2)) * crops.CELEBA_CROP + (35, 55) - 0.5
    for x, y in landmarks[:3]:
        assert left + 8 <= x <= right - 9 and top + 8 <= y <= bottom - 7
    assert (landmarks[3:, 1] > bottom + 8).all()


@pytest.mark.skipif(not os.path.exists(os.path.join(SHARED_DATA, "celeba_train.zip")),
                    reason="needs ../shared/data/celeba_train.zip")
def test_mtcnn_finds_the_eyes_and_nose_of_celeba_frames_inside_the_box(bench):
    from dcgan_tf.photo import detect
    top, bottom, left, right = bench.CANVAS_HOLES["eyes_nose"]
    found = []
    for name, encoded in pipeline.read_encoded(os.path.join(SHARED_DATA, "celeba_train.zip"), 8):
        faces = detect.detect_faces(decode.read_rgb(encoded, name)).faces
        if faces:
            found.append(faces[0].landmarks[:3])
    assert len(found) >= 6
    for x, y in np.concatenate(found):
        assert left <= x < right and top <= y < bottom


def test_the_realism_crop_of_an_untouched_canvas_is_the_frames_face_crop(bench, frames):
    canvases = bench.CelebaCanvases(list(frames))
    indices = np.arange(len(frames))
    cut = canvases.realism_images(canvases.photos(indices), indices)
    direct = np.stack([crops.crop_and_resize(frame, "celeba_face", bench.REALISM_SIZE).numpy()
                       for frame in frames])
    assert cut.shape == direct.shape == (3, 128, 128, 3)
    assert image_metrics.psnr(image_utils.to_float(cut), image_utils.to_float(direct)).min() > 30


def test_a_run_on_celeba_canvases_writes_rows_and_its_scenes(bench, tiny_run, frames, tmp_path):
    data = celeba_zip(tmp_path, frames)
    output = tmp_path / "canvas.json"
    _, result = tiny_run
    flags = [f"--model={result.run_dir}", f"--data={data}", f"--output={output}"]
    bench.run(bench.parse_args([*flags, "--scenes=celeba_canvas", "--methods=telea,real"]))
    with open(output) as handle:
        table = json.load(handle)
    assert table.pop("setup") == {"bench": "photo_quality",
                                  "model": os.path.abspath(result.run_dir),
                                  "model_step": result.step, "data": data, "num_images": 400,
                                  "realism": False, "scenes": "celeba_canvas"}
    assert sorted(table) == ["real/eyes_nose", "telea/eyes_nose"]
    assert table["real/eyes_nose"]["hole_psnr"] is None
    assert np.isfinite(table["telea/eyes_nose"]["hole_psnr"])
    assert table["telea/eyes_nose"]["num_images"] == 3
    # The box is 43x69 frame px, shown at 1.25-2.5x in a 464 px canvas: 2-9% of it.
    assert 0.02 < table["telea/eyes_nose"]["hole_share"] < 0.09
    with pytest.raises(ValueError, match="--resume: .* was made with --scenes=celeba_canvas, "
                                         "which this run does not set"):
        bench.run(bench.parse_args([*flags, "--methods=telea", "--resume"]))


def test_realism_compares_crops_of_completed_and_real_canvases(bench, frames, monkeypatch):
    """The extractor gets the face crops of the completed canvases, in photo order, and
    realism compares their features with those of the real canvases' crops."""
    canvases = bench.CelebaCanvases(list(frames))
    seen, compared = [], []

    def extractor(images):
        seen.append(images)
        return images.reshape(len(images), -1)[:, :8].astype(np.float64)

    monkeypatch.setattr(bench.table.distribution_metrics, "realism", lambda *features: (
        compared.append(features) or dict(fid=1.0, kid=0.0, u_ids=0.5, p_ids=0.5)))
    real_features = extractor(bench.realism_references(canvases))
    row = bench.complete_and_score("telea", "eyes_nose", canvases, None, [None] * 3, 0.0,
                                   extractor, real_features)
    indices = np.arange(3)
    completed, _ = bench.complete_photos("telea", canvases.photos(indices),
                                         canvases.masks(indices, "eyes_nose"), None,
                                         [None] * 3, 0.0)
    np.testing.assert_array_equal(seen[1], canvases.realism_images(completed, indices))
    assert seen[0].shape == seen[1].shape == (3, 128, 128, 3)
    assert compared[0][1] is real_features and row["fid"] == 1.0


def test_the_ffhq_setup_is_as_before_scenes_and_data_default_by_scenes(bench):
    """--scenes=ffhq records exactly the setup of files written before --scenes, so they still
    resume; --data defaults to the scenes' data set."""
    model = types.SimpleNamespace(source="celeba64", step=-1)
    ffhq = bench.parse_args(["--model=celeba64"])
    assert ffhq.scenes == "ffhq" and ffhq.data.endswith("ffhq128_dev.zip")
    assert sorted(bench.run_setup(ffhq, model)) == sorted(
        ["bench", "model", "model_step", "data", "num_images", "realism"])
    canvas = bench.parse_args(["--model=celeba64", "--scenes=celeba_canvas"])
    assert canvas.data.endswith("celeba_valid.zip")
    assert bench.run_setup(canvas, model)["scenes"] == "celeba_canvas"


def test_celeba_canvas_refuses_other_frames_and_ffhq_holes(bench, tiny_run, tmp_path):
    folder = photo_folder(tmp_path)
    _, result = tiny_run
    flags = [f"--model={result.run_dir}", f"--data={folder}", "--scenes=celeba_canvas",
             "--methods=telea"]
    with pytest.raises(ValueError, match="--holes: unknown half_face; choose from eyes_nose$"):
        bench.run(bench.parse_args([*flags, "--holes=half_face"]))
    with pytest.raises(ValueError, match="places CelebA's aligned 178x218 frames; .*0.png is "
                                         "32x32"):
        bench.run(bench.parse_args(flags))


def test_a_stopped_row_goes_on_from_its_finished_parts(bench, frames, tmp_path, monkeypatch):
    """A row stopped after two of its three parts, run again with --resume's ``RowProgress``,
    completes only the third and gives the row (realism crops included) of one whole run."""
    monkeypatch.setattr(bench, "PHOTOS_AT_ONCE", 1)
    monkeypatch.setattr(bench.table.RowProgress, "SAVE_EVERY", 0.0)
    canvases = bench.CelebaCanvases(list(frames))
    seen = []

    def extractor(images):
        seen.append(images)
        return images.reshape(len(images), -1)[:, :8].astype(np.float64)

    monkeypatch.setattr(bench.table.distribution_metrics, "realism", lambda completed, real: {
        "fid": float(np.abs(completed - real).sum()), "kid": 0.0, "u_ids": 0.5, "p_ids": 0.5})
    real_features = extractor(bench.realism_references(canvases))

    def row(progress=None):
        return bench.complete_and_score("telea", "eyes_nose", canvases, None, [None] * 3, 0.0,
                                        extractor, real_features, progress)

    whole = row()
    calls, real = [], bench.complete_photos

    def stopping_after_two_parts(method, photos, *rest):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(len(photos))
        return real(method, photos, *rest)

    monkeypatch.setattr(bench, "complete_photos", stopping_after_two_parts)
    progress = bench.table.RowProgress(str(tmp_path / "o.json"), "telea/eyes_nose",
                                       {"bench": "photo_quality"}, resume=True)
    with pytest.raises(KeyboardInterrupt):
        row(progress)
    with np.load(progress.path) as saved:
        assert int(saved["parts_done"]) == 2 and saved["realism"].shape == (2, 128, 128, 3)
    calls.clear()
    monkeypatch.setattr(bench, "complete_photos", lambda method, photos, *rest: (
        calls.append(len(photos)) or real(method, photos, *rest)))
    resumed = row(bench.table.RowProgress(str(tmp_path / "o.json"), "telea/eyes_nose",
                                          {"bench": "photo_quality"}, resume=True))
    assert calls == [1]  # the third photo only
    np.testing.assert_array_equal(seen[-1], seen[1])  # the same crops as the whole run's
    for name in ("hole_psnr", "hole_ssim", "psnr", "l1", "num_images", "hole_share", "fid"):
        assert resumed[name] == whole[name], name
