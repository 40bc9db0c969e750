"""MultiWorkerMirroredStrategy on 127.0.0.1 through the launcher: two workers agree with each other
and with two in-process replicas; a SIGKILLed worker is restarted and the run resumes from the
last checkpoint; the launcher's own behaviour."""

import contextlib
import glob
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT
from dcgan_tf.training import launch

DRIVER = os.path.join(REPO_ROOT, "tests", "multi_worker_driver.py")
TINY_TRAIN_FLAGS = ["--synthetic_images=64", "--image_size=32", "--g_filters=4", "--d_filters=4",
                    "--latent_dim=8", "--batch_size=8", "--num_samples=4"]


@contextlib.contextmanager
def _launched(arguments, tmp_path):
    """The launcher running ``arguments`` (workers' temporary files in <tmp_path>/tmp), in a
    process group of its own that is killed on the way out, workers and all, however the test
    ends."""
    environment = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    os.makedirs(environment["TMPDIR"], exist_ok=True)
    launcher = subprocess.Popen([sys.executable, "-m", "dcgan_tf.training.launch", *arguments],
                                cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield launcher
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()


def test_two_workers_agree_with_each_other_and_with_two_local_replicas(tmp_path):
    """Two workers end with the same weights and losses, bit for bit: the all-reduce gives both
    the same sums. Two replicas in one process, on the same global batches split the same way,
    have the same first-step losses and end with the same weights up to rounding (the tolerance
    of test_gan's one-vs-two-replica test): the workers' all-reduce is the replicas'. The driver
    pins TensorFlow's threads on both sides.

    The driver trains with flip=False, so stateless flips (e6be4ae) play no part here. What this
    needs is the stateless permutations of ``pipeline.training_dataset``: with a shared reshuffle
    seed, the iterator Keras reads one batch from and drops had prefetched a timing-dependent
    number of passes, and the two-replica run, under load, sometimes began a pass later (first
    d_real 0.4925 instead of 0.4967; weights 1.1e-3 apart after 3 steps).
    """
    with _launched(["--workers=2", "--max_restarts=0", "--", DRIVER, "multi_worker",
                    str(tmp_path / "run"), str(tmp_path / "out"), "3"], tmp_path) as launcher:
        output, _ = launcher.communicate(timeout=300)
    assert launcher.returncode == 0, output
    workers = [np.load(tmp_path / "out" / f"worker-{index}.npz") for index in (0, 1)]
    names = [name for name in workers[0].files if name.startswith("arr_")]
    assert int(workers[0]["step"]) == int(workers[1]["step"]) == 3
    for name in names + ["d_loss", "g_loss"]:
        np.testing.assert_array_equal(workers[0][name], workers[1][name])

    # It runs in its own process: collectives of earlier strategies in this one can clash.
    local = subprocess.run([sys.executable, DRIVER, "two_local_replicas", str(tmp_path / "local"),
                            str(tmp_path / "local-out"), "3"], cwd=REPO_ROOT, timeout=300,
                           capture_output=True, text=True)
    assert local.returncode == 0, local.stderr[-3000:]
    replicas = np.load(tmp_path / "local-out" / "worker-0.npz")
    for name in ("d_loss", "g_loss"):  # the same batch through the same initial weights
        assert replicas[name][0] == pytest.approx(workers[0][name][0], rel=1e-6), name
    for name in names:
        np.testing.assert_allclose(workers[0][name], replicas[name], rtol=1e-3, atol=1e-5)

    checkpoints = sorted(os.listdir(tmp_path / "run" / "checkpoints"))
    assert "ckpt-3.index" in checkpoints and "checkpoint" in checkpoints
    assert not glob.glob(str(tmp_path / "tmp" / "dcgan-worker-ckpt-*"))  # worker copies gone
    assert glob.glob(str(tmp_path / "run" / "logs" / "events.out.tfevents.*"))


def _wait_for(path, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.1)
    return False


def test_sigkilled_worker_is_restarted_and_training_resumes_from_the_last_checkpoint(tmp_path):
    """A SIGKILLed worker is restarted with the others and training resumes from the last
    checkpoint; the restarted worker deletes the checkpoint folder its killed start left (and
    not another run's)."""
    run_dir = tmp_path / "run"
    other_run = tmp_path / "tmp" / "dcgan-worker-ckpt-0123456789ab-worker-1-x"
    os.makedirs(other_run)
    with _launched(["--workers=2", "--max_restarts=1", "--grace_seconds=5", "--",
                    "train.py", "--strategy=multi_worker", f"--run_dir={run_dir}",
                    "--epochs=10", "--steps_per_epoch=8", "--checkpoint_every=10",
                    *TINY_TRAIN_FLAGS], tmp_path) as launcher:
        lines = []
        reader = _LineCollector(launcher, lines)
        assert _wait_for(run_dir / "checkpoints" / "ckpt-20.index", 240), "".join(lines)
        last_before_kill = max(int(m) for m in re.findall(
            r"ckpt-(\d+)\.index", " ".join(os.listdir(run_dir / "checkpoints"))))
        os.kill(_worker_pid(lines, 1), signal.SIGKILL)
        launcher.wait(timeout=300)
        reader.join()
    output = "".join(lines)
    assert launcher.returncode == 0, output
    assert "[launch] worker 1 was killed by SIGKILL; restarting all 2 workers" in output
    resumed = [int(step) for step in re.findall(r"Resumed from \S+ckpt-\d+ at step (\d+)", output)]
    assert len(resumed) == 2 and resumed[0] == resumed[1]  # both workers, from one checkpoint
    assert resumed[0] >= last_before_kill  # at most one checkpoint interval is repeated
    assert output.count("Finished at step 80.") == 2
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-80")
    assert glob.glob(str(tmp_path / "tmp" / "dcgan-worker-ckpt-*")) == [str(other_run)]


def test_sigterm_to_one_worker_stops_both_after_the_same_step_with_a_checkpoint(tmp_path):
    """A preempted worker (SIGTERM) makes every worker stop after the same step; the chief saves
    that step, and both exit cleanly."""
    run_dir = tmp_path / "run"
    with _launched(["--workers=2", "--max_restarts=0", "--grace_seconds=60", "--",
                    "train.py", "--strategy=multi_worker", f"--run_dir={run_dir}",
                    "--epochs=50", "--steps_per_epoch=8", "--checkpoint_every=1000",
                    "--sample_every=1000", *TINY_TRAIN_FLAGS], tmp_path) as launcher:
        lines = []
        reader = _LineCollector(launcher, lines)
        deadline = time.monotonic() + 240
        while not any("Epoch 2/" in line for line in list(lines)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("Epoch 2/" in line for line in list(lines)), "".join(lines)
        os.kill(_worker_pid(lines, 1), signal.SIGTERM)
        launcher.wait(timeout=240)
        reader.join()
    output = "".join(lines)
    assert launcher.returncode == 0, output
    finished = [int(step) for step in re.findall(r"Finished at step (\d+)\.", output)]
    assert len(finished) == 2 and finished[0] == finished[1], output
    assert 8 < finished[0] < 400
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    assert latest.endswith(f"ckpt-{finished[0]}")


def _worker_pid(lines, index: int) -> int:
    """The pid the launcher printed for worker ``index``."""
    return next(int(m.group(1)) for line in list(lines)
                if (m := re.search(rf"\[launch\] worker {index} pid (\d+)", line)))


class _LineCollector:
    """Reads a process's output in a thread, so the test can watch it while it runs."""

    def __init__(self, process, lines):
        self.thread = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
        self.thread.start()

    def join(self):
        self.thread.join(timeout=30)


def test_multi_worker_training_needs_a_run_dir(tmp_path):
    config = json.dumps({"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                         "task": {"type": "worker", "index": 0}})
    run = subprocess.run([sys.executable, "train.py", "--strategy=multi_worker",
                          f"--runs_dir={tmp_path}", *TINY_TRAIN_FLAGS],
                         cwd=REPO_ROOT, env=dict(os.environ, TF_CONFIG=config),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "--strategy=multi_worker needs --run_dir" in run.stderr


def test_tf_configs_name_every_worker_and_their_own_index():
    configs = [json.loads(c) for c in launch.tf_configs(["127.0.0.1:5000", "127.0.0.1:5001"])]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": 0},
                                            {"type": "worker", "index": 1}]
    assert all(c["cluster"] == {"worker": ["127.0.0.1:5000", "127.0.0.1:5001"]} for c in configs)
    ports = launch.free_ports(3)
    assert len(set(ports)) == 3 and all(port > 0 for port in ports)


def test_launcher_restarts_a_failing_group_then_gives_up():
    output = io.StringIO()
    # Worker 1 prints its TF_CONFIG and fails; worker 0 waits (for the launcher's SIGTERM).
    script = ("import json, os, sys, time; print(os.environ['TF_CONFIG']); "
              "json.loads(os.environ['TF_CONFIG'])['task']['index'] == 1 and sys.exit(3); "
              "time.sleep(60)")
    code = launch.launch([sys.executable, "-c", script], 2, max_restarts=1, grace_seconds=1,
                         output=output)
    text = output.getvalue()
    assert code == 3
    assert "worker 1 exited with code 3; restarting all 2 workers (restart 1 of 1)" in text
    assert "worker 1 exited with code 3; no restarts left" in text
    assert text.count('"task": {"type": "worker", "index": 1}') == 2  # both attempts


# Worker 1 fails at once (code 5). Worker 0 fails (code 7) 20 ms after worker 1 has ended
# (/proc shows it a zombie, or gone once reaped): within one 0.2 s poll, had the launcher polled.
FAIL_AFTER_WORKER_1 = """
import json, os, sys, time
pid_file = sys.argv[1]
if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
    with open(pid_file + ".part", "w") as file:
        file.write(str(os.getpid()))
    os.replace(pid_file + ".part", pid_file)
    sys.exit(5)
while not os.path.exists(pid_file):
    time.sleep(0.001)
with open(pid_file) as file:
    pid = file.read()
def running():
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
while running():
    time.sleep(0.001)
time.sleep(0.02)
sys.exit(7)
"""


def test_launcher_reports_the_worker_that_failed_first(tmp_path):
    for attempt in range(5):  # a launcher that polled in index order would misreport most
        output = io.StringIO()
        command = [sys.executable, "-c", FAIL_AFTER_WORKER_1, str(tmp_path / f"pid-{attempt}")]
        assert launch.launch(command, 2, max_restarts=0, grace_seconds=1, output=output) == 5
        assert "[launch] worker 1 exited with code 5; no restarts left" in output.getvalue()


def test_launcher_returns_zero_when_every_worker_finishes():
    output = io.StringIO()
    assert launch.launch([sys.executable, "-c", "print('hello')"], 2, output=output) == 0
    assert "[worker 0] hello" in output.getvalue() and "[worker 1] hello" in output.getvalue()


@pytest.mark.parametrize("arguments, message", [
    (["--workers=2"], "give the training command after --"),
    (["--workers=0", "--", "train.py"], "--workers must be >= 1"),
    (["--max_restarts=-1", "--", "train.py"], "--max_restarts must be >= 0"),
    (["--threads_per_worker=-1", "--", "train.py"], "--threads_per_worker must be >= 0"),
    (["--grace_seconds=-1", "--", "train.py"], "--grace_seconds must be >= 0, got -1.0"),
])
def test_launcher_flag_errors(arguments, message, capsys):
    with pytest.raises(SystemExit):
        launch.parse_args(arguments)
    assert message in capsys.readouterr().err
