"""bench/photo_quality.py on a tiny model and a folder of synthetic photos: the classical fills
and the reference row at the photos' size, the JSON it writes, --resume, and the photos it
refuses."""

import json
import os
import sys

import numpy as np
import pytest

from conftest import FACES, load_script
from dcgan_tf import images as image_utils

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
