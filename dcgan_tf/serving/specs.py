"""Model specs: what ``--model`` of every verb can name, and how it resolves. No TensorFlow, so the
scripts' flag help and checks stay quick.

A model spec (``--model``) is one of
    - a run folder (its newest checkpoint), or a checkpoint prefix inside a run
      (``runs/00001-x/checkpoints/ckpt-1200``);
    - the name of a packaged model (``celeba64``, see ``dcgan_tf.pretrained``);
    - an exported SavedModel folder (``export/dcgan/1``), which completes through its own
      signatures (``clients``) instead of being restored into networks (``loading``);
    - "latest": the newest run in ``runs_dir`` (e.g. the one ``python train.py`` just made);
    - "" (no --model): the packaged default model, ``celeba64``.

That is the one rule of every verb (complete, the web app, export, evaluate, the benches): a
missing --model never picks up a run of the working folder, so what a command completes does not
depend on what was trained there before; ``--model=latest`` asks for that run.
"""

import os

from dcgan_tf import pretrained
from dcgan_tf.models import runs

RUN, CHECKPOINT, PACKAGED, SAVED_MODEL = "run", "checkpoint", "packaged", "saved_model"
LATEST_RUN = "latest"
MODEL_HELP = ("Packaged model name (celeba64), run folder, checkpoint prefix, exported SavedModel "
              f"folder, or '{LATEST_RUN}' for the newest run in --runs_dir; default: the packaged "
              "celeba64, whatever runs the working folder holds.")


def is_saved_model(path: str) -> bool:
    """Whether ``path`` is an exported SavedModel folder (it holds ``saved_model.pb``)."""
    return bool(path) and os.path.isfile(os.path.join(path, "saved_model.pb"))


def resolve(model: str = "", runs_dir: str = "runs") -> tuple[str, str]:
    """The kind (``RUN``, ``CHECKPOINT``, ``PACKAGED`` or ``SAVED_MODEL``) and path (or
    packaged name) of a model spec.

    Raises:
        ValueError: naming --model when it is none of these.
    """
    if not model:
        return PACKAGED, pretrained.DEFAULT_MODEL
    if model == LATEST_RUN:
        newest = runs.list_runs(runs_dir)
        if not newest:
            raise ValueError(f"--model={LATEST_RUN}: no run in --runs_dir {runs_dir}")
        return RUN, newest[-1]
    if is_saved_model(model):
        return SAVED_MODEL, model
    if os.path.exists(model + ".index"):
        return CHECKPOINT, model
    if os.path.isdir(model):
        return RUN, model
    if pretrained.model_dir(model):
        return PACKAGED, model
    names = ", ".join(pretrained.available()) or "none"
    raise ValueError(f"--model must be a run folder, a checkpoint prefix, an exported SavedModel "
                     f"folder or a packaged model name (packaged: {names}); got {model}")
