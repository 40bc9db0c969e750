"""bench/complete_quality.py on a tiny model and synthetic faces: the classical methods, the real
reference row, the JSON it writes, the realism columns (with a cheap stand-in for Inception),
--resume (only the missing cells run; a file of another setup is refused) and the flags it
refuses."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, load_script
from dcgan_tf import images as image_utils

SCRIPT = os.path.join(REPO_ROOT, "bench", "complete_quality.py")


@pytest.fixture(scope="module")
def bench():
    """The script as a module, to call its ``run`` in this process."""
    return load_script("bench", "complete_quality.py")


class PixelFeatures:
    """Stands in for ``inception.FeatureExtractor``: 4x4 block means of the pixels [N, 48]."""

    def __init__(self, weights_path, batch_size=50):
        self.weights_path = weights_path

    def __call__(self, images, progress=None):
        pixels = image_utils.to_float(images).astype(np.float64)
        count, size = len(pixels), pixels.shape[1]
        blocks = pixels.reshape(count, 4, size // 4, 4, size // 4, 3).mean(axis=(2, 4))
        return blocks.reshape(count, -1)


def test_classical_methods_and_the_reference_row_write_the_table(tiny_run, tmp_path):
    _, result = tiny_run
    output = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, SCRIPT, f"--model={result.run_dir}", "--data=synthetic", "--crop=none",
         "--num_images=8", "--masks=center,left", "--methods=telea,mean,real",
         f"--output={output}"], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr
    assert "mask center: the hole is 25.0% of the pixels" in run.stdout
    assert "mask left: the hole is 50.0% of the pixels" in run.stdout
    with open(output) as handle:
        table = json.load(handle)
    setup = table.pop("setup")
    assert setup["bench"] == "complete_quality"
    assert setup["model"] == os.path.abspath(result.run_dir)
    assert setup["model_step"] == result.step
    assert setup["data"] == "synthetic" and setup["num_images"] == 8
    assert setup["realism"] is False and setup["batch_size"] == 64
    assert sorted(table) == sorted(f"{method}/{mask}" for method in ("telea", "mean", "real")
                                   for mask in ("center", "left"))
    for key, row in table.items():
        assert {"hole_psnr", "hole_ssim", "seconds_per_image", "num_images",
                "hole_share"} <= set(row)
        assert "u_ids" not in row and row["num_images"] == 8
    assert table["real/center"]["hole_psnr"] is None  # infinite: the original itself
    assert table["telea/center"]["hole_psnr"] > table["mean/center"]["hole_psnr"] > 5
    assert table["mean/left"]["hole_share"] == 0.5


def test_realism_columns_with_the_real_row_as_reference(bench, tiny_run, tmp_path, capsys,
                                                        monkeypatch):
    monkeypatch.setattr(bench.inception, "FeatureExtractor", PixelFeatures)
    _, result = tiny_run
    weights = tmp_path / "stand-in.weights.h5"
    weights.write_bytes(b"")
    output = tmp_path / "results.json"
    bench.run(bench.parse_args([
        f"--model={result.run_dir}", "--data=synthetic", "--crop=none", "--num_images=400",
        "--masks=center", "--methods=real,mean", "--realism", f"--inception={weights}",
        f"--output={output}"]))
    assert "N = 400 images, 200 a side" in capsys.readouterr().out
    with open(output) as handle:
        table = json.load(handle)
    real, mean = table["real/center"], table["mean/center"]
    assert {"fid", "kid", "u_ids", "p_ids"} <= set(real)
    assert abs(real["u_ids"] - 0.5) < 0.1 and real["p_ids"] == 0.5
    assert mean["u_ids"] < 0.1 and mean["p_ids"] < 0.1 and mean["fid"] > 10 * real["fid"]


@pytest.mark.parametrize("flags, message", [
    (["--methods=telea,blur"], "--methods: unknown blur"),
    (["--masks=center,round"], "--masks: unknown round"),
    (["--realism", "--inception=/no/such.weights.h5"], "--inception file not found"),
    (["--realism", "--inception={script}", "--num_images=399"],
     "--realism needs --num_images >= 400 (200 a side); 399 images give 199"),
])
def test_flag_errors_name_the_flag(bench, tiny_run, flags, message):
    _, result = tiny_run
    args = bench.parse_args([f"--model={result.run_dir}", "--data=synthetic", "--crop=none",
                             *[flag.format(script=SCRIPT) for flag in flags]])
    with pytest.raises(ValueError, match=re.escape(message)):
        bench.run(args)


def _flags(result, output, *flags):
    return [f"--model={result.run_dir}", "--data=synthetic", "--crop=none", "--num_images=8",
            "--masks=center,left", f"--output={output}", *flags]


@pytest.fixture
def spy(bench, monkeypatch):
    """The methods ``complete`` is called with; bamos takes 2 s an image, the others 0.5 s (each
    completes as ``mean`` does, so no search runs)."""
    calls, real = [], bench.complete

    def complete(method, model, originals, masks, **flags):
        calls.append(method)
        completed, _ = real("mean", model, originals, masks, **flags)
        return completed, 2.0 if method == "bamos" else 0.5

    monkeypatch.setattr(bench, "complete", complete)
    return calls


def test_resume_runs_only_the_missing_cells(bench, tiny_run, tmp_path, capsys, spy):
    _, result = tiny_run
    output = tmp_path / "results.json"
    # --resume with no file yet starts one
    bench.run(bench.parse_args(_flags(result, output, "--methods=telea,bamos", "--resume")))
    assert spy == ["telea", "bamos"] * 2
    with open(output) as handle:
        first = json.load(handle)
    capsys.readouterr()
    spy.clear()
    bench.run(bench.parse_args(_flags(result, output, "--methods=telea,bamos,fast", "--resume")))
    assert spy == ["fast", "fast"]  # one per mask: telea and bamos were kept
    out = capsys.readouterr().out
    assert "--resume: 4 of 6 rows kept" in out
    lines = {tuple(line.split()[:2]): line for line in out.splitlines() if line[:1] in "cl"}
    assert lines["center", "telea"].endswith("kept") and lines["left", "bamos"].endswith("kept")
    assert not lines["center", "fast"].endswith("kept")
    # x bamos from the bamos row kept in the file: 2 s / 0.5 s
    assert lines["center", "fast"].split()[7] == "4.0"
    assert lines["left", "bamos"].split()[7] == "1.0"
    with open(output) as handle:
        table = json.load(handle)
    assert table["setup"] == first["setup"]
    assert sorted(table) == sorted(["setup"] + [f"{method}/{mask}"
                                                for method in ("telea", "bamos", "fast")
                                                for mask in ("center", "left")])
    for key, row in first.items():
        assert table[key] == row  # kept as they were, not recomputed
    # a later run without --resume starts over
    spy.clear()
    bench.run(bench.parse_args(_flags(result, output, "--methods=telea")))
    assert spy == ["telea", "telea"]
    with open(output) as handle:
        assert sorted(json.load(handle)) == ["setup", "telea/center", "telea/left"]


def test_resume_keeps_the_real_rows_infinite_hole_psnr(bench, tiny_run, tmp_path, capsys):
    _, result = tiny_run
    output = tmp_path / "results.json"
    bench.run(bench.parse_args(_flags(result, output, "--methods=real")))
    bench.run(bench.parse_args(_flags(result, output, "--methods=real", "--resume")))
    assert re.search(r"center +real +inf ", capsys.readouterr().out)
    with open(output) as handle:
        assert json.load(handle)["real/center"]["hole_psnr"] is None


@pytest.mark.parametrize("flags, message", [
    (["--num_images=16"], "was made with --num_images=8, not 16"),
    (["--steps=5"], "was made with --steps=0, not 5"),
    (["--batch_size=4"], "was made with --batch_size=64, not 4"),
])
def test_resume_refuses_a_file_of_another_setup(bench, tiny_run, tmp_path, spy, flags,
                                                message):
    _, result = tiny_run
    output = tmp_path / "results.json"
    bench.run(bench.parse_args(_flags(result, output, "--methods=telea")))
    written = output.read_text()
    spy.clear()
    args = bench.parse_args(_flags(result, output, "--methods=telea,mean", "--resume", *flags))
    with pytest.raises(ValueError, match=re.escape(f"--resume: {output} {message}")):
        bench.run(args)
    assert spy == [] and output.read_text() == written


def test_resume_refuses_a_file_without_setup(bench, tiny_run, tmp_path, spy):
    _, result = tiny_run
    output = tmp_path / "results.json"
    output.write_text(json.dumps({"telea/center": {"hole_psnr": 20.0}}))
    with pytest.raises(ValueError, match=re.escape(f'--resume: {output} has no "setup"')):
        bench.run(bench.parse_args(_flags(result, output, "--methods=telea", "--resume")))
    assert spy == []


def test_resume_needs_output(bench, tiny_run):
    _, result = tiny_run
    args = bench.parse_args([f"--model={result.run_dir}", "--data=synthetic", "--crop=none",
                             "--methods=telea", "--resume"])
    with pytest.raises(ValueError, match=re.escape("--resume needs --output")):
        bench.run(args)


def _search_flags(result, output, *flags):
    return [f"--model={result.run_dir}", "--data=synthetic", "--crop=none", "--num_images=8",
            "--masks=center", "--methods=default", "--steps=2", "--batch_size=2",
            f"--output={output}", *flags]


def test_a_stopped_search_row_goes_on_from_its_finished_batches(bench, tiny_run, tmp_path,
                                                                 monkeypatch):
    _, result = tiny_run
    whole = tmp_path / "whole.json"
    bench.run(bench.parse_args(_search_flags(result, whole)))
    monkeypatch.setattr(bench.RowProgress, "SAVE_EVERY", 0.0)  # keep every batch
    seeds, real = [], bench.search.complete

    def stopping_after_two_batches(*args, seed, **flags):
        if len(seeds) == 2:
            raise KeyboardInterrupt  # a stop in the middle of the row
        seeds.append(seed)
        return real(*args, seed=seed, **flags)

    monkeypatch.setattr(bench.search, "complete", stopping_after_two_batches)
    output = tmp_path / "results.json"
    with pytest.raises(KeyboardInterrupt):
        bench.run(bench.parse_args(_search_flags(result, output)))
    partial = tmp_path / "results.json.default-center.partial.npz"
    assert not output.exists() and partial.exists()
    with np.load(partial) as saved:
        assert saved["completed"].shape == (4, 32, 32, 3)  # the two finished batches

    spied = []
    monkeypatch.setattr(bench.search, "complete",
                        lambda *args, seed, **flags: spied.append(seed) or real(
                            *args, seed=seed, **flags))
    bench.run(bench.parse_args(_search_flags(result, output, "--resume")))
    assert spied == [4, 6]  # only the batches the stopped run had not finished
    assert not partial.exists()
    with open(whole) as handle:
        expected = json.load(handle)["default/center"]
    with open(output) as handle:
        row = json.load(handle)["default/center"]
    for name in ("hole_psnr", "hole_ssim", "psnr", "l1", "num_images"):
        assert row[name] == expected[name], name


def test_resume_refuses_an_unfinished_row_of_another_setup(bench, tiny_run, tmp_path,
                                                           monkeypatch):
    _, result = tiny_run
    output = tmp_path / "results.json"
    partial = tmp_path / "results.json.default-center.partial.npz"
    np.savez(partial, setup="{}", seconds=1.0, completed=np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=re.escape(
            f"--resume: {partial} (the unfinished default/center row) was made with another "
            f"setup; delete it")):
        bench.run(bench.parse_args(_search_flags(result, output, "--resume")))
    # without --resume the row starts again and the file goes once the row is written
    bench.run(bench.parse_args(_search_flags(result, output)))
    assert not partial.exists() and output.exists()
