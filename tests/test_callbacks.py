"""TensorBoardLogger: scalars every ``every`` steps and the last step's when training ends, each
step once, also when a resumed run calls fit() more than once."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf.training import callbacks


def _tiny_model():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    return model


def _fit(model, logger, steps, epoch=0):
    """``steps`` training steps of batch 1 as epoch ``epoch``; returns the Keras history."""
    inputs = np.arange(1, steps + 1, dtype=np.float32)[:, np.newaxis]
    return model.fit(inputs, 2.0 * inputs, batch_size=1, initial_epoch=epoch, epochs=epoch + 1,
                     shuffle=False, callbacks=[logger], verbose=0).history


def _scalars(log_dir):
    """{tag: [(step, value), ...]} of all scalar events written under ``log_dir``."""
    scalars = {}
    for path in sorted(glob.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))))
    return scalars


def test_a_run_shorter_than_every_logs_its_last_step(tmp_path):
    model = _tiny_model()
    logger = callbacks.TensorBoardLogger(tf.summary.create_file_writer(str(tmp_path)), every=10,
                                         graph=False)
    history = _fit(model, logger, steps=3)
    assert callbacks.global_step(model) == 3
    scalars = _scalars(str(tmp_path))
    assert set(scalars) == set(history) == {"loss"}
    [(step, loss)] = scalars["loss"]
    assert step == 3 and loss == pytest.approx(history["loss"][-1], rel=1e-6)


def test_logged_steps_are_the_multiples_of_every_and_the_last(tmp_path):
    every = 2
    logger = callbacks.TensorBoardLogger(tf.summary.create_file_writer(str(tmp_path)), every,
                                         graph=False)
    _fit(_tiny_model(), logger, steps=2 * every + 1)
    steps = [step for step, _ in _scalars(str(tmp_path))["loss"]]
    assert steps == [every, 2 * every, 2 * every + 1]


def test_resumed_run_logs_each_step_once_across_fits(tmp_path):
    model = _tiny_model()
    logger = callbacks.TensorBoardLogger(tf.summary.create_file_writer(str(tmp_path)), every=2,
                                         graph=False)
    _fit(model, logger, steps=3)  # the rest of a partly done epoch: steps 1 to 3
    _fit(model, logger, steps=1, epoch=1)  # step 4 ends on a multiple of every
    steps = [step for step, _ in _scalars(str(tmp_path))["loss"]]
    assert steps == [2, 3, 4]
