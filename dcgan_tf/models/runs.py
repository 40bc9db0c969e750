"""Run folders: numbering, the newest run, the saved config, resume checks.

A run lives in ``<runs_dir>/NNNNN-<name>/``:
    config.json        the TrainConfig of the run
    checkpoints/       tf.train checkpoints (generator, discriminator, both optimizers, fixed z)
    logs/              TensorBoard events: scalars, sample grids, the G -> D graph
    samples/           step-NNNNNN.png grids of G(fixed z) and progress.gif
    encoder/           with ``train.py --encoder``: checkpoints of the encoder (and of the
                       generator step it was trained against); logs/encoder/ and
                       samples/encoder-step-NNNNNN.png hold its curves and reconstructions
    landmarks.npz      with ``--crop=align``: the face landmarks detected in each photo of the
                       data, so a resumed run does not detect them again
"""

import json
import os
import re

from dcgan_tf import files
from dcgan_tf.models.config import FIXED_FIELDS, TrainConfig

CONFIG_FILE = "config.json"
CHECKPOINTS_DIR = "checkpoints"
LOGS_DIR = "logs"
SAMPLES_DIR = "samples"
ENCODER_DIR = "encoder"
LANDMARKS_FILE = "landmarks.npz"
_RUN_DIR = re.compile(r"^(\d{5})-(.+)$")


def default_run_name(config: TrainConfig) -> str:
    """``run_name``, or a name from the data source and image size, e.g. ``celeba_train-64``."""
    if config.run_name:
        return config.run_name
    stem = os.path.splitext(os.path.basename(os.path.normpath(config.data)))[0] or "data"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)
    return f"{stem}-{config.image_size}"


def list_runs(runs_dir: str, name: str = "") -> list[str]:
    """Run folders in ``runs_dir`` (optionally only those called ``name``), oldest first."""
    if not os.path.isdir(runs_dir):
        return []
    runs = []
    for entry in os.listdir(runs_dir):
        match = _RUN_DIR.match(entry)
        if match and os.path.isdir(os.path.join(runs_dir, entry)) and name in ("", match[2]):
            runs.append((int(match[1]), os.path.join(runs_dir, entry)))
    return [path for _, path in sorted(runs)]


def new_run_dir(runs_dir: str, name: str) -> str:
    """Creates and returns ``<runs_dir>/<next number>-<name>``."""
    os.makedirs(runs_dir, exist_ok=True)
    numbers = [int(_RUN_DIR.match(os.path.basename(p))[1]) for p in list_runs(runs_dir)]
    path = os.path.join(runs_dir, f"{max(numbers, default=-1) + 1:05d}-{name}")
    os.makedirs(path)
    return path


def latest_run_dir(runs_dir: str, name: str = "") -> str:
    """The newest run (of that name, if given).

    Raises:
        ValueError: when there is none.
    """
    runs = list_runs(runs_dir, name)
    if not runs:
        what = f"runs named {name!r}" if name else "runs"
        raise ValueError(f"--resume: no {what} to resume in --runs_dir {runs_dir}")
    return runs[-1]


def load_config(run_dir: str) -> TrainConfig | None:
    """The run's saved config, or None for a new (empty) run folder.

    Raises:
        ValueError: naming the file when it is not a valid config.
    """
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as handle:
            values = json.load(handle)
        if not isinstance(values, dict):
            raise ValueError(f"a JSON object is expected, not {type(values).__name__}")
        return TrainConfig.from_dict(values)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path} is not a valid run config: {error}") from error


def save_config(run_dir: str, config: TrainConfig) -> None:
    """Writes the run's ``config.json`` atomically."""
    files.atomic_write_text(os.path.join(run_dir, CONFIG_FILE), config.to_json() + "\n")


def check_resumable(saved: TrainConfig | None, config: TrainConfig, run_dir: str) -> None:
    """Refuses to resume with a different architecture than the checkpoint was trained with, or
    with other held-out faces, or into or out of float16 (whose loss scaling wraps the optimizers
    in the checkpoint). Float32 and bfloat16 compute may follow each other: the variables are
    float32 under both.

    Raises:
        ValueError: listing each changed flag.
    """
    if saved is None:
        return
    changed = [f"--{field} {getattr(saved, field)} -> {getattr(config, field)}"
               for field in FIXED_FIELDS if getattr(saved, field) != getattr(config, field)]
    if (saved.mixed_precision == "float16") != (config.mixed_precision == "float16"):
        changed.append(f"--mixed_precision {saved.mixed_precision} -> {config.mixed_precision}")
    if changed:
        raise ValueError(f"cannot resume {run_dir} with a different architecture or held-out set: "
                         f"{', '.join(changed)}")
