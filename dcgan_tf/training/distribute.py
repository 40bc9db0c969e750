"""One place that turns a strategy name into a ``tf.distribute.Strategy``.

Names:
    auto:         MirroredStrategy over all GPUs when there are several, else the default strategy.
    default:      the default (no-op) strategy: one device, TensorFlow places ops itself.
    one_device:   OneDeviceStrategy on the first listed device (or the first GPU, else the CPU).
    mirrored:     MirroredStrategy over the listed devices (or all GPUs, else the CPU).
    multi_worker: MultiWorkerMirroredStrategy configured by the TF_CONFIG environment variable.

Batch sizes given to the data pipeline are global: each of the R replicas gets batch / R examples,
and the learning rate applies to the gradient of the mean loss over the global batch.
"""

import json
import os

import tensorflow as tf

from dcgan_tf.models.config import STRATEGIES as STRATEGY_NAMES


def get_strategy(name: str = "auto", devices=()) -> tf.distribute.Strategy:
    """Builds the named strategy.

    Args:
        name: one of ``STRATEGY_NAMES``.
        devices: device strings (e.g. "/gpu:0") for one_device and mirrored; empty = automatic.

    Raises:
        ValueError: unknown name, devices given to a strategy that takes none, or multi_worker
            without a valid TF_CONFIG.
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(f"--strategy must be one of {', '.join(STRATEGY_NAMES)}; got {name!r}")
    devices = list(devices)
    if devices and name not in ("one_device", "mirrored"):
        raise ValueError(f"--devices only applies to --strategy=one_device or mirrored, "
                         f"not {name}")
    if name == "multi_worker":  # before anything else initialises TensorFlow's context
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = [f"/gpu:{i}" for i in range(len(tf.config.list_logical_devices("GPU")))]
    if name == "auto":
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy(gpus)
        return tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy((devices or gpus or ["/cpu:0"])[0])
    return tf.distribute.MirroredStrategy(devices or gpus or ["/cpu:0"])  # mirrored


def _check_tf_config() -> None:
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                         "(cluster and task); see the README section on several machines")
    try:
        config = json.loads(raw)
        config["cluster"]["worker"]
        config["task"]["type"], config["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"TF_CONFIG is not valid JSON with cluster.worker and task.type/index: "
                         f"{error}") from error


def worker_count(strategy: tf.distribute.Strategy) -> int:
    """Number of worker processes training together (1 unless multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    cluster = resolver.cluster_spec().as_dict()
    return max(1, len(cluster.get("worker", [])) + len(cluster.get("chief", [])))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True for the one worker that writes checkpoints, logs and samples."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and "chief" not in resolver.cluster_spec().as_dict())
