"""The real `tensorboard` program serves a run's scalars and sample images over its HTTP API."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import tensorflow as tf


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port, path, **query):
    url = f"http://127.0.0.1:{port}{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


@pytest.fixture
def tensorboard_server(tiny_run):
    _, result = tiny_run
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", os.path.join(result.run_dir, "logs"),
         "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def _poll_json(port, path, ready, timeout=90.0, **query):
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = json.loads(_get(port, path, **query))
            if ready(answer):
                return answer
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            pytest.fail(f"tensorboard did not serve {path} within {timeout} s")
        time.sleep(0.5)


def test_tensorboard_serves_scalars_and_sample_images(tensorboard_server):
    port = tensorboard_server
    scalar_tags = _poll_json(port, "/data/plugin/scalars/tags", lambda tags: "." in tags)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(scalar_tags["."])
    points = json.loads(_get(port, "/data/plugin/scalars/scalars", run=".", tag="d_loss"))
    assert [step for _, step, _ in points] == [1, 2, 3]
    assert all(0.0 < value < 10.0 for _, _, value in points)

    image_tags = _poll_json(port, "/data/plugin/images/tags", lambda tags: "." in tags)
    assert "samples" in image_tags["."]
    entries = json.loads(_get(port, "/data/plugin/images/images", run=".", tag="samples",
                              sample=0))
    assert [entry["step"] for entry in entries] == [2, 3]
    png = _get(port, "/data/plugin/images/individualImage?" + entries[-1]["query"])
    grid = tf.io.decode_png(png).numpy()
    assert grid.shape == (70, 70, 3) and grid.std() > 0


def test_tensorboard_serves_completion_previews(tensorboard_server):
    """--preview_every: held-out faces completed (masked | completed | original, two a row)
    and their mean hole PSNR, at every second step and the last."""
    port = tensorboard_server
    image_tags = _poll_json(port, "/data/plugin/images/tags",
                            lambda tags: "completion_preview" in tags.get(".", {}))
    assert "completion_preview" in image_tags["."]
    entries = json.loads(_get(port, "/data/plugin/images/images", run=".",
                              tag="completion_preview", sample=0))
    assert [entry["step"] for entry in entries] == [2, 3]
    grid = tf.io.decode_png(_get(port, "/data/plugin/images/individualImage?"
                                 + entries[-1]["query"])).numpy()
    rows, columns = 4, 6  # 8 faces, each masked | completed | original, two faces a row
    assert grid.shape == (2 + rows * 34, 2 + columns * 34, 3)
    masked, completed = grid[2:34, 2:34], grid[2:34, 36:68]
    assert np.abs(masked.astype(int) - completed).max() > 0  # the hole got filled
    points = json.loads(_get(port, "/data/plugin/scalars/scalars", run=".",
                             tag="preview_hole_psnr"))
    assert [step for _, step, _ in points] == [2, 3]
    assert all(3.0 < value < 40.0 for _, _, value in points)
