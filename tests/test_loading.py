"""Loading models for inference: every kind of model spec, the averaged generator, the step, the
encoder, and that no inference road imports the training code."""

import dataclasses
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import tensorflow as tf

from conftest import FACES, REPO_ROOT, TINY
from dcgan_tf import pretrained
from dcgan_tf.serving import export, loading, specs
from dcgan_tf.training import loop


@pytest.fixture
def package_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PACKAGE_DIR", str(tmp_path / "pretrained"))
    return tmp_path / "pretrained"


@pytest.mark.parametrize("module", ["completion.run", "serving.export", "evaluation.report",
                                    "serving.clients", "serving.loading", "inpainting.search",
                                    "photo.completion"])
def test_inference_modules_do_not_import_training(module):
    """Importing an inference module leaves the training package unimported (a fresh process:
    the test process has imported everything)."""
    code = (f"import sys; import dcgan_tf.{module}; "
            f"print(sorted(name for name in sys.modules if name.startswith('dcgan_tf.training')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_a_run_loads_as_it_was_trained(tiny_run):
    """From a run folder and from a checkpoint prefix: the generator and discriminator of the
    trained networks, the step, and no optimizer."""
    config, result = tiny_run
    trained = result.trained.gan
    latents = tf.random.stateless_normal([2, config.latent_dim], [3, 4])
    checkpoint = tf.train.latest_checkpoint(os.path.join(result.run_dir, "checkpoints"))
    for spec, kind in ((result.run_dir, specs.RUN), (checkpoint, specs.CHECKPOINT)):
        assert specs.resolve(spec)[0] == kind
        model = loading.load(spec)
        assert model.step == result.step == 3 and model.config == config
        assert model.encoder is None and model.encoder_step == -1
        np.testing.assert_allclose(model.generator(latents, training=False).numpy(),
                                   trained.generator(latents, training=False).numpy(),
                                   atol=1e-6)
        images = trained.generator(latents, training=False)
        np.testing.assert_allclose(model.discriminator(images, training=False).numpy(),
                                   trained.discriminator(images, training=False).numpy(),
                                   atol=1e-5)
        assert not any("optimizer" in variable.path for variable in model.generator.variables)


def test_a_run_with_a_weight_average_loads_the_average(tmp_path):
    """--g_ema_kimg: the loaded generator holds the optimizer's weight average with BatchNorm
    statistics measured for it (what samples, FID and completion use), restored without
    building the optimizer."""
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), g_ema_kimg=0.01)
    result = loop.run(config, images=FACES, verbose=0)
    latents = tf.random.stateless_normal([2, config.latent_dim], [1, 2])
    with result.trained.gan.averaged_generator() as averaged:
        expected = averaged(latents, training=False).numpy()
    trained = result.trained.gan.generator(latents, training=False).numpy()
    loaded = loading.load(result.run_dir).generator(latents, training=False).numpy()
    np.testing.assert_allclose(loaded, expected, atol=1e-6)
    assert np.abs(loaded - trained).max() > 1e-4  # the average is not the last iterate


def test_packaged_model_loads_by_name_and_is_the_default_even_beside_runs(tiny_run, package_dir,
                                                                          tmp_path):
    """No --model is the packaged default whatever --runs_dir holds (the tiny run's folder
    holds a run); --model=latest is that newest run."""
    config, result = tiny_run
    run_model = loading.load(result.run_dir)
    pretrained.save(str(package_dir / pretrained.DEFAULT_MODEL), config.to_json(),
                    run_model.generator, run_model.discriminator)
    assert pretrained.available() == [pretrained.DEFAULT_MODEL]
    latents = tf.random.stateless_normal([2, config.latent_dim], [3, 4])
    expected = run_model.generator(latents).numpy()
    for spec, runs_dir in [(pretrained.DEFAULT_MODEL, config.runs_dir), ("", config.runs_dir),
                           ("", str(tmp_path / "empty"))]:
        assert specs.resolve(spec, runs_dir) == (specs.PACKAGED, pretrained.DEFAULT_MODEL)
        loaded = loading.load(spec, runs_dir)
        assert loaded.config == config and loaded.step == -1
        np.testing.assert_allclose(loaded.generator(latents).numpy(), expected, atol=1e-6)
    with pytest.raises(ValueError, match=f"packaged: {pretrained.DEFAULT_MODEL}\\); got nope"):
        loading.load("nope")
    assert specs.resolve("latest", config.runs_dir) == (specs.RUN, result.run_dir)
    with pytest.raises(ValueError, match="--model=latest: no run in --runs_dir .*empty"):
        specs.resolve("latest", str(tmp_path / "empty"))


def test_packaged_weights_are_compressed_without_loss(tiny_run, package_dir):
    """pretrained.save stores every array of more than one value gzip-compressed, and the
    loaded networks hold exactly the run's weights."""
    config, result = tiny_run
    run_model = loading.load(result.run_dir)
    pretrained.save(str(package_dir / "tiny"), config.to_json(), run_model.generator,
                    run_model.discriminator)
    for file in (pretrained.GENERATOR_FILE, pretrained.DISCRIMINATOR_FILE):
        with h5py.File(package_dir / "tiny" / file, "r") as weights:
            arrays = []
            weights.visititems(lambda name, item: arrays.append(item)
                               if isinstance(item, h5py.Dataset) and item.size > 1 else None)
            assert arrays and {(array.compression, array.shuffle) for array in arrays} == {
                ("gzip", True)}
    loaded = loading.load("tiny")
    for network, run_network in [(loaded.generator, run_model.generator),
                                 (loaded.discriminator, run_model.discriminator)]:
        for weight, run_weight in zip(network.weights, run_network.weights, strict=True):
            np.testing.assert_array_equal(weight.numpy(), run_weight.numpy())


def test_bad_specs_are_named(tiny_run, tmp_path):
    _, result = tiny_run
    empty_run = tmp_path / "empty-run"
    empty_run.mkdir()
    with pytest.raises(ValueError, match="--model .*empty-run has no checkpoint"):
        loading.load(str(empty_run))
    path = export.export(result.run_dir, export_base=str(tmp_path / "export"))
    assert specs.resolve(path) == (specs.SAVED_MODEL, path)
    with pytest.raises(ValueError, match="is an exported SavedModel"):
        loading.load(path)
