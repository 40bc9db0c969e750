"""bench/complete_quality.py on a tiny model and synthetic faces: the classical methods, the real
reference row, the JSON it writes, the realism columns (with a cheap stand-in for Inception) and
the flags it refuses."""

import importlib.util
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT
from dcgan_tf import images as image_utils

SCRIPT = os.path.join(REPO_ROOT, "bench", "complete_quality.py")


@pytest.fixture(scope="module")
def bench():
    """The script as a module, to call its ``run`` in this process."""
    spec = importlib.util.spec_from_file_location("complete_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
