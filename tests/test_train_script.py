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


def _train(*flags, timeout=300, environment=None):
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "train.py"), *flags],
                          capture_output=True, text=True, timeout=timeout, env=environment)


@pytest.mark.parametrize("jit", [True, False])
def test_jit_compile_compiles_the_train_step_with_xla(tmp_path, jit):
    """--jit_compile: TensorFlow reports an XLA-compiled cluster (its once-per-process INFO
    line), and without the flag it compiles none."""
    flag = "--jit_compile" if jit else "--nojit_compile"
    result = _train(*TINY_FLAGS, f"--runs_dir={tmp_path}", flag,
                    environment=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert ("Compiled cluster using XLA" in result.stderr) == jit


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
    ("--align_framing=chin", "--align_framing"),
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
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def test_sigkill_at_random_moments_then_resume_reaches_the_same_final_step(tmp_path):
    """Kill -9 during start-up, training and checkpoint writes; every time the run folder must
    stay resumable, and the resumed run must end at the uninterrupted run's step.

    The kills in training are timed by the checkpoints the run writes, a fraction of a second
    after one appears, and the run is long enough (300 steps) that no kill can come after its
    end however fast the machine is: a kill timed by the clock alone let an idle machine finish
    the run first."""
    import random
    import signal
    import time

    import tensorflow as tf

    flags = [flag for flag in TINY_FLAGS if not flag.startswith(("--steps_per_epoch", "--epochs"))]
    flags += ["--steps_per_epoch=10", "--epochs=30", "--checkpoint_every=7",
              f"--run_dir={tmp_path / 'run'}"]
    command = [sys.executable, os.path.join(REPO_ROOT, "train.py"), *flags]
    moments = random.Random(0)
    checkpoint_dir = tmp_path / "run" / "checkpoints"
    checkpointed = []
    for kill in range(3):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if kill == 0:
            time.sleep(moments.uniform(0.5, 3.0))  # during start-up
        else:  # during training: a moment after the next checkpoint appears
            seen = tf.train.latest_checkpoint(str(checkpoint_dir))
            deadline = time.monotonic() + 240
            while tf.train.latest_checkpoint(str(checkpoint_dir)) == seen:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(moments.uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait()
        latest = tf.train.latest_checkpoint(str(checkpoint_dir))
        if latest:  # whatever the moment, the newest checkpoint is complete and loadable
            reader = tf.train.load_checkpoint(latest)
            assert reader.get_variable_to_shape_map()
            checkpointed.append(int(latest.rsplit("-", 1)[1]))
    assert len(checkpointed) == 2 and checkpointed[0] < checkpointed[1] < 300
    final = _train(*flags)
    assert final.returncode == 0, final.stderr
    assert "Finished at step 300." in final.stdout or "already reached 300 steps" in final.stderr
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-300")
