"""check_range and check_choice: the value refused or taken at each end of a range, the exact
message naming the flag; and the validators that use them keep their ranges."""

import math

import pytest

from dcgan_tf.app.limits import Limits
from dcgan_tf.checks import check_choice, check_range
from dcgan_tf.completion.config import CompleteConfig
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.photo.confidence import check_min_confidence

# (low, high, open_low, open_high), values in range, values out of range with the message.
RANGES = [
    ((1, None, False, False), (1, 2, 10**9), {0: "--flag must be >= 1, got 0"}),
    ((0, None, True, False), (1e-12, 5.0), {0.0: "--flag must be > 0, got 0.0",
                                            -1: "--flag must be > 0, got -1"}),
    ((0, 64, False, False), (0, 1, 64), {-1: "--flag must be in [0, 64], got -1",
                                         65: "--flag must be in [0, 64], got 65"}),
    ((0, 10, True, True), (1e-9, 5, 9.999), {0.0: "--flag must be in (0, 10), got 0.0",
                                             10.0: "--flag must be in (0, 10), got 10.0",
                                             20.0: "--flag must be in (0, 10), got 20.0"}),
    ((0, 1, False, True), (0.0, 0.5, 0.999), {-0.001: "--flag must be in [0, 1), got -0.001",
                                              1.0: "--flag must be in [0, 1), got 1.0"}),
    ((0, 1, True, False), (0.001, 1.0), {0.0: "--flag must be in (0, 1], got 0.0",
                                         1.5: "--flag must be in (0, 1], got 1.5"}),
]


@pytest.mark.parametrize("bounds, inside, outside", RANGES)
def test_check_range_takes_the_values_inside_and_names_the_flag_outside(bounds, inside, outside):
    low, high, open_low, open_high = bounds
    for value in inside:
        check_range("flag", value, low, high, open_low=open_low, open_high=open_high)
    for value, message in outside.items():
        with pytest.raises(ValueError) as raised:
            check_range("flag", value, low, high, open_low=open_low, open_high=open_high)
        assert str(raised.value) == message


def test_check_range_writes_whole_float_bounds_as_integers_and_adds_the_note():
    with pytest.raises(ValueError) as raised:
        check_range("max_megapixels", 70.0, 0, 64e6 / 1e6, open_low=True)
    assert str(raised.value) == "--max_megapixels must be in (0, 64], got 70.0"
    with pytest.raises(ValueError) as raised:
        check_range("share", 0.75, 0.25, 0.5)
    assert str(raised.value) == "--share must be in [0.25, 0.5], got 0.75"
    with pytest.raises(ValueError) as raised:
        check_range("d_learning_rate", 1.0, 0, 1, open_high=True, note="0 = --learning_rate")
    assert str(raised.value) == ("--d_learning_rate must be in [0, 1) (0 = --learning_rate), "
                                 "got 1.0")


def test_check_range_refuses_nan_whatever_the_bounds():
    for bounds in ({}, {"open_low": True}, {"high": 1.0}, {"high": 1.0, "open_high": True}):
        with pytest.raises(ValueError, match="--flag must be .*, got nan"):
            check_range("flag", math.nan, 0, **bounds)


def test_check_choice_names_the_flag_and_its_choices():
    check_choice("crop", "none", ("none", "celeba"))
    with pytest.raises(ValueError) as raised:
        check_choice("crop", "chin", ("none", "celeba"))
    assert str(raised.value) == "--crop must be one of none, celeba; got 'chin'"


# The validators' float flags: (validate a value, values taken, value refused -> message).
VALIDATED = [
    (lambda value: SearchSettings(learning_rate=value).validate(), (1e-6, 9.99),
     {0.0: "--learning_rate must be in (0, 10), got 0.0",
      10.0: "--learning_rate must be in (0, 10), got 10.0"}),
    (lambda value: SearchSettings(tolerance=value).validate(), (0.0, 0.999),
     {1.0: "--tolerance must be in [0, 1), got 1.0"}),
    (lambda value: SearchSettings(tune_latent_learning_rate=value).validate(), (0.0, 9.99),
     {10.0: "--tune_latent_learning_rate must be in [0, 10), got 10.0"}),
    (lambda value: SearchSettings(clip_latents=value).validate(), (0.0, 3.0),
     {-0.5: "--clip_latents must be >= 0, got -0.5"}),
    (lambda value: TrainConfig(encoder_learning_rate=value).validate(), (1e-6, 0.999),
     {0.0: "--encoder_learning_rate must be in (0, 1), got 0.0",
      1.0: "--encoder_learning_rate must be in (0, 1), got 1.0"}),
    (lambda value: TrainConfig(g_ema_kimg=value).validate(), (0.0, 10.0),
     {-1.0: "--g_ema_kimg must be >= 0, got -1.0"}),
    (lambda value: TrainConfig(g_ema_rampup=value).validate(), (0.0, 1.0),
     {1.01: "--g_ema_rampup must be in [0, 1], got 1.01"}),
    (lambda value: TrainConfig(learning_rate=value).validate(), (1e-6, 0.999),
     {0.0: "--learning_rate must be in (0, 1), got 0.0"}),
    (lambda value: TrainConfig(g_learning_rate=value).validate(), (0.0, 0.999),
     {1.0: "--g_learning_rate must be in [0, 1) (0 = --learning_rate), got 1.0"}),
    (lambda value: TrainConfig(beta1=value).validate(), (0.0, 0.999),
     {1.0: "--beta1 must be in [0, 1), got 1.0"}),
    (lambda value: CompleteConfig(mask_fraction=value).validate(), (0.01, 1.0),
     {0.0: "--mask_fraction must be in (0, 1], got 0.0"}),
    (lambda value: Limits.from_flags(max_upload_mb=1, max_megapixels=value, queue=1), (0.1, 64.0),
     {64.5: "--max_megapixels must be in (0, 64], got 64.5"}),
    (check_min_confidence, (0.01, 1.0),
     {0.0: "--min_confidence must be in (0, 1], got 0.0",
      1.5: "--min_confidence must be in (0, 1], got 1.5"}),
]


@pytest.mark.parametrize("validate, inside, outside", VALIDATED)
def test_validators_keep_their_ranges_and_messages(validate, inside, outside):
    for value in inside:
        validate(value)
    for value, message in outside.items():
        with pytest.raises(ValueError) as raised:
            validate(value)
        assert str(raised.value) == message
