"""evaluate.py end to end, FID during training and packaged models, on tiny models with a
randomly initialised Inception weights file (the real one is never needed)."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import FACES, REPO_ROOT, TINY
from dcgan_tf import images as image_utils, pretrained
from dcgan_tf.data import pipeline
from dcgan_tf.evaluation import inception, report
from dcgan_tf.models import runs
from dcgan_tf.serving import loading
from dcgan_tf.training import loop


@pytest.fixture(scope="module")
def random_inception_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "random.weights.h5"
    keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg",
                                   input_shape=(inception.INPUT_SIZE,) * 2 + (3,)
                                   ).save_weights(str(path))
    return str(path)


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    for index, face in enumerate(FACES[:6]):
        image_utils.save_png(str(folder / f"face-{index}.png"), face)
    return str(folder)


def _evaluate(*flags):
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "evaluate.py"), *flags],
                          capture_output=True, text=True, timeout=300)


def test_evaluate_a_run(tiny_run, random_inception_file, real_folder, tmp_path):
    _, result = tiny_run
    run = _evaluate(f"--model={result.run_dir}", f"--real={real_folder}", "--crop=none",
                    f"--inception={random_inception_file}", "--num_generated=5",
                    f"--cache_dir={tmp_path / 'cache'}", "--kid_subsets=10",
                    f"--output={tmp_path / 'fid.json'}")
    assert run.returncode == 0, run.stderr
    with open(tmp_path / "fid.json") as handle:
        written = json.load(handle)
    assert written["num_real"] == 6 and written["num_fake"] == 5 and written["real"] == real_folder
    assert np.isfinite(written["fid"]) and written["fid"] > 0
    assert f"FID {written['fid']:.2f}" in run.stdout
    assert len(os.listdir(tmp_path / "cache")) == 1


def test_real_features_are_cached_per_set_and_weights(real_folder, random_inception_file,
                                                      tmp_path):
    calls = []

    def extractor(images, progress=None):
        calls.append(len(images))
        return np.asarray(images, np.float64).reshape(len(images), -1)[:, :4]

    def features(**overrides):
        settings = dict(crop="none", image_size=32, max_images=0,
                        weights_path=random_inception_file, cache_dir=str(tmp_path))
        settings.update(overrides)
        return report.real_features(extractor, real_folder, **settings)

    first = features()
    np.testing.assert_array_equal(features(), first)
    assert calls == [6]
    features(image_size=16)
    features(max_images=3)
    features(cache_dir="")
    assert calls == [6, 6, 3, 6]


def test_editing_a_file_inside_a_real_folder_invalidates_its_cached_features(
        real_folder, random_inception_file, tmp_path):
    """The cache keys a folder by the files in it, not by the folder's own stat (which an edit
    inside it leaves unchanged)."""
    folder = tmp_path / "real"
    shutil.copytree(real_folder, folder)
    stamp = os.stat(folder).st_mtime_ns

    def extractor(images, progress=None):
        return np.asarray(images, np.float64).reshape(len(images), -1)[:, :4]

    def features():
        return report.real_features(extractor, str(folder), crop="none", image_size=32,
                                    max_images=0, weights_path=random_inception_file,
                                    cache_dir=str(tmp_path / "cache"))

    before = features()
    edited = folder / "face-0.png"
    image_utils.save_png(str(edited), 255 - FACES[0])
    os.utime(edited, ns=(stamp + 10**9, stamp + 10**9))
    os.utime(folder, ns=(stamp, stamp))  # the folder itself looks untouched
    after = features()
    assert not np.array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1:], before[1:])
    assert len(os.listdir(tmp_path / "cache")) == 2


def test_images_against_themselves_give_zero(random_inception_file, real_folder):
    measured = report.evaluate(images=[real_folder], real=real_folder, crop="none",
                               image_size=32, inception_weights=None, kid_subsets=5)
    assert measured.num_fake == measured.num_real == 6
    assert abs(measured.fid) < 1e-2 and abs(measured.kid) < 1e-6


def test_a_model_is_measured_at_its_own_size_and_crop(tiny_run_128, tmp_path, monkeypatch):
    """Without a crop the real set is framed as the model's training images were (here
    celeba_face, on images of CelebA's shape) at the model's size; a run trained with
    --crop=align is refused by name; --images are compared at their own size."""
    seen = []

    class Features:  # in the Inception network's place: keeps the images it is given
        def __init__(self, weights_path, batch_size=50):
            pass

        def __call__(self, images, progress=None):
            seen.append(np.asarray(images))
            return np.random.default_rng(len(seen)).normal(size=(len(images), 4))

    monkeypatch.setattr(inception, "FeatureExtractor", Features)
    real = tmp_path / "real"
    real.mkdir()
    rng = np.random.default_rng(0)
    for index in range(3):
        image_utils.save_png(str(real / f"{index}.png"),
                             rng.integers(0, 256, (218, 178, 3), dtype=np.uint8))
    run_dir = tiny_run_128[1].run_dir
    report.evaluate(model=run_dir, real=str(real), inception_weights=None, num_generated=3,
                    kid_subsets=2)
    np.testing.assert_array_equal(seen[0], pipeline.load_images(str(real), crop="celeba_face",
                                                                image_size=128))
    assert seen[1].shape == (3, 128, 128, 3)
    aligned = str(tmp_path / "aligned")
    shutil.copytree(run_dir, aligned)
    runs.save_config(aligned, dataclasses.replace(tiny_run_128[0], crop="align"))
    with pytest.raises(ValueError, match=r"--crop: .*\(--crop=align --align_framing=celeba\)"):
        report.evaluate(model=aligned, real=str(real), inception_weights=None)
    report.evaluate(images=[str(real)], real=str(real), inception_weights=None, kid_subsets=2)
    assert seen[-1].shape == (3, 178, 178, 3) and seen[-2].shape == (3, 178, 178, 3)


@pytest.mark.parametrize("flags, message", [
    (["--inception=/no/such.weights.h5", "--real=synthetic"], "--inception file not found"),
    (["--inception={inception}", "--real=/no/such/folder"], "--real path does not exist"),
    (["--inception={inception}", "--real=synthetic", "--model=x", "--images=y"],
     "--model or --images, not both"),
    (["--inception={inception}", "--real=synthetic", "--kid_subset_size=1"],
     "--kid_subset_size must be >= 2"),
])
def test_evaluate_flag_errors_name_the_flag(random_inception_file, flags, message):
    run = _evaluate(*[flag.format(inception=random_inception_file) for flag in flags])
    assert run.returncode != 0
    assert message in run.stderr


def test_training_logs_fid_every_n_steps(random_inception_file, tmp_path):
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), fid_every=2, fid_samples=4,
                                 fid_inception=random_inception_file, g_ema_kimg=0.01)
    result = loop.run(config, images=FACES, verbose=0)
    fid_steps = []
    for path in tf.io.gfile.glob(os.path.join(result.run_dir, "logs", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "fid":
                    assert np.isfinite(tf.make_ndarray(value.tensor))
                    fid_steps.append(event.step)
    assert sorted(fid_steps) == [2, 3]


def test_fid_during_training_needs_the_weights_file():
    with pytest.raises(ValueError, match="--fid_every needs --fid_inception"):
        dataclasses.replace(TINY, fid_every=5).validate()


@pytest.fixture
def package_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "PACKAGE_DIR", str(tmp_path / "pretrained"))
    return tmp_path / "pretrained"


def test_repackaging_replaces_the_weights_and_keeps_the_model_card(tiny_run, package_dir):
    _, result = tiny_run
    model = loading.load(result.run_dir)
    target = package_dir / "faces"
    pretrained.save(str(target), model.config.to_json(), model.generator, model.discriminator)
    (target / "MODEL_CARD.md").write_text("# card\n")
    pretrained.save(str(target), model.config.to_json(), model.generator, model.discriminator)
    assert sorted(os.listdir(target)) == sorted(
        ["MODEL_CARD.md", "config.json", pretrained.GENERATOR_FILE,
         pretrained.DISCRIMINATOR_FILE])
    assert sorted(os.listdir(package_dir)) == ["faces"]  # no temporary folders left
