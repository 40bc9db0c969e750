"""Keras callbacks of a training run: TensorBoard scalars/images/graph, sample grids, checkpoints,
and a graceful stop on SIGINT/SIGTERM.

Every callback reads the global step from the GAN's ``steps_done`` (for ``train.py --encoder``,
the encoder optimizer's ``iterations``), so the numbers continue across resumed runs.
"""

import glob
import logging
import os
import signal
import threading

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf import images as image_utils
from dcgan_tf.evaluation import distribution_metrics, image_metrics
from dcgan_tf.inpainting import search
from dcgan_tf.models import encoder as encoder_lib, sampling

log = logging.getLogger(__name__)


def global_step(model) -> int:
    """Training steps done so far, restored with checkpoints: the GAN's ``steps_done``, else
    the updates of the model's one optimizer (the encoder's)."""
    counter = getattr(model, "steps_done", None)
    return int((model.optimizer.iterations if counter is None else counter).numpy())


class TensorBoardLogger(keras.callbacks.Callback):
    """Writes the training scalars every ``every`` steps and once more, the last step's, when
    training ends (so a run shorter than ``every`` still logs them); with ``graph``, also the
    G -> D graph once."""

    def __init__(self, writer: tf.summary.SummaryWriter, every: int, graph: bool = True):
        super().__init__()
        self.writer = writer
        self.every = every
        self.graph_written = not graph
        self.last_logs = {}  # on_train_end gets no batch logs: the last batch's are kept here
        self.logged_step = -1

    def on_train_begin(self, logs=None):
        if self.graph_written:  # a resumed run calls fit() twice (rest of an epoch, then more)
            return
        self.graph_written = True
        generator, discriminator = self.model.generator, self.model.discriminator
        forward = tf.function(lambda latents: discriminator(generator(latents)))
        graph = forward.get_concrete_function(
            tf.TensorSpec([None, self.model.latent_dim], tf.float32, name="latents")).graph
        with self.writer.as_default():
            tf.summary.graph(graph)

    def on_train_batch_end(self, batch, logs=None):
        self.last_logs = dict(logs or {})
        step = global_step(self.model)
        if step % self.every == 0:
            self._write_once(step)

    def on_train_end(self, logs=None):
        self._write_once(global_step(self.model))
        self.writer.flush()

    def _write_once(self, step: int) -> None:
        """Writes the last batch's scalars at ``step`` unless that step is already written (the
        end of one fit() of a resumed run can fall on a multiple of ``every``)."""
        if step == self.logged_step or not self.last_logs:
            return
        with self.writer.as_default(step=step):
            for name, value in self.last_logs.items():
                tf.summary.scalar(name, value)
        self.logged_step = step


class EveryNSteps(keras.callbacks.Callback):
    """Calls ``act(step)`` every ``every`` global steps and once more when training ends (at
    ``final_step``, or stopped early); never after ``guard`` (a StopOnNonFinite listed earlier)
    has seen the losses diverge.

    ``final_step`` (set by ``fitting.fit_in_run``; None: every ``fit`` is the whole training)
    keeps the end of a resumed run's first ``fit``, the rest of a partly done epoch, from
    counting as the end of training (an FID there cost minutes for nothing)."""

    def __init__(self, every: int, guard: "StopOnNonFinite"):
        super().__init__()
        self.every = every
        self.guard = guard
        self.last_step = -1
        self.final_step = None

    def act(self, step: int) -> None:
        raise NotImplementedError

    def on_train_batch_end(self, batch, logs=None):
        step = global_step(self.model)
        if step % self.every == 0:
            self._act_once(step)

    def on_train_end(self, logs=None):
        step = global_step(self.model)
        if self.final_step is None or step >= self.final_step or self.model.stop_training:
            self._act_once(step)
            self.finish()

    def finish(self) -> None:
        """Called once training ends, after the last ``act`` (also after a divergence)."""

    def _act_once(self, step: int) -> None:
        if self.guard.diverged is not None:
            return
        if step != self.last_step:
            self.act(step)
            self.last_step = step


class SampleGrid(EveryNSteps):
    """Every ``every`` steps and at the end: G(fixed latents) (with G's averaged weights when
    the run keeps an average) as ``samples/step-NNNNNN.png`` and as
    a TensorBoard image; at the end also ``samples/progress.gif`` of all grids so far."""

    def __init__(self, fixed_latents: tf.Variable, samples_dir: str, every: int,
                 writer: tf.summary.SummaryWriter, guard: "StopOnNonFinite"):
        super().__init__(every, guard)
        self.fixed_latents = fixed_latents
        self.samples_dir = samples_dir
        self.writer = writer

    def act(self, step: int) -> None:
        with self.model.averaged_generator() as generator:
            generated = image_utils.to_uint8(generator(self.fixed_latents, training=False))
        grid = image_utils.make_grid(generated)
        image_utils.save_png(os.path.join(self.samples_dir, f"step-{step:06d}.png"), grid)
        with self.writer.as_default(step=step):
            tf.summary.image("samples", grid[np.newaxis])

    def finish(self) -> None:
        frames = sorted(glob.glob(os.path.join(self.samples_dir, "step-*.png")))
        image_utils.save_gif(os.path.join(self.samples_dir, "progress.gif"),
                             [image_utils.load_png(path) for path in frames])


class ReconstructionGrid(EveryNSteps):
    """For ``train.py --encoder``: every ``every`` steps and at the end, a grid of three rows (the
    masked images, their reconstructions G(E(masked)), the originals) with one column per image
    and its mask, as ``samples/encoder-step-NNNNNN.png`` and a TensorBoard image."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, samples_dir: str, every: int,
                 writer: tf.summary.SummaryWriter, guard: "StopOnNonFinite"):
        super().__init__(every, guard)
        self.images, self.masks = images, masks
        self.samples_dir, self.writer = samples_dir, writer

    def act(self, step: int) -> None:
        latents = encoder_lib.encode(self.model.encoder, self.images, self.masks)
        reconstructed = self.model.generator(latents, training=False).numpy()
        masked = self.images * self.masks + (1.0 - self.masks)  # the hole in white
        grid = image_utils.make_grid(image_utils.to_uint8(
            np.concatenate([masked, reconstructed, self.images])), columns=len(self.images))
        image_utils.save_png(os.path.join(self.samples_dir, f"encoder-step-{step:06d}.png"), grid)
        with self.writer.as_default(step=step):
            tf.summary.image("encoder_reconstructions", grid[np.newaxis])


class CompletionPreview(EveryNSteps):
    """Every ``every`` steps and at the end: held-out faces completed by a short search with the
    generator as it is (averaged, when the run keeps an average), as the TensorBoard image
    ``completion_preview`` (rows of masked | completed | original, two faces a row) and the
    scalar ``preview_hole_psnr`` (mean hole PSNR, dB), so completion quality can be watched
    growing, not only samples.

    Args:
        images: uint8 [N, S, S, 3] faces the run does not train on.
        masks: [N, S, S, 1], 1 = known (several kinds).
        settings: the search (``settings.SearchSettings``, with the run's prior).
    """

    def __init__(self, images: np.ndarray, masks: np.ndarray, settings, every: int,
                 writer: tf.summary.SummaryWriter, guard: "StopOnNonFinite"):
        super().__init__(every, guard)
        self.images, self.masks = image_utils.to_float(images), masks.astype(np.float32)
        self.settings, self.writer = settings, writer

    def act(self, step: int) -> None:
        with self.model.averaged_generator() as generator:
            completed = search.complete(generator, self.model.discriminator, self.images,
                                        self.masks, self.settings, seed=0).completed
        hole_psnr = float(np.mean(image_metrics.completion_metrics(
            completed, self.images, self.masks)["hole_psnr"]))
        masked = self.images * self.masks  # the hole mid-grey
        triples = np.stack([masked, completed, self.images], axis=1).reshape(
            (-1,) + self.images.shape[1:])
        grid = image_utils.make_grid(image_utils.to_uint8(triples), columns=6)
        with self.writer.as_default(step=step):
            tf.summary.image("completion_preview", grid[np.newaxis])
            tf.summary.scalar("preview_hole_psnr", hole_psnr)


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training at the first step whose losses are NaN or infinite, before any other
    callback of that step saves anything (list it first): the run keeps its last good checkpoint.
    ``diverged`` then says at which step and which loss."""

    def __init__(self):
        super().__init__()
        self.diverged = None

    def on_train_batch_end(self, batch, logs=None):
        bad = [name for name, value in (logs or {}).items()
               if not np.all(np.isfinite(np.asarray(value)))]
        if bad and self.diverged is None:
            self.diverged = (global_step(self.model), bad)
            self.model.stop_training = True


class FIDMonitor(EveryNSteps):
    """Every ``every`` steps: FID of ``num_samples`` generated images (averaged weights, when kept)
    against real images, logged as the TensorBoard scalar ``fid`` and to the log. The real
    features are computed at the first measurement; the latents are the same each time."""

    def __init__(self, extractor, real_images: np.ndarray, num_samples: int, every: int,
                 writer: tf.summary.SummaryWriter, seed: int, guard: "StopOnNonFinite"):
        super().__init__(every, guard)
        self.extractor = extractor
        self.real_images = real_images
        self.real_features = None
        self.num_samples = num_samples
        self.writer = writer
        self.seed = seed

    def act(self, step: int) -> None:
        if self.real_features is None:
            self.real_features = self.extractor(self.real_images)
        with self.model.averaged_generator() as generator:
            samples = sampling.sample_images(generator, self.num_samples, self.seed,
                                             self.model.latent_prior)
        score = distribution_metrics.fid(self.extractor(samples), self.real_features)
        log.info("Step %d: FID %.2f (%d generated vs %d real images)", step, score,
                 self.num_samples, len(self.real_images))
        with self.writer.as_default(step=step):
            tf.summary.scalar("fid", score)


class PeriodicCheckpoint(EveryNSteps):
    """Saves through a ``tf.train.CheckpointManager`` every ``every`` steps and at the end.

    TensorFlow writes each checkpoint under a temporary name and updates the ``checkpoint`` index
    file last, so a crash mid-save leaves the previous checkpoint loadable.
    """

    def __init__(self, manager: tf.train.CheckpointManager, every: int,
                 guard: "StopOnNonFinite"):
        super().__init__(every, guard)
        self.manager = manager

    def act(self, step: int) -> None:
        self.manager.save(checkpoint_number=step)


class GracefulStop(keras.callbacks.Callback):
    """Turns the first SIGINT (Ctrl-C) or SIGTERM into a clean stop after the current step, so the
    end-of-training callbacks save a checkpoint and samples; a second Ctrl-C interrupts at once.

    With ``strategy`` (MultiWorkerMirroredStrategy), the workers agree after every step whether
    any of them was asked to stop (a one-number all-reduce), so they all stop after the same step
    and save that checkpoint together, however far apart their signals arrived.
    """

    def __init__(self, strategy: tf.distribute.Strategy | None = None):
        super().__init__()
        self.requested = None
        self._previous = {}
        self._anyone_requested = None
        if strategy is not None:
            @tf.function
            def anyone_requested(flag):
                flags = strategy.run(tf.identity, args=(flag,))
                return strategy.reduce(tf.distribute.ReduceOp.SUM, flags, axis=None) > 0
            self._anyone_requested = anyone_requested

    def on_train_begin(self, logs=None):
        if threading.current_thread() is not threading.main_thread():
            return  # Python only lets the main thread install signal handlers
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._request)

    def _request(self, signum, frame):
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name
        log.warning("%s received: stopping after this step and saving a checkpoint "
                    "(Ctrl-C again to abort at once)", self.requested)

    def on_train_batch_end(self, batch, logs=None):
        requested = self.requested is not None
        if self._anyone_requested is not None:
            requested = bool(self._anyone_requested(tf.constant(float(requested))))
        if requested:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
