"""Trained models for inference: a model spec (``specs.resolve``) -> the networks, with no
optimizer and nothing of training (completion, export, evaluation and the tools never import the
training package). An exported SavedModel completes through its own signatures
(``clients``) instead of being restored into networks.
"""

import logging
import os

import keras
import tensorflow as tf

from dcgan_tf import pretrained
from dcgan_tf.models import averaging, networks, runs
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.models.trained import Model
from dcgan_tf.serving.specs import CHECKPOINT, PACKAGED, SAVED_MODEL, resolve

log = logging.getLogger(__name__)


def load(model: str = "", runs_dir: str = "runs") -> Model:
    """Restores a model's networks for inference (``model``: a spec of ``specs.resolve``).

    Raises:
        ValueError: naming --model when it is no model, has no checkpoint or config, or is an
            exported SavedModel (those complete through ``clients``).
    """
    kind, path = resolve(model, runs_dir)
    if kind == SAVED_MODEL:
        raise ValueError(f"--model {path} is an exported SavedModel: it completes through its "
                         f"signatures, but its networks cannot be restored for this; give the "
                         f"run folder it was exported from")
    if kind == PACKAGED:
        return _load_packaged(path)
    if kind == CHECKPOINT:
        checkpoint = path
        run_dir = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    else:
        run_dir = path
        checkpoint = tf.train.latest_checkpoint(os.path.join(run_dir, runs.CHECKPOINTS_DIR))
        if checkpoint is None:
            raise ValueError(f"--model {path} has no checkpoint in {runs.CHECKPOINTS_DIR}/")
    config = runs.load_config(run_dir)
    if config is None:
        raise ValueError(f"--model {path}: {os.path.join(run_dir, runs.CONFIG_FILE)} is missing")
    generator, discriminator = build_gan_networks(config)
    step = restore_gan(checkpoint, config, generator, discriminator)
    encoder, encoder_step = _restore_encoder(config, os.path.join(run_dir, runs.ENCODER_DIR),
                                             step)
    return Model(config, generator, discriminator, encoder, step, encoder_step, path)


def build_gan_networks(config: TrainConfig,
                       synchronized_bn: bool = False) -> tuple[keras.Model, keras.Model]:
    """A new generator and discriminator of ``config``'s architecture, uncompiled (training's
    ``loop.build_compiled_gan`` compiles them into the DCGAN)."""
    generator = networks.build_generator(config.latent_dim, config.image_size, config.g_filters,
                                         config.kernel_size, synchronized_bn=synchronized_bn)
    discriminator = networks.build_discriminator(config.image_size, config.d_filters,
                                                 config.kernel_size,
                                                 synchronized_bn=synchronized_bn,
                                                 norm=config.d_norm)
    return generator, discriminator


def encoder_checkpoint(config: TrainConfig) -> tuple[keras.Model, tf.train.Checkpoint]:
    """A new encoder of ``config``'s architecture and the checkpoint it is saved in, with the
    generator step it was trained against (``generator_step``, -1 until set)."""
    encoder = networks.build_encoder(config.image_size, config.latent_dim, config.encoder_filters,
                                     config.kernel_size, config.latent_prior)
    generator_step = tf.Variable(-1, dtype=tf.int64, trainable=False, name="generator_step")
    return encoder, tf.train.Checkpoint(encoder=encoder, generator_step=generator_step)


def restore_gan(checkpoint: str, config: TrainConfig, generator: keras.Model,
                discriminator: keras.Model | None = None) -> int:
    """Restores G (and D, when given) from a training checkpoint without its optimizers; when
    the run kept an average of G's weights (--g_ema_kimg), G gets the average, with BatchNorm
    statistics measured for it (``averaging.recompute_batchnorm``), once G's optimizer has
    applied an update (before, there is no average). Returns the training step.

    The optimizers' state is read through stand-ins with the attribute names Keras' optimizers
    save under (``_iterations``, ``_model_variables_moving_average``, in ``build`` order; under
    a ``LossScaleOptimizer`` (--mixed_precision=float16), inside its ``inner_optimizer``)."""
    step, iterations = tf.Variable(-1, dtype=tf.int64), tf.Variable(-1, dtype=tf.int64)
    g_updates = tf.Variable(0, dtype=tf.int64)
    averages = ([tf.Variable(tf.zeros_like(weight)) for weight in generator.trainable_variables]
                if config.g_ema_kimg else [])

    def optimizer(**slots):
        stand_in = tf.train.Checkpoint(**slots)
        if config.mixed_precision == "float16":
            return tf.train.Checkpoint(inner_optimizer=stand_in)
        return stand_in

    restored = {"generator": generator}
    if discriminator is not None:
        restored["discriminator"] = discriminator
    tf.train.Checkpoint(**restored, steps_done=step,
                        d_optimizer=optimizer(_iterations=iterations),
                        g_optimizer=optimizer(_iterations=g_updates,
                                              _model_variables_moving_average=averages)) \
        .restore(checkpoint).expect_partial().assert_existing_objects_matched()
    if step.numpy() < 0:  # a checkpoint from before steps_done: D's updates were the steps
        step = iterations
    if averages and g_updates.numpy() > 0:
        for weight, average in zip(generator.trainable_variables, averages):
            weight.assign(average)
        averaging.recompute_batchnorm(generator, config.latent_prior)
    return int(step.numpy())


def _restore_encoder(config: TrainConfig, directory: str,
                     gan_step: int) -> tuple[keras.Model | None, int]:
    """The run's newest encoder and the generator step it was trained against, or (None, -1)
    when it has none or it does not fit the config (a warning says so); warns when it was
    trained against another generator checkpoint than the one loaded (it then starts
    completions less well)."""
    path = tf.train.latest_checkpoint(directory)
    if path is None:
        return None, -1
    encoder, checkpoint = encoder_checkpoint(config)
    try:
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError) as error:
        log.warning("Ignoring the encoder %s: it does not fit --encoder_filters=%d (%s)", path,
                    config.encoder_filters, str(error).splitlines()[0])
        return None, -1
    trained_against = int(checkpoint.generator_step.numpy())
    if trained_against != gan_step:
        log.warning("The encoder %s was trained against the generator at step %d, but the "
                    "generator loaded is at step %d; retrain it with train.py --encoder",
                    path, trained_against, gan_step)
    return encoder, trained_against


def _load_packaged(name: str) -> Model:
    """A packaged model's networks (its generator weights are already the averaged ones)."""
    directory = pretrained.model_dir(name)
    config = runs.load_config(directory)
    generator, discriminator = build_gan_networks(config)
    generator.load_weights(os.path.join(directory, pretrained.GENERATOR_FILE))
    discriminator.load_weights(os.path.join(directory, pretrained.DISCRIMINATOR_FILE))
    encoder = None
    if os.path.isfile(os.path.join(directory, pretrained.ENCODER_FILE)):
        encoder, _ = encoder_checkpoint(config)
        encoder.load_weights(os.path.join(directory, pretrained.ENCODER_FILE))
    return Model(config, generator, discriminator, encoder, -1, -1, name)
