"""Test set-up: split the CPU into two logical devices before TensorFlow starts, so tests can run
MirroredStrategy with two replicas on any machine; keep TensorFlow's logs quiet."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dataclasses  # noqa: E402

import pytest  # noqa: E402
from PIL import Image  # noqa: E402
import tensorflow as tf  # noqa: E402

_CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _CPU, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(REPO_ROOT, "..", "shared", "data")


@pytest.fixture
def two_cpus():
    """Names of the two logical CPU devices."""
    return ["/cpu:0", "/cpu:1"]


def _tiny_config():
    from dcgan_tf.config import TrainConfig
    return TrainConfig(image_size=32, latent_dim=8, g_filters=4, d_filters=4, batch_size=8,
                       epochs=1, steps_per_epoch=3, checkpoint_every=2, sample_every=2,
                       log_every=1, num_samples=4, strategy="default", preview_every=0,
                       held_out_faces=0)


TINY = _tiny_config()


def _faces():
    from dcgan_tf import synthetic
    return synthetic.faces(16, seed=1, image_size=32)


FACES = _faces()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(config, TrainResult) of one 3-step run on 16 synthetic faces, shared by the session.
    Tests must not change it (copy the folder first)."""
    from dcgan_tf import train_lib
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path_factory.mktemp("runs")),
                                 preview_every=2, held_out_faces=8)
    return config, train_lib.run(config, images=FACES, verbose=0)


def scaled_generator(latent_dim: int, image_size: int):
    """A width-4 generator whose kernels are scaled up 25x: an untrained G(z) with the usual
    N(0, 0.02) kernels is nearly flat, and tests of the z-search need images that vary with z."""
    from dcgan_tf import models
    tf.keras.utils.set_random_seed(3)
    generator = models.build_generator(latent_dim, image_size, 4)
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
