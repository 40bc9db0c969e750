"""Test set-up: split the CPU into two logical devices before TensorFlow starts, so tests can run
MirroredStrategy with two replicas on any machine; keep TensorFlow's logs quiet.

Hermetic: every test runs in its own temporary working folder, and the session's processes (the
xdist workers and every script a test starts, which inherit the environment) get a temporary
HOME, so no test reads or writes ./runs, ./export or a user's cache (~/.cache/dcgan_tf, ~/.keras).
The session fails if a file of the checkout changed all the same. Each TensorFlow process is held
to one intra-op thread (two inter-op), as the README recommends for processes that share cores:
the suite runs two workers, and each may start a script, on the machine's two cores.
"""

import importlib.util
import os
import sys
import tempfile

_OWN_HOME = "DCGAN_TEST_HOME" not in os.environ
if _OWN_HOME:  # once, in the first process; the others inherit it
    os.environ["DCGAN_TEST_HOME"] = tempfile.mkdtemp(prefix="dcgan-tests-home-")
    for variable in ("HOME", "XDG_CACHE_HOME", "KERAS_HOME"):
        os.environ[variable] = os.environ["DCGAN_TEST_HOME"]
    os.environ.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hypothesis import configuration as hypothesis_configuration  # noqa: E402

# Hypothesis keeps its example database under the working folder the session started in.
hypothesis_configuration.set_hypothesis_home_dir(
    os.path.join(os.environ["DCGAN_TEST_HOME"], ".hypothesis"))

import dataclasses  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
import tensorflow as tf  # noqa: E402

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _CPU, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(REPO_ROOT, "..", "shared", "data")


def load_script(*path: str):
    """A script of the checkout (``load_script("bench", "photo_quality.py")``) imported as a
    module, to call its functions in this process; its folder is on ``sys.path`` while it is
    imported, as when it runs (a bench imports its sibling ``complete_quality``)."""
    script = os.path.join(REPO_ROOT, *path)
    sys.path.insert(0, os.path.dirname(script))
    try:
        spec = importlib.util.spec_from_file_location(
            os.path.splitext(os.path.basename(script))[0], script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.dirname(script))
    return module


def _checkout_files() -> dict:
    """{path: (size, mtime)} of the files in the checkout that git does not track (./runs,
    ./export, ...; the tracked ones are the developer's to edit while tests run), but bytecode
    and pip's metadata."""
    listing = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True)
    tracked = set(listing.stdout.splitlines()) if listing.returncode == 0 else set()
    files = {}
    for folder, subfolders, names in os.walk(REPO_ROOT):
        subfolders[:] = [name for name in subfolders if name not in (".git", "__pycache__")
                         and not name.endswith(".egg-info")]
        for name in names:
            path = os.path.relpath(os.path.join(folder, name), REPO_ROOT)
            if path not in tracked:
                status = os.stat(os.path.join(REPO_ROOT, path))
                files[path] = (status.st_size, status.st_mtime_ns)
    return files


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the controller: once per session
        session.config.checkout_before = _checkout_files()


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return
    before, after = session.config.checkout_before, _checkout_files()
    changed = sorted(path for path in before.keys() | after.keys()
                     if before.get(path) != after.get(path))
    if changed:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"NOT HERMETIC: the tests changed {len(changed)} file(s) of the checkout: "
            f"{', '.join(changed[:10])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _OWN_HOME:
        shutil.rmtree(os.environ["DCGAN_TEST_HOME"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _in_a_temporary_folder(tmp_path, monkeypatch):
    """Each test runs in its own empty working folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def two_cpus():
    """Names of the two logical CPU devices."""
    return ["/cpu:0", "/cpu:1"]


def _tiny_config():
    from dcgan_tf.models.config import TrainConfig
    return TrainConfig(image_size=32, latent_dim=8, g_filters=4, d_filters=4, batch_size=8,
                       epochs=1, steps_per_epoch=3, checkpoint_every=2, sample_every=2,
                       log_every=1, num_samples=4, strategy="default", preview_every=0,
                       held_out_faces=0)


TINY = _tiny_config()


def _faces():
    from dcgan_tf.data import synthetic
    return synthetic.faces(16, seed=1, image_size=32)


FACES = _faces()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(config, TrainResult) of one 3-step run on 16 synthetic faces, shared by the session.
    Tests must not change it (copy the folder first)."""
    from dcgan_tf.training import loop
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path_factory.mktemp("runs")),
                                 preview_every=2, held_out_faces=8)
    return config, loop.run(config, images=FACES, verbose=0)


@pytest.fixture(scope="session")
def tiny_run_128(tmp_path_factory):
    """(config, TrainResult) of ``tiny_run`` at 128 px (4 faces previewed at its last step)
    whose config says it trained on the celeba_face crop (so the run records that crop's face
    template), with an encoder trained against it for 2 steps. Tests must not change it."""
    from dcgan_tf.data import synthetic
    from dcgan_tf.training import encoder_trainer, loop
    config = dataclasses.replace(
        TINY, image_size=128, runs_dir=str(tmp_path_factory.mktemp("runs")), preview_every=3,
        held_out_faces=4, crop="celeba_face", encoder_filters=4, encoder_steps=2)
    faces = synthetic.faces(16, seed=1, image_size=128)
    result = loop.run(config, images=faces, verbose=0)
    encoder_trainer.train_encoder(config, result.run_dir, images=faces, verbose=0)
    return config, result


FACE_SEED = 4_000_037  # latents of the packaged model's faces that photo tests place in scenes


@pytest.fixture(scope="session")
def celeba64():
    """The packaged model, loaded once per test process."""
    from dcgan_tf.serving import loading
    return loading.load("celeba64")


@pytest.fixture(scope="session")
def celeba64_faces(celeba64):
    """The packaged model's generated faces uint8 [4, 64, 64, 3] (``FACE_SEED``); the first ones
    MTCNN finds most surely."""
    from dcgan_tf.models import sampling
    return sampling.sample_images(celeba64.generator, 4, FACE_SEED,
                                  celeba64.config.latent_prior)


def face_photo(face, *, size=(320, 360), angle=12.0, scale=2.5, centre=(180, 160),
               background=None):
    """A photo [H, W, 3] with ``face`` placed rotated by ``angle`` degrees, ``scale`` photo
    pixels per face pixel, around ``centre`` (x, y)."""
    from dcgan_tf.photo import scenes
    return scenes.scene([face], [(*centre, angle, scale)], size, background)


def detection_row(box, confidence, landmarks) -> np.ndarray:
    """A row of MTCNN's numpy output: image index, box (x, y, width, height), confidence, the
    five landmarks' x, then their y."""
    landmarks = np.asarray(landmarks, np.float64)
    return np.concatenate([[0.0], box, [confidence], landmarks[:, 0], landmarks[:, 1]])


class StubDetector:
    """MTCNN's ``detect_faces`` answering ``rows`` (after the real detector's rows, when
    ``real`` is given), and keeping the options it was called with."""

    def __init__(self, rows, real=None):
        self.rows, self.real, self.options = list(rows), real, []

    def detect_faces(self, image, **options):
        self.options.append(options)
        found = [] if self.real is None else list(self.real.detect_faces(image, **options))
        return np.array(found + self.rows).reshape(-1, 16)


def face_landmarks(box) -> np.ndarray:
    """[5, 2] landmarks of an upright face filling ``box`` (x, y, width, height) as MTCNN's
    do: the eyes 0.44 of its width apart."""
    x, y, width, height = box
    relative = [(0.28, 0.36), (0.72, 0.36), (0.5, 0.56), (0.32, 0.78), (0.68, 0.78)]
    return np.array([(x + u * width, y + v * height) for u, v in relative])


def scaled_generator(latent_dim: int, image_size: int):
    """A width-4 generator whose kernels are scaled up 25x: an untrained G(z) with the usual
    N(0, 0.02) kernels is nearly flat, and tests of the z-search need images that vary with z."""
    from dcgan_tf.models import networks
    tf.keras.utils.set_random_seed(3)
    generator = networks.build_generator(latent_dim, image_size, 4)
    for weight in generator.weights:
        if "kernel" in weight.path:
            weight.assign(weight * 25.0)
    return generator


def gif_duration_ms(path) -> int:
    """Total duration of an animated GIF. Pillow merges identical consecutive frames (a tiny
    model may not change a uint8 picture in one step) by adding their durations, so tests count
    frames by the total duration."""
    with Image.open(path) as gif:
        total = 0
        for frame in range(gif.n_frames):
            gif.seek(frame)
            total += gif.info["duration"]
    return total
