"""The shipped CelebA models: each loads by name, generates varied finite faces and completes
one."""

import os

import numpy as np
import pytest

from dcgan_tf import images as image_utils, pretrained
from dcgan_tf.inpainting import masks as mask_lib, search
from dcgan_tf.inpainting.settings import SearchSettings, search_settings
from dcgan_tf.models import sampling
from dcgan_tf.serving import loading

# name: (image size, training crop, the package's size limit in bytes)
SHIPPED = {"celeba64": (64, "celeba", 30e6), "celeba128": (128, "celeba_face", 40e6)}


def test_every_packaged_model_is_one_of_these_tests():
    assert sorted(SHIPPED) == pretrained.available()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_is_complete_small_and_documented(name):
    directory = pretrained.model_dir(name)
    assert directory is not None
    total = sum(os.path.getsize(os.path.join(directory, file)) for file in os.listdir(directory))
    assert total < SHIPPED[name][2]
    with open(os.path.join(directory, "MODEL_CARD.md")) as handle:
        card = handle.read()
    assert "FID" in card and "non-commercial" in card


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_generator_makes_varied_faces_and_completes_one(name):
    model = loading.load(name)
    config, generator = model.config, model.generator
    size, crop, _ = SHIPPED[name]
    assert (config.image_size, config.crop) == (size, crop)
    raw = generator(sampling.sample_latents([16, config.latent_dim], [5, 6], config.latent_prior))
    raw = np.asarray(raw)
    assert raw.shape == (16, size, size, 3) and np.isfinite(raw).all()
    assert raw.min() >= -1 and raw.max() <= 1
    assert raw.std(axis=0).mean() > 0.1  # faces differ from each other
    assert raw.std(axis=(1, 2)).mean() > 0.1  # and each is not flat

    face = sampling.sample_images(generator, 1, 77, config.latent_prior)
    target = image_utils.to_float(face)
    mask = mask_lib.make_masks("center", 1, size)
    settings = SearchSettings(steps=30).for_model(config.latent_prior)
    result = search.complete(generator, model.discriminator, target, mask, settings, seed=0)
    completed = np.asarray(result.completed)
    assert completed.shape == (1, size, size, 3) and np.isfinite(completed).all()
    known = mask[..., 0] == 1
    np.testing.assert_allclose(completed[0][known[0]], target[0][known[0]], atol=1e-5)
    hole_error = np.abs(completed - target)[0][~known[0]].mean()
    assert hole_error < 0.5  # the generator's own face is within its reach


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_encoder_starts_fast_completion_near_the_face(name):
    """The shipped encoder inverts the shipped generator: from E's start, fast completion of a
    generated face's hole beats 20 steps from a random start."""
    model = loading.load(name)
    config = model.config
    assert model.encoder is not None
    faces = sampling.sample_images(model.generator, 4, 78, config.latent_prior)
    targets = image_utils.to_float(faces)
    mask = mask_lib.make_masks("center", 4, config.image_size)
    hole = 1.0 - mask
    errors = {}
    for method in ("fast", "default"):
        flags = {} if method == "fast" else {"steps": 20}  # fast runs its own 20 at most
        settings = search_settings(method, **flags).for_model(config.latent_prior)
        result = search.complete(model.generator, model.discriminator, targets, mask, settings,
                                 seed=0, encoder=model.encoder)
        errors[method] = np.abs((result.completed - targets) * hole).sum() / (3 * hole.sum())
    assert errors["fast"] < errors["default"]
