"""bench/results_table.py on a results file written here: the glance table's cells and bold, the
long table's columns (KID in thousandths, no seconds for the reference row), a missing cell, the
real row's null PSNR, and the flags it refuses."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

SCRIPT = os.path.join(REPO_ROOT, "bench", "results_table.py")


def results_file(tmp_path) -> str:
    """A complete_quality-style file: telea and fast on center, fast only on left, real on center."""
    table = {
        "setup": {"bench": "complete_quality", "model": "celeba64", "num_images": 2720},
        "telea/center": {"hole_psnr": 18.608, "fid": 61.77, "kid": 0.06085, "u_ids": 0.00349,
                         "p_ids": 0.0007, "seconds_per_image": 0.00178},
        "fast/center": {"hole_psnr": 21.354, "fid": 15.02, "u_ids": 0.2132, "p_ids": 0.04,
                        "seconds_per_image": 0.0956},
        "real/center": {"hole_psnr": None, "fid": 2.1, "kid": -0.00005, "u_ids": 0.49,
                        "p_ids": 0.5, "seconds_per_image": 1.7e-09},
        "fast/left": {"hole_psnr": 15.81, "u_ids": 0.1},
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(table))
    return str(path)


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)


def test_glance_puts_masks_in_rows_and_bolds_the_best_model_u_ids(tmp_path):
    done = run(results_file(tmp_path), "--methods=telea,fast,real")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("setup: bench=complete_quality, model=celeba64")
    assert "| mask | telea | fast | real |" in lines
    # The reference row's 0.49 is not a method's: fast's 0.213 is the row's best.
    assert "| center | 18.61 dB / 0.003 | 21.35 dB / **0.213** | inf / 0.490 |" in lines
    assert "| left | - | 15.81 dB / **0.100** | - |" in lines


def test_long_layout_has_a_line_per_cell_with_every_figure_the_file_has(tmp_path):
    done = run(results_file(tmp_path), "--layout=long", "--masks=center")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert ("| mask | method | hole PSNR (dB) | FID | KID x 1000 | U-IDS | P-IDS | s / image |"
            in lines)
    assert "| center | telea | 18.61 | 61.8 | 60.85 | 0.003 | 0.001 | 0.00178 |" in lines
    # The reference row times no method: its seconds (the time to copy) print as "-".
    assert "| center | real | inf | 2.1 | -0.05 | 0.490 | 0.500 | - |" in lines
    assert not any(line.startswith("| left |") for line in lines)


@pytest.mark.parametrize("flag, named", [("--methods=telea,bamos", "--methods: the file has no 'bamos'"),
                                         ("--masks=thick", "--masks: the file has no 'thick'"),
                                         ("--metrics=psnr_hole", "--metrics: psnr_hole")])
def test_names_the_file_lacks_are_refused_by_flag(tmp_path, flag, named):
    done = run(results_file(tmp_path), flag)
    assert done.returncode == 2 and named in done.stderr


def test_a_file_that_is_no_results_file_is_refused_by_name(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"setup": {}, "fast": {"hole_psnr": 1.0}}))
    done = run(str(path))
    assert done.returncode == 2 and f'{path}: row "fast"' in done.stderr
