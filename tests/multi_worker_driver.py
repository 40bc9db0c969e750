"""One worker of a test cluster (started by dcgan_tf.training.launch, which sets TF_CONFIG), or a
lone process (e.g. with two replicas in it): trains the tiny test model on synthetic faces with
the given strategy, one step an epoch (so the history holds every step's losses), and saves the
weights it ends with and the losses to <out>/worker-<task index>.npz, so a test can compare the
workers with each other and with two replicas in one process. TensorFlow runs on THREADS
intra-op and inter-op threads in every mode, so no side splits its arithmetic differently.

    python tests/multi_worker_driver.py STRATEGY|two_local_replicas RUN_DIR OUT_DIR [STEPS]
"""

import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dcgan_tf.data import synthetic  # noqa: E402
from dcgan_tf.models.config import TrainConfig  # noqa: E402
from dcgan_tf.training import distribute, loop  # noqa: E402

THREADS = 1
CONFIG = TrainConfig(image_size=32, latent_dim=8, g_filters=4, d_filters=4, batch_size=8,
                     epochs=4, steps_per_epoch=1, checkpoint_every=2, num_samples=4, flip=False)


def _strategy(name: str):
    """A named strategy, or "two_local_replicas": MirroredStrategy over two logical CPUs."""
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    if name != "two_local_replicas":
        return distribute.get_strategy(name)  # next: MWMS must set up TensorFlow itself
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def main(strategy_name: str, run_dir: str, out_dir: str, steps: str = "4") -> None:
    strategy = _strategy(strategy_name)
    faces = synthetic.faces(32, seed=1, image_size=32)
    config = dataclasses.replace(CONFIG, epochs=int(steps))
    result = loop.run(config, run_dir=run_dir, images=faces, strategy=strategy, verbose=0)
    model = result.trained.gan
    weights = [np.asarray(w) for w in model.generator.weights + model.discriminator.weights]
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0)
    os.makedirs(out_dir, exist_ok=True)
    np.savez(os.path.join(out_dir, f"worker-{task}.npz"), *weights, step=result.step,
             d_loss=result.history["d_loss"], g_loss=result.history["g_loss"])


if __name__ == "__main__":
    main(*sys.argv[1:])
