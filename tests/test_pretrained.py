"""The shipped CelebA model: it loads by name, generates varied finite faces and completes one."""

import os

import numpy as np

from dcgan_tf import images as image_utils, pretrained
from dcgan_tf.inpainting import masks as mask_lib, search
from dcgan_tf.inpainting.settings import SearchSettings, search_settings
from dcgan_tf.models import sampling
from dcgan_tf.serving import loading

NAME = "celeba64"


def test_shipped_model_is_complete_small_and_documented():
    directory = pretrained.model_dir(NAME)
    assert directory is not None and NAME in pretrained.available()
    total = sum(os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory))
    assert total < 30e6
    with open(os.path.join(directory, "MODEL_CARD.md")) as handle:
        card = handle.read()
    assert "FID" in card and "non-commercial" in card


def test_shipped_generator_makes_varied_faces_and_completes_one():
    model = loading.load(NAME)
    config, generator = model.config, model.generator
    assert (config.image_size, config.crop) == (64, "celeba")
    raw = generator(sampling.sample_latents([16, config.latent_dim], [5, 6], config.latent_prior))
    raw = np.asarray(raw)
    assert raw.shape == (16, 64, 64, 3) and np.isfinite(raw).all()
    assert raw.min() >= -1 and raw.max() <= 1
    assert raw.std(axis=0).mean() > 0.1  # faces differ from each other
    assert raw.std(axis=(1, 2)).mean() > 0.1  # and each is not flat

    face = sampling.sample_images(generator, 1, 77, config.latent_prior)
    target = image_utils.to_float(face)
    mask = mask_lib.make_masks("center", 1, 64)
    settings = SearchSettings(steps=30).for_model(config.latent_prior)
    result = search.complete(generator, model.discriminator, target, mask, settings, seed=0)
    completed = np.asarray(result.completed)
    assert completed.shape == (1, 64, 64, 3) and np.isfinite(completed).all()
    known = mask[..., 0] == 1
    np.testing.assert_allclose(completed[0][known[0]], target[0][known[0]], atol=1e-5)
    hole_error = np.abs(completed - target)[0][~known[0]].mean()
    assert hole_error < 0.5  # the generator's own face is within its reach


def test_shipped_encoder_starts_fast_completion_near_the_face():
    """The shipped encoder inverts the shipped generator: from E's start, fast completion of a
    generated face's hole beats 20 steps from a random start."""
    model = loading.load(NAME)
    config = model.config
    assert model.encoder is not None
    faces = sampling.sample_images(model.generator, 4, 78, config.latent_prior)
    targets = image_utils.to_float(faces)
    mask = mask_lib.make_masks("center", 4, 64)
    hole = 1.0 - mask
    errors = {}
    for method in ("fast", "default"):
        flags = {} if method == "fast" else {"steps": 20}  # fast runs its own 20 at most
        settings = search_settings(method, **flags).for_model(config.latent_prior)
        result = search.complete(model.generator, model.discriminator, targets, mask, settings,
                                 seed=0, encoder=model.encoder)
        errors[method] = np.abs((result.completed - targets) * hole).sum() / (3 * hole.sum())
    assert errors["fast"] < errors["default"]
