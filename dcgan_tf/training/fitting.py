"""Fitting a model inside a run folder with the callbacks every run has (a stop on NaN/Inf losses,
a graceful stop on SIGINT/SIGTERM, periodic checkpoints, TensorBoard scalars), from its global
step to the end, across resumes: the GAN (``loop``) and the encoder (``encoder_trainer``)."""

import dataclasses
import logging
import os
import sys

import keras
import tensorflow as tf

from dcgan_tf.models.config import TrainConfig
from dcgan_tf.training import callbacks as run_callbacks, distribute

log = logging.getLogger(__name__)


class TrainingDiverged(ValueError):
    """The losses became NaN or infinite; the message says which step and how to resume."""


@dataclasses.dataclass
class TrainResult:
    """What a finished (or stopped) run reports: its folder, global step, the Keras history of
    this invocation and the trained objects as they are in this process (``Networks`` for the
    GAN, the ``EncoderTrainer`` for the encoder)."""

    run_dir: str
    step: int
    history: dict
    trained: object = None


def fit_in_run(model: keras.Model, manager: tf.train.CheckpointManager, dataset,
               config: TrainConfig, *, run_dir: str, step: int, steps_per_epoch: int,
               total_steps: int, logs_dir: str, extra_callbacks, chief: bool = True,
               strategy: tf.distribute.Strategy | None = None, graph: bool = True,
               verbose="auto", raise_flags: str,
               lower_rate: str = "--learning_rate=1e-4") -> dict:
    """Fits ``model`` from global ``step`` to ``total_steps`` with the callbacks every run has:
    a stop on NaN/Inf losses (first, so it vetoes the saves of its step), a graceful stop on
    SIGINT/SIGTERM (agreed across workers), checkpoints through ``manager`` every
    ``config.checkpoint_every`` steps and at the end, and on the chief TensorBoard scalars in
    ``logs_dir`` (with the model's graph when ``graph``) plus
    ``extra_callbacks(writer, guard)``.

    Returns:
        The Keras history of this invocation ({} when ``step`` already reached the end).

    Raises:
        TrainingDiverged: saying how to resume with a lower rate (``lower_rate``).
    """
    if step >= total_steps:
        log.info("%s already reached %d steps; raise %s to train further", run_dir, total_steps,
                 raise_flags)
        return {}
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    guard = run_callbacks.StopOnNonFinite()
    together = strategy if strategy and distribute.worker_count(strategy) > 1 else None
    callbacks = [guard, run_callbacks.GracefulStop(together),
                 run_callbacks.PeriodicCheckpoint(manager, config.checkpoint_every, guard)]
    if chief:
        writer = tf.summary.create_file_writer(logs_dir)
        callbacks += [run_callbacks.TensorBoardLogger(writer, config.log_every, graph=graph),
                      *extra_callbacks(writer, guard)]
    for callback in callbacks:
        if isinstance(callback, run_callbacks.EveryNSteps):
            callback.final_step = total_steps
    history = _fit(model, dataset, callbacks, step, steps_per_epoch, total_steps, verbose)
    if guard.diverged is not None:
        diverged_step, losses = guard.diverged
        last = manager.latest_checkpoint
        kept = (f"the last good checkpoint, {os.path.basename(last)}, is kept" if last
                else "no checkpoint was written before it")
        raise TrainingDiverged(
            f"training diverged at step {diverged_step}: {', '.join(losses)} became NaN or "
            f"infinite, so the run stopped without saving; {kept}. Resume from it with a lower "
            f"learning rate: python train.py --run_dir={run_dir} {lower_rate}")
    return history


def _fit(model, dataset, callbacks, step, steps_per_epoch, total_steps, verbose) -> dict:
    """Runs ``fit`` from global ``step`` to ``total_steps``: first the rest of a partly done
    epoch, then whole ones, then a last partial one when ``total_steps`` is not a multiple of
    ``steps_per_epoch``."""
    history = {}
    epoch, done_in_epoch = divmod(step, steps_per_epoch)
    phases = []
    if done_in_epoch:
        phases.append((epoch, epoch + 1, min(steps_per_epoch - done_in_epoch,
                                             total_steps - step)))
        epoch += 1
    whole = (total_steps - epoch * steps_per_epoch) // steps_per_epoch
    if whole > 0:
        phases.append((epoch, epoch + whole, steps_per_epoch))
        epoch += whole
    if total_steps - epoch * steps_per_epoch > 0:
        phases.append((epoch, epoch + 1, total_steps - epoch * steps_per_epoch))
    for initial_epoch, epochs, steps in phases:
        result = model.fit(dataset, initial_epoch=initial_epoch, epochs=epochs,
                           steps_per_epoch=steps, callbacks=callbacks, verbose=verbose,
                           shuffle=False)  # the dataset shuffles itself
        for name, values in result.history.items():
            history.setdefault(name, []).extend(values)
        if model.stop_training:
            break
    return history
