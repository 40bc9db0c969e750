"""Run folders: numbering, the newest run, config round trip and resume checks."""

import dataclasses
import os

import pytest

from conftest import TINY
from dcgan_tf.models import runs


def test_new_runs_are_numbered_and_latest_is_found(tmp_path):
    first = runs.new_run_dir(str(tmp_path), "a")
    second = runs.new_run_dir(str(tmp_path), "b")
    assert os.path.basename(first) == "00000-a" and os.path.basename(second) == "00001-b"
    assert runs.list_runs(str(tmp_path)) == [first, second]
    assert runs.latest_run_dir(str(tmp_path)) == second
    assert runs.latest_run_dir(str(tmp_path), "a") == first
    with pytest.raises(ValueError, match="--resume"):
        runs.latest_run_dir(str(tmp_path), "missing")


def test_default_run_name_comes_from_the_data_and_size():
    assert runs.default_run_name(TINY) == "synthetic-32"
    assert runs.default_run_name(dataclasses.replace(TINY, data="/x/celeba train.zip",
                                                     image_size=64)) == "celeba_train-64"
    assert runs.default_run_name(dataclasses.replace(TINY, run_name="mine")) == "mine"


def test_config_round_trip_and_bad_config(tmp_path):
    assert runs.load_config(str(tmp_path)) is None  # a new run folder
    runs.save_config(str(tmp_path), TINY)
    assert runs.load_config(str(tmp_path)) == TINY
    (tmp_path / runs.CONFIG_FILE).write_text("[1, 2]")
    with pytest.raises(ValueError, match="config.json is not a valid run config"):
        runs.load_config(str(tmp_path))


def test_resume_checks_name_every_changed_architecture_flag():
    runs.check_resumable(None, TINY, "run")
    runs.check_resumable(TINY, dataclasses.replace(TINY, epochs=9), "run")
    with pytest.raises(ValueError, match="--latent_dim 8 -> 16, --g_filters 4 -> 8"):
        runs.check_resumable(TINY, dataclasses.replace(TINY, g_filters=8, latent_dim=16), "run")


@pytest.mark.parametrize("saved, resumed", [("off", "bfloat16"), ("bfloat16", "off")])
def test_float32_and_bfloat16_compute_may_follow_each_other_on_resume(saved, resumed):
    runs.check_resumable(dataclasses.replace(TINY, mixed_precision=saved),
                         dataclasses.replace(TINY, mixed_precision=resumed), "run")


@pytest.mark.parametrize("saved, resumed", [("off", "float16"), ("float16", "bfloat16")])
def test_resuming_into_or_out_of_float16_is_refused(saved, resumed):
    with pytest.raises(ValueError, match=f"--mixed_precision {saved} -> {resumed}"):
        runs.check_resumable(dataclasses.replace(TINY, mixed_precision=saved),
                             dataclasses.replace(TINY, mixed_precision=resumed), "run")
