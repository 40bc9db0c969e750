"""train.py as a user runs it: --help, --dry_run, flag errors, a few-step run and its resume."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

TINY_FLAGS = ["--image_size=32", "--latent_dim=8", "--g_filters=4", "--d_filters=4",
              "--batch_size=8", "--synthetic_images=16", "--steps_per_epoch=2", "--epochs=1",
              "--sample_every=2", "--num_samples=4", "--strategy=default"]


def _train(*flags, timeout=300):
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "train.py"), *flags],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)


def test_help_shows_runnable_examples():
    result = _train("--help")  # absl's --help exits with status 1 by design
    assert "python train.py --data=../shared/data/celeba_train.zip --crop=celeba" in result.stdout
    assert "--checkpoint_every" in result.stdout


def test_dry_run_prints_config_and_creates_nothing(tmp_path):
    result = _train("--dry_run", f"--runs_dir={tmp_path / 'runs'}", "--max_images=100")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout[:result.stdout.rindex("}") + 1])
    assert config["max_images"] == 100 and config["data"] == "synthetic"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flag, message", [
    ("--image_size=48", "--image_size must be one of 32, 64, 128"),
    ("--batch_size=0", "--batch_size must be >= 1"),
    ("--crop=square", "--crop"),
    ("--learning_rate=-1", "--learning_rate"),
])
def test_bad_flags_are_named(flag, message):
    result = _train("--dry_run", flag)
    assert result.returncode != 0
    assert message in result.stderr


def test_resume_without_runs_is_a_clear_error(tmp_path):
    result = _train("--dry_run", "--resume", f"--runs_dir={tmp_path}")
    assert result.returncode != 0 and "no runs to resume" in result.stderr


def test_missing_data_path_is_a_clear_error(tmp_path):
    result = _train(*TINY_FLAGS, f"--runs_dir={tmp_path}", f"--data={tmp_path / 'faces.zip'}")
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "faces.zip" in result.stderr


def test_few_step_run_then_resume(tmp_path):
    first = _train(*TINY_FLAGS, f"--runs_dir={tmp_path}")
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / "00000-synthetic-32"
    assert f"Finished at step 2. Run folder: {run_dir}" in first.stdout
    assert f"tensorboard --logdir {run_dir / 'logs'}" in first.stdout
    assert (run_dir / "samples" / "step-000002.png").exists()

    resumed = _train("--resume", "--epochs=2", f"--runs_dir={tmp_path}")
    assert resumed.returncode == 0, resumed.stderr
    assert "Finished at step 4" in resumed.stdout
    with open(run_dir / "config.json") as handle:
        saved = json.load(handle)
    assert saved["epochs"] == 2 and saved["g_filters"] == 4  # flags given now, saved otherwise


def test_sigterm_saves_a_checkpoint_and_samples_before_exit(tmp_path):
    import signal
    import time

    flags = [flag for flag in TINY_FLAGS if not flag.startswith(("--steps_per_epoch", "--epochs"))]
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO_ROOT, "train.py"), *flags, "--steps_per_epoch=1000",
         "--epochs=1", "--checkpoint_every=1000", f"--runs_dir={tmp_path}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    samples = tmp_path / "00000-synthetic-32" / "samples"
    deadline = time.monotonic() + 240
    while not (samples.exists() and any(samples.glob("step-*.png"))):
        assert process.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "SIGTERM received" in stderr
    step = int(stdout.split("Finished at step ")[1].split(".")[0])
    assert 2 <= step < 1000
    checkpoints = tmp_path / "00000-synthetic-32" / "checkpoints"
    assert (checkpoints / f"ckpt-{step}.index").exists()
    assert (samples / f"step-{step:06d}.png").exists() and (samples / "progress.gif").exists()
