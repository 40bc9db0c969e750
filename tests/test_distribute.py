"""Every branch of get_strategy."""

import json

import pytest
import tensorflow as tf

from dcgan_tf.training import distribute


def test_default_and_auto_on_cpu_are_the_default_strategy():
    assert distribute.get_strategy("default") is tf.distribute.get_strategy()
    assert distribute.get_strategy("auto").num_replicas_in_sync == 1


def test_one_device(two_cpus):
    strategy = distribute.get_strategy("one_device", [two_cpus[1]])
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert strategy.num_replicas_in_sync == 1


def test_mirrored_on_two_logical_cpus(two_cpus):
    strategy = distribute.get_strategy("mirrored", two_cpus)
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 2
    assert distribute.is_chief(strategy)


def test_unknown_name_names_the_flag():
    with pytest.raises(ValueError, match="--strategy"):
        distribute.get_strategy("tpu")


def test_devices_only_for_device_strategies(two_cpus):
    with pytest.raises(ValueError, match="--devices"):
        distribute.get_strategy("default", two_cpus)


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.get_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {}}))
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.get_strategy("multi_worker")
