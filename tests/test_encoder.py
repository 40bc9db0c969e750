"""The encoder: it learns to invert a generator, it starts completion nearer the answer than a
random start, early stopping, and the encoder through train.py, complete.py, export and packages."""

import dataclasses
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import FACES, REPO_ROOT, TINY, scaled_generator
from dcgan_tf import pretrained
from dcgan_tf.inpainting import masks, search
from dcgan_tf.inpainting.settings import PRESETS, SearchSettings
from dcgan_tf.models import encoder as encoder_lib, networks
from dcgan_tf.serving import loading
from dcgan_tf.training import encoder_trainer

SIZE, LATENT = 32, 8
PLAIN = SearchSettings(learning_rate=0.02, known_weight=0.0, prior_weight=0.0,
                       schedule="constant")


def plain(**changes) -> SearchSettings:
    """``PLAIN`` with ``changes``."""
    return dataclasses.replace(PLAIN, **changes)


def _held_out(generator, count=16):
    """Images G can make exactly, their latents and centre masks."""
    latents = tf.random.stateless_normal([count, LATENT], [11, 0])
    return (generator(latents, training=False).numpy(), latents.numpy(),
            masks.make_masks("center", count, SIZE))


def _errors(encoder, generator, images, latents, mask):
    estimates = encoder_lib.encode(encoder, images, mask)
    image_error = np.abs(generator(estimates, training=False).numpy() - images).mean()
    return image_error, float(np.mean((estimates.numpy() - latents) ** 2))


@pytest.fixture(scope="module")
def trained():
    """A tiny generator, an encoder trained against it for 150 steps, and the errors on
    held-out generated images before and after."""
    generator = scaled_generator(LATENT, SIZE)
    encoder = networks.build_encoder(SIZE, LATENT, 8)
    trainer = encoder_trainer.EncoderTrainer(encoder, generator, image_size=SIZE, seed=1)
    trainer.compile(keras.optimizers.Adam(2e-3))
    images, latents, mask = _held_out(generator)
    before = _errors(encoder, generator, images, latents, mask)
    real = generator(tf.random.stateless_normal([64, LATENT], [5, 0]), training=False)
    dataset = tf.data.Dataset.from_tensor_slices(real).repeat().batch(16)
    trainer.fit(dataset, steps_per_epoch=150, epochs=1, verbose=0, shuffle=False)
    after = _errors(encoder, generator, images, latents, mask)
    return generator, encoder, before, after


def test_training_lowers_reconstruction_and_latent_errors(trained):
    _, _, (image_before, latent_before), (image_after, latent_after) = trained
    assert image_after < 0.7 * image_before
    assert latent_after < 0.7 * latent_before


def test_mask_bank_holds_every_training_kind():
    bank = encoder_trainer.mask_bank(SIZE)
    kinds = len(encoder_trainer.TRAINING_MASK_KINDS)
    assert bank.shape == (kinds * encoder_trainer.MASKS_PER_KIND, SIZE, SIZE, 1)
    assert set(np.unique(bank)) == {0.0, 1.0}
    per_kind = bank.reshape(kinds, -1).mean(axis=1)
    assert per_kind[-1] == 1.0 and per_kind[:-1].max() < 1.0  # "known" last; holes elsewhere


def test_encoder_start_beats_a_random_start_in_the_same_steps(trained):
    generator, encoder, _, _ = trained
    images, _, mask = _held_out(generator)
    discriminator = networks.build_discriminator(SIZE, 4)
    from_encoder = search.complete(generator, discriminator, images, mask,
                                   plain(steps=15, start="encoder"), encoder=encoder, seed=4)
    from_random = search.complete(generator, discriminator, images, mask, plain(steps=15),
                                  seed=4)
    assert from_encoder.losses.mean() < 0.7 * from_random.losses.mean()
    assert from_encoder.history[0] < from_random.history[0]
    hole = 1.0 - mask
    error = {name: np.abs((result.completed - images) * hole).sum() / hole.sum()
             for name, result in (("encoder", from_encoder), ("random", from_random))}
    assert error["encoder"] < error["random"]


def test_encoder_start_needs_an_encoder(trained):
    generator, _, _, _ = trained
    images, _, mask = _held_out(generator, 2)
    with pytest.raises(ValueError, match="train.py --encoder"):
        search.complete(generator, networks.build_discriminator(SIZE, 4), images, mask,
                        plain(steps=2, start="encoder"))


def test_early_stopping_drops_converged_starts_and_keeps_their_best(trained):
    generator, encoder, _, _ = trained
    images, _, mask = _held_out(generator, 4)
    discriminator = networks.build_discriminator(SIZE, 4)
    def run(**changes):
        return search.complete(generator, discriminator, images, mask,
                               plain(start="encoder", restarts=2, **changes), seed=4,
                               encoder=encoder)
    full = run(steps=60)
    # A tolerance no step can meet: every start stops `patience` steps after its first.
    stopped = run(steps=60, patience=3, tolerance=0.99)
    assert len(stopped.history) == 4 and len(full.history) == 60
    # It evaluated z_0 .. z_3, as a 3-step search does (z_3 being its last update).
    short = run(steps=3)
    np.testing.assert_allclose(stopped.losses, short.losses, rtol=1e-5)
    assert np.all(stopped.losses >= full.losses - 1e-4)
    # A real tolerance stops between the two.
    patient = run(steps=60, patience=3, tolerance=0.05)
    assert 4 < len(patient.history) < 60
    assert full.losses.mean() <= patient.losses.mean() < stopped.losses.mean()


def test_graph_completion_from_the_encoder_matches_eager(trained):
    generator, encoder, _, _ = trained
    images, _, mask = _held_out(generator, 3)
    discriminator = networks.build_discriminator(SIZE, 4)
    settings = plain(steps=8, restarts=2, start="encoder")
    eager = search.complete(generator, discriminator, images, mask, settings, encoder=encoder,
                            seed=6)
    graph = tf.function(lambda: search.complete_in_graph(
        generator, discriminator, tf.constant(images), tf.constant(mask), settings,
        steps=tf.constant(8), seed=tf.constant(6, tf.int64), encoder=encoder))
    completed, _, loss = graph()
    np.testing.assert_allclose(loss.numpy(), eager.losses, rtol=1e-4)
    np.testing.assert_allclose(completed.numpy(), eager.completed, atol=1e-4)


def test_packaged_model_keeps_its_encoder(trained, tmp_path, monkeypatch):
    config = dataclasses.replace(TINY, latent_dim=LATENT, g_filters=4, d_filters=4,
                                 encoder_filters=8)
    generator, discriminator = loading.build_gan_networks(config)
    _, encoder, _, _ = trained
    packages = tmp_path / "packages"  # not the working folder, where "tiny" would be a path
    monkeypatch.setattr(pretrained, "PACKAGE_DIR", str(packages))
    pretrained.save(str(packages / "tiny"), config.to_json(), generator, discriminator, encoder)
    loaded = loading.load("tiny")
    probe = encoder_lib.encoder_inputs(np.zeros([1, SIZE, SIZE, 3]), np.ones([1, SIZE, SIZE, 1]))
    np.testing.assert_allclose(loaded.encoder(probe).numpy(), encoder(probe).numpy(), atol=1e-6)


def _cli(script, *args, cwd):
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_train_encoder_complete_fast_and_export_through_the_clis(tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    from PIL import Image
    for index, face in enumerate(FACES):
        Image.fromarray(face).save(faces / f"{index}.png")
    run = str(tmp_path / "run")
    tiny = ["--image_size=32", "--latent_dim=8", "--g_filters=4", "--d_filters=4",
            "--batch_size=8", "--checkpoint_every=5", "--sample_every=5", "--strategy=default"]
    result = _cli("train.py", f"--data={faces}", f"--run_dir={run}", "--epochs=1",
                  "--steps_per_epoch=4", *tiny, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    complete_fast = ["--model=run", "--method=fast", "--num_images=3", "--batch_size=3"]
    result = _cli("complete.py", *complete_fast, "--output_dir=before", cwd=tmp_path)
    assert result.returncode == 1 and "train.py --encoder" in result.stderr

    result = _cli("train.py", "--encoder", f"--run_dir={run}", "--encoder_steps=6",
                  "--encoder_filters=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Finished the encoder at step 6" in result.stdout
    assert tf.train.latest_checkpoint(os.path.join(run, "encoder")).endswith("ckpt-6")
    assert os.path.isfile(os.path.join(run, "samples", "encoder-step-000006.png"))
    assert json.load(open(os.path.join(run, "config.json")))["encoder_filters"] == 4

    result = _cli("train.py", "--encoder", f"--run_dir={run}", "--encoder_steps=8",
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resumed from" in result.stderr and "at step 6" in result.stderr
    result = _cli("train.py", "--encoder", f"--run_dir={run}", "--encoder_filters=8",
                  "--encoder_steps=9", cwd=tmp_path)
    assert result.returncode == 1 and "--encoder_filters 4 -> 8" in result.stderr

    result = _cli("complete.py", *complete_fast, "--output_dir=fast", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.load(open(tmp_path / "fast" / "metrics.json"))
    assert report["settings"]["start"] == "encoder" and report["settings"]["patience"] > 0

    result = _cli("export.py", "--model=run", "--method=fast", "--export_base=export",
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = tf.saved_model.load(str(tmp_path / "export" / "dcgan" / "1"))
    assert "encode" in loaded.signatures
    images = np.zeros([2, 32, 32, 3], np.uint8)
    mask = masks.make_masks("center", 2, 32)
    latents = loaded.signatures["encode"](images=tf.constant(images), masks=tf.constant(mask))
    assert latents["latents"].shape == (2, 8)
    completed = loaded.signatures["complete"](images=tf.constant(images), masks=tf.constant(mask))
    assert completed["completed"].shape == (2, 32, 32, 3)
    # complete.py on the export runs the baked fast settings, and says so in metrics.json.
    result = _cli("complete.py", "--model=export/dcgan/1", "--num_images=2",
                  "--output_dir=served", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    ran = json.load(open(tmp_path / "served" / "metrics.json"))["settings"]
    assert ran["method"] == "fast" and ran["steps"] == PRESETS["fast"]["steps"]
    # Flags that contradict the export are refused by name.
    result = _cli("complete.py", "--model=export/dcgan/1", "--method=default",
                  "--num_images=2", "--output_dir=wrong", cwd=tmp_path)
    assert result.returncode == 1 and "--method=default (it has fast)" in result.stderr
    assert not os.path.exists(tmp_path / "wrong" / "metrics.json")
