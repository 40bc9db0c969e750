"""complete.py end to end on the tiny shared run: synthetic default, mask file, mask folder."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_ROOT, gif_duration_ms
from dcgan_tf.inpainting.settings import METHODS, SearchSettings, search_settings
from dcgan_tf.serving import export
from serving_stub import ServingStub


def _complete(*flags):
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "complete.py"), *flags],
                          capture_output=True, text=True, timeout=300)


def test_default_synthetic_completion_writes_everything(tiny_run, tmp_path):
    _, result = tiny_run
    out = tmp_path / "out"
    run = _complete(f"--model={result.run_dir}", "--num_images=3", "--steps=5", "--restarts=2",
                    "--gif_every=2", f"--output_dir={out}")
    assert run.returncode == 0, run.stderr
    names = sorted(os.listdir(out))
    for kind in ("masked", "generated", "completed"):
        assert f"synthetic-0002_{kind}.png" in names
    assert {"grid.png", "optimisation.gif", "metrics.json", "logs"} <= set(names)
    assert run.stdout.rstrip().endswith(f"Results: {out} (grid.png, per-image PNGs, "
                                        f"metrics.json, optimisation.gif, logs/ (TensorBoard))")
    with Image.open(out / "optimisation.gif") as gif:  # a 2x2 grid of the 3 images
        assert gif.size == (2 + 2 * 34, 2 + 2 * 34)
    assert gif_duration_ms(out / "optimisation.gif") == 4 * 100  # steps 1, 3, 5 and the end
    with open(out / "metrics.json") as handle:
        report = json.load(handle)
    assert set(report["summary"]) == {"hole_psnr", "hole_ssim", "psnr", "ssim", "l1",
                                      "realness", "rounds", "seconds_per_image"}
    assert all(0.0 <= image["realness"] <= 1.0 for image in report["images"])
    assert len(report["images"]) == 3 and report["settings"]["steps"] == 5
    grid = np.asarray(Image.open(out / "grid.png"))
    assert grid.shape == (2 + 3 * 34, 2 + 4 * 34, 3)
    completed = np.asarray(Image.open(out / "synthetic-0000_completed.png"))
    original = grid[2:34, 2:34]
    known = np.ones((32, 32), bool)
    known[8:24, 8:24] = False
    np.testing.assert_array_equal(completed[known], original[known])


def test_mask_file_and_mask_dir_on_own_images(tiny_run, tmp_path):
    _, result = tiny_run
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.png"):
        Image.fromarray(rng.integers(0, 256, (50, 40, 3), dtype=np.uint8)).save(photos / name)
    (photos / "broken.png").write_bytes(b"not an image")
    hole = np.full((10, 10), 255, np.uint8)
    hole[:, :5] = 0
    Image.fromarray(hole).save(tmp_path / "hole.png")
    run = _complete(f"--model={result.run_dir}", f"--images={photos}", "--steps=3",
                    f"--mask_file={tmp_path / 'hole.png'}", f"--output_dir={tmp_path / 'o1'}")
    assert run.returncode == 0, run.stderr
    assert "broken.png" in run.stderr
    assert (tmp_path / "o1" / "a_completed.png").exists()

    masks_dir = tmp_path / "masks"
    masks_dir.mkdir()
    for name in ("a", "b", "broken"):
        Image.fromarray(hole.T.copy()).save(masks_dir / f"{name}.png")
    run = _complete(f"--model={result.run_dir}", f"--images={photos}/*.jpg,{photos}/b.png",
                    "--steps=3", f"--mask_dir={masks_dir}", "--blend=paste",
                    f"--output_dir={tmp_path / 'o2'}")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "o2" / "metrics.json") as handle:
        assert [entry["name"] for entry in json.load(handle)["images"]] == [
            str(photos / "a.jpg"), str(photos / "b.png")]


def test_without_model_the_packaged_one_even_beside_a_run_and_latest_is_the_run(tiny_run,
                                                                                tmp_path):
    """The default-model rule (specs.resolve): no --model is celeba64 although --runs_dir
    holds a run; --model=latest is that run, and names --runs_dir when it holds none."""
    config, result = tiny_run
    common = ["--steps=1", "--num_images=1", f"--runs_dir={config.runs_dir}"]
    for flags, expected in (([], "celeba64"), (["--model=latest"], result.run_dir)):
        out = tmp_path / f"out{len(flags)}"
        run = _complete(*common, *flags, f"--output_dir={out}")
        assert run.returncode == 0, run.stderr[-3000:]
        with open(out / "metrics.json") as handle:
            assert json.load(handle)["model"] == expected
    run = _complete("--model=latest", f"--runs_dir={tmp_path / 'none'}", "--steps=1")
    assert run.returncode == 1 and "--model=latest: no run in --runs_dir" in run.stderr


def test_bad_flags_and_unknown_model():
    run = _complete("--mask_scale=2")
    assert run.returncode != 0 and "--mask_scale" in run.stderr
    run = _complete("--images=x.png", "--align", "--min_confidence=0")
    assert run.returncode != 0 and "--min_confidence must be in (0, 1], got 0.0" in run.stderr
    run = _complete("--min_confidence=0.9")
    assert run.returncode != 0 and "give --align" in run.stderr
    run = _complete("--model=no_such_model", "--steps=1")
    assert run.returncode == 1 and "packaged: celeba128, celeba64); got no_such_model" in run.stderr


def test_exported_model_here_and_behind_a_rest_server(tiny_run, tmp_path):
    """--model=<SavedModel> runs the served graph in-process; --server sends TF Serving REST
    predict requests (to a stand-in server on 127.0.0.1); both give the same pictures."""
    _, result = tiny_run
    path = export.export(result.run_dir, export_base=str(tmp_path / "export"),
                         settings=SearchSettings(steps=3, restarts=1))
    local = _complete(f"--model={path}", "--num_images=3", "--steps=2", "--batch_size=2",
                      f"--output_dir={tmp_path / 'local'}")
    assert local.returncode == 0, local.stderr
    stub = ServingStub(path)
    try:
        remote = _complete(f"--server={stub.url}", "--num_images=3", "--steps=2",
                           "--batch_size=2", f"--output_dir={tmp_path / 'remote'}")
        assert remote.returncode == 0, remote.stderr
        # The baked settings, then two batches.
        assert [r["signature_name"] for r in stub.requests] == [
            "export_info", "complete_with_options", "complete_with_options"]
        request = stub.requests[1]
        assert request["signature_name"] == "complete_with_options"
        assert set(request["inputs"]) == {"images", "masks", "steps", "seed"}
        assert request["inputs"]["steps"] == 2 and np.shape(request["inputs"]["masks"]) == (
            2, 32, 32, 1)
        bad = _complete(f"--server={stub.url}", "--mask=lowres", "--steps=1")
        assert bad.returncode == 1 and "--mask=lowres" in bad.stderr
        # Flags that contradict the baked settings are refused by name, before any request.
        before = len(stub.requests)
        bad = _complete(f"--server={stub.url}", "--restarts=3", "--learning_rate=0.2",
                        f"--output_dir={tmp_path / 'refused'}")
        assert bad.returncode == 1 and "--restarts=3 (it has 1)" in bad.stderr
        assert "--learning_rate=0.2 (it has 0.05)" in bad.stderr
        assert len(stub.requests) == before + 1  # only the export_info request
        assert not (tmp_path / "refused").exists()
    finally:
        stub.close()
    for folder in ("local", "remote"):  # metrics.json records the settings that ran
        ran = json.load(open(tmp_path / folder / "metrics.json"))["settings"]
        assert (ran["method"], ran["steps"], ran["restarts"]) == ("default", 2, 1)
    for name in ("synthetic-0002_completed.png", "grid.png"):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "local" / name)),
                                      np.asarray(Image.open(tmp_path / "remote" / name)))
    unreachable = _complete("--server=http://127.0.0.1:9/v1/models/dcgan", "--steps=1")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


def test_all_known_and_all_missing_masks_are_reported(tiny_run, tmp_path):
    from dcgan_tf.data import synthetic
    _, result = tiny_run
    for name, value in (("white", 255), ("black", 0)):
        Image.fromarray(np.full((32, 32), value, np.uint8)).save(tmp_path / f"{name}.png")
    run = _complete(f"--model={result.run_dir}", "--num_images=2", "--steps=2",
                    f"--mask_file={tmp_path / 'white.png'}", f"--output_dir={tmp_path / 'known'}")
    assert run.returncode == 0, run.stderr
    assert "synthetic-0001: the mask marks every pixel as known" in run.stderr
    originals = synthetic.faces(2, seed=synthetic.HELD_OUT_SEED, image_size=32)
    completed = np.asarray(Image.open(tmp_path / "known" / "synthetic-0001_completed.png"))
    np.testing.assert_array_equal(completed, originals[1])
    run = _complete(f"--model={result.run_dir}", "--num_images=1", "--steps=2",
                    f"--mask_file={tmp_path / 'black.png'}", f"--output_dir={tmp_path / 'none'}")
    assert run.returncode == 0, run.stderr
    assert "synthetic-0000: the mask marks no pixel as known, so the result is a pure " \
           "generation" in run.stderr


def test_unwritable_output_dir_fails_before_loading_anything(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = _complete(f"--output_dir={blocker}/out", "--model=/no/such/run")
    assert run.returncode == 1
    assert f"--output_dir {blocker}/out is not writable" in run.stderr
    assert "/no/such/run" not in run.stderr  # refused before the model was looked at


def test_align_completes_a_photo_at_its_size_through_the_cli(tmp_path):
    """complete.py --align on a sideways phone-style JPEG (EXIF orientation 6) with a mask
    drawn on the upright photo: the result is the upright photo at full size, changed only in
    the hole; a photo without a face and a mask of the wrong size are named."""
    from conftest import FACE_SEED, face_photo
    from dcgan_tf.serving import loading
    from dcgan_tf.models import sampling
    from dcgan_tf.data import decode
    model = loading.load("celeba64")
    face = sampling.sample_images(model.generator, 1, FACE_SEED, model.config.latent_prior)[0]
    upright = face_photo(face)
    stored = Image.fromarray(np.rot90(upright, 1))  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    photos = tmp_path / "photos"
    photos.mkdir()
    stored.save(photos / "phone.jpg", quality=95, exif=exif)
    Image.fromarray(np.full((50, 60, 3), 90, np.uint8)).save(photos / "wall.png")
    photo = decode.read_rgb(str(photos / "phone.jpg"))
    assert photo.shape == upright.shape  # EXIF respected
    mask = np.full(photo.shape[:2], 255, np.uint8)
    mask[140:180, 150:210] = 0
    Image.fromarray(mask).save(tmp_path / "hole.png")
    out = tmp_path / "out"
    run = _complete("--align", f"--images={photos / 'phone.jpg'},{photos / 'wall.png'}",
                    f"--mask_file={tmp_path / 'hole.png'}", "--method=fast",
                    f"--output_dir={out}")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "wall.png: the mask" in run.stderr  # 60x50 photo, mask of another size: named
    completed = np.asarray(Image.open(out / "phone_completed.png"))
    assert completed.shape == photo.shape
    known = mask == 255
    np.testing.assert_array_equal(completed[known], photo[known])
    assert np.abs(completed[~known].astype(int) - photo[~known]).mean() > 1
    assert {"phone_face0_masked.png", "phone_face0_completed.png"} <= set(os.listdir(out))
    report = json.load(open(out / "metrics.json"))
    assert report["images"][0]["faces"] == 1 and len(report["failures"]) == 1
    assert report["images"][0]["hole_sources"] == {"faces": [1.0], "classical": 0.0}
    assert f"{photos / 'phone.jpg'}: face0 100% of the hole" in run.stdout
    assert run.stdout.rstrip().endswith(f"Results: {out} (1 <photo>_completed.png at the "
                                        f"photos' sizes, the aligned faces' views, metrics.json)")
    nothing = _complete("--align", f"--images={photos / 'wall.png'}", "--mask=center",
                        f"--output_dir={tmp_path / 'none'}")
    assert nothing.returncode == 1 and "wall.png: no face found" in nothing.stderr
    ignored = _complete("--align", "--crop=center", f"--images={photos / 'wall.png'}")
    assert ignored.returncode != 0 and "--crop (the framing of crops" in ignored.stderr


@pytest.mark.parametrize("method", METHODS)
def test_every_method_at_128_px_on_crops_and_on_a_photo(tiny_run_128, celeba64_faces, method,
                                                         tmp_path):
    """complete.py's library on a 128 px run with each method (the settings of bamos and
    default cut to 2 steps): its own held-out faces as crops, and a photo through --align and
    the run's face template; 128 px outputs, every known pixel kept."""
    from conftest import face_photo
    from dcgan_tf.completion import run as run_lib
    from dcgan_tf.completion.config import CompleteConfig
    run_dir = tiny_run_128[1].run_dir
    settings = search_settings(method)
    if settings.steps > 20:  # a preset's own steps cannot be changed: its settings can
        settings = dataclasses.replace(settings, method="default", steps=2)
    crops = CompleteConfig(model=run_dir, num_images=2, batch_size=2, search=settings,
                           output_dir=str(tmp_path / "crops"))
    assert run_lib.run(crops, verbose=0)["settings"]["steps"] == settings.steps
    masked, completed = (np.asarray(Image.open(tmp_path / "crops" / f"synthetic-0001_{kind}.png"))
                         for kind in ("masked", "completed"))
    assert completed.shape == (128, 128, 3)
    known = np.ones((128, 128), bool)
    known[32:96, 32:96] = False  # --mask=center, --mask_scale=0.25
    np.testing.assert_array_equal(completed[known], masked[known])

    photo = face_photo(celeba64_faces[0])
    Image.fromarray(photo).save(tmp_path / "photo.png")
    mask = np.full(photo.shape[:2], 255, np.uint8)
    mask[140:180, 150:210] = 0
    Image.fromarray(mask).save(tmp_path / "hole.png")
    aligned = dataclasses.replace(crops, images=(str(tmp_path / "photo.png"),), align=True,
                                  mask_file=str(tmp_path / "hole.png"),
                                  output_dir=str(tmp_path / "photos"))
    assert run_lib.run(aligned, verbose=0)["images"][0]["faces"] == 1
    completed = np.asarray(Image.open(tmp_path / "photos" / "photo_completed.png"))
    np.testing.assert_array_equal(completed[mask == 255], photo[mask == 255])
    assert np.abs(completed[mask == 0].astype(int) - photo[mask == 0]).mean() > 1
    face = Image.open(tmp_path / "photos" / "photo_face0_completed.png")
    assert face.size == (128, 128)


def test_auto_cuts_a_celeba_frame_as_a_celeba_face_run_trained(tiny_run_128, tmp_path):
    """--crop=auto on a 178x218 CelebA image with a run trained on celeba_face: the face crop
    (a white 144 px square from row 50 comes out all white), and a mask file drawn on the
    frame is cut the same way."""
    from dcgan_tf.completion import run as run_lib
    from dcgan_tf.completion.config import CompleteConfig
    frame = np.zeros((218, 178, 3), np.uint8)
    frame[50:194, 17:161] = 255
    Image.fromarray(frame).save(tmp_path / "000001.png")
    mask = np.full((218, 178), 255, np.uint8)
    mask[50:122, 17:161] = 0  # the crop's top half is missing
    Image.fromarray(mask).save(tmp_path / "mask.png")
    config = CompleteConfig(model=tiny_run_128[1].run_dir, images=(str(tmp_path / "000001.png"),),
                            mask_file=str(tmp_path / "mask.png"), search=search_settings("fast"),
                            output_dir=str(tmp_path / "out"))
    run_lib.run(config, verbose=0)
    masked = np.asarray(Image.open(tmp_path / "out" / "000001_masked.png"))
    assert masked.shape == (128, 128, 3)
    assert masked[70:, :].min() == 255  # known: the white square's lower half
    assert masked[:58].mean() < 200  # missing: the upper half shows as the masked colour


def test_align_fills_a_faceless_photo_from_its_surroundings(tmp_path):
    """complete.py --align --mask_file on a photo without a face: exit 0, the photo at its
    size filled from its surroundings, every known pixel identical, the share printed and in
    metrics.json with the note; a --mask kind on it is an error naming the file."""
    rng = np.random.default_rng(32)
    wall = np.asarray(Image.fromarray(rng.integers(60, 200, (18, 24, 3), np.uint8)).resize(
        (240, 180), Image.BICUBIC))
    Image.fromarray(wall).save(tmp_path / "wall.png")
    mask = np.full(wall.shape[:2], 255, np.uint8)
    mask[60:100, 40:200] = 0  # a scratch across the wall
    Image.fromarray(mask).save(tmp_path / "scratch.png")
    out = tmp_path / "out"
    run = _complete("--align", f"--images={tmp_path / 'wall.png'}",
                    f"--mask_file={tmp_path / 'scratch.png'}", f"--output_dir={out}")
    assert run.returncode == 0, run.stderr[-3000:]
    completed = np.asarray(Image.open(out / "wall_completed.png"))
    assert completed.shape == wall.shape
    known = mask == 255
    np.testing.assert_array_equal(completed[known], wall[known])
    assert (completed[~known] != wall[~known]).any()
    assert f"{tmp_path / 'wall.png'}: from its surroundings 100% of the hole" in run.stdout
    assert "wall.png: no face found: the hole is filled from its surroundings" in run.stderr
    image = json.load(open(out / "metrics.json"))["images"][0]
    assert image["faces"] == 0 and image["hole_sources"] == {"faces": [], "classical": 1.0}
    assert image["note"] == "no face found: the hole is filled from its surroundings"
    kind = _complete("--align", f"--images={tmp_path / 'wall.png'}", "--mask=center",
                     f"--output_dir={tmp_path / 'kind'}")
    assert kind.returncode == 1
    assert f"{tmp_path / 'wall.png'}: no face found: a --mask kind is made in the faces' " \
           f"crops" in kind.stderr


def test_align_keeps_each_modes_decoded_pixels_outside_the_hole(tmp_path):
    """Uploads in other modes (transparency, palette, 16-bit grey, CMYK) come back as 8-bit RGB
    PNGs whose pixels outside the hole are exactly the upload as ``decode.read_rgb``
    decodes it (alpha over white, 16 bits rounded to 8, CMYK and palette converted): what the
    README promises, no more."""
    from conftest import FACE_SEED, face_photo
    from dcgan_tf.serving import loading
    from dcgan_tf.models import sampling
    from dcgan_tf.data import decode
    model = loading.load("celeba64")
    photo = face_photo(sampling.sample_images(model.generator, 1, FACE_SEED,
                                              model.config.latent_prior)[0])
    rgb = Image.fromarray(photo)
    alpha = Image.fromarray(np.tile(np.linspace(90, 255, photo.shape[1]).astype(np.uint8),
                                    (photo.shape[0], 1)))
    grey16 = Image.fromarray(np.asarray(rgb.convert("L"), np.uint16) * 257 + 128)
    photos = tmp_path / "photos"
    photos.mkdir()
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    rgba.save(photos / "rgba.png")
    grey_alpha = rgb.convert("L")
    grey_alpha.putalpha(alpha)
    grey_alpha.save(photos / "grey_alpha.png")
    # 256 colours: with 64, the banded face scores 0.92, under detect.MIN_CONFIDENCE.
    rgb.quantize(256).save(photos / "palette.png", transparency=0)
    grey16.save(photos / "grey16.png")
    rgb.convert("CMYK").save(photos / "cmyk.jpg", quality=95)
    assert Image.open(photos / "grey16.png").mode.startswith("I")
    mask = np.full(photo.shape[:2], 255, np.uint8)
    mask[140:180, 150:210] = 0
    Image.fromarray(mask).save(tmp_path / "hole.png")
    out = tmp_path / "out"
    run = _complete("--align", f"--images={photos}", f"--mask_file={tmp_path / 'hole.png'}",
                    "--method=fast", f"--output_dir={out}")
    assert run.returncode == 0, run.stderr[-3000:]
    known = mask == 255
    for path in sorted(photos.iterdir()):
        completed = Image.open(out / f"{path.stem}_completed.png")
        decoded = decode.read_rgb(str(path))
        assert completed.mode == "RGB", path.name
        completed = np.asarray(completed)
        np.testing.assert_array_equal(completed[known], decoded[known], err_msg=path.name)
        assert np.abs(completed[~known].astype(int) - decoded[~known]).mean() > 1, path.name


def test_align_leaves_a_detection_that_is_no_face_untouched(tmp_path, monkeypatch,
                                                              celeba64_faces):
    """complete.py --align --mask=center (its library, in this process, so that a stub adds a
    detection to MTCNN's) on a photo with a face and, in a corner, a confident detection
    whose landmarks are upside down (the eyes where the mouth is): the face is completed, the
    corner's box is left untouched and metrics.json names the detection and the reason. The
    same detection with upright landmarks gets a hole and a face painted there, unless
    --min_confidence is above its confidence."""
    from conftest import StubDetector, detection_row, face_landmarks, face_photo
    from dcgan_tf.completion import run as run_lib
    from dcgan_tf.completion.config import CompleteConfig
    from dcgan_tf.inpainting.settings import search_settings
    from dcgan_tf.photo import detect
    photo = face_photo(celeba64_faces[0])  # the face around (180, 160), 160 px across
    Image.fromarray(photo).save(tmp_path / "desk.png")
    ghost = (10, 200, 60, 78)
    inside = np.s_[ghost[1]:ghost[1] + ghost[3], ghost[0]:ghost[0] + ghost[2]]
    real = detect._detector()

    def complete_with(landmarks, name, min_confidence=detect.MIN_CONFIDENCE):
        monkeypatch.setattr(detect, "_detector", lambda: StubDetector(
            [detection_row(ghost, 0.97, landmarks)], real=real))
        config = CompleteConfig(model="celeba64", images=(str(tmp_path / "desk.png"),),
                                align=True, mask="center", search=search_settings("instant"),
                                output_dir=str(tmp_path / name), min_confidence=min_confidence)
        report = run_lib.run(config, verbose=0)["images"][0]
        return np.asarray(Image.open(tmp_path / name / "desk_completed.png")), report

    completed, report = complete_with(face_landmarks(ghost)[[3, 4, 2, 0, 1]], "upside_down")
    np.testing.assert_array_equal(completed[inside], photo[inside])
    assert report["faces"] == 1 and not np.array_equal(completed, photo)
    assert {"box": list(map(float, ghost)), "confidence": 0.97,
            "reason": "the nose is not below the eyes"} in report["rejected"]
    completed, report = complete_with(face_landmarks(ghost), "upright")
    assert report["faces"] == 2
    assert np.abs(completed[inside].astype(int) - photo[inside]).mean() > 1
    completed, report = complete_with(face_landmarks(ghost), "strict", min_confidence=0.98)
    np.testing.assert_array_equal(completed[inside], photo[inside])
    assert report["faces"] == 1
    assert {"box": list(map(float, ghost)), "confidence": 0.97,
            "reason": "confidence 0.97 < 0.98"} in report["rejected"]
