"""A run's inputs: the faces held out for completion previews."""

import dataclasses

import numpy as np
import pytest

from conftest import FACES, TINY
from dcgan_tf.training import inputs


def test_preview_faces_are_held_out_of_training():
    real = dataclasses.replace(TINY, data="faces.zip", held_out_faces=6)
    held_out, training = inputs.split_held_out(real, FACES)
    np.testing.assert_array_equal(held_out, FACES[:6])
    np.testing.assert_array_equal(training, FACES[6:])
    synthetic_held_out, everything = inputs.split_held_out(
        dataclasses.replace(TINY, held_out_faces=8), FACES)
    assert everything is FACES and synthetic_held_out.shape == (8, 32, 32, 3)
    with pytest.raises(ValueError, match="--held_out_faces holds out 6 images"):
        inputs.split_held_out(real, FACES[:10])
