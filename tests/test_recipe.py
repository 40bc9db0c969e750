"""The training recipe options (train.py): what each computes, and tiny runs that use them."""

import dataclasses
import glob
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import FACES, TINY
from dcgan_tf import train_lib
from dcgan_tf.inpainting import search
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models import averaging, gan, losses, networks, runs, sampling
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.serving import loading


def test_hinge_losses():
    real, fake = tf.constant([2.0, 0.5, -1.0]), tf.constant([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake).numpy(),
                               [0.0 + 0.0, 0.5 + 1.0, 2.0 + 4.0])
    np.testing.assert_allclose(losses.hinge_generator_loss(fake).numpy(), [2.0, 0.0, -3.0])


def test_two_timescales_set_each_optimizer_and_win_on_resume(tmp_path):
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), g_learning_rate=1e-4,
                                 d_learning_rate=4e-4)
    networks = train_lib.build_networks(config)
    assert float(networks.gan.g_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(networks.gan.d_optimizer.learning_rate) == pytest.approx(4e-4)
    shorthand = train_lib.build_networks(dataclasses.replace(TINY, learning_rate=3e-4))
    for optimizer in (shorthand.gan.g_optimizer, shorthand.gan.d_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(3e-4)
    result = train_lib.run(config, images=FACES, verbose=0)
    resumed = train_lib.run(dataclasses.replace(config, epochs=2, d_learning_rate=1e-5),
                            run_dir=result.run_dir, images=FACES, verbose=0)
    assert float(resumed.trained.gan.d_optimizer.learning_rate) == pytest.approx(1e-5)
    assert float(resumed.trained.gan.g_optimizer.learning_rate) == pytest.approx(1e-4)


def _largest_singular_value(kernel: np.ndarray) -> float:
    return float(np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0])


def test_spectral_discriminator_normalises_every_kernel_and_has_no_batchnorm():
    keras.utils.set_random_seed(1)
    discriminator = networks.build_discriminator(32, 4, norm="spectral")
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in discriminator.layers)
    wrapped = [layer for layer in discriminator.layers
               if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == 4  # three convolutions and the logits
    for layer in wrapped:  # scale the kernels far from norm 1
        layer.layer.kernel.assign(layer.layer.kernel * 50.0)
    images = tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], -1, 1)
    for _ in range(30):  # power iterations converge over training calls
        discriminator(images, training=True)
    for layer in wrapped:
        assert _largest_singular_value(layer.layer.kernel.numpy()) == pytest.approx(1.0, rel=0.05)
    none = networks.build_discriminator(32, 4, norm="none")
    assert not any(isinstance(layer, (keras.layers.BatchNormalization,
                                      keras.layers.SpectralNormalization))
                   for layer in none.layers)


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_spectral_normalisation_under_mixed_precision_keeps_float32_weights(precision):
    """The convolutions compute in half precision, but the normalised kernels written back each
    training call are float32 values (not rounded to half precision), and the logits float32."""
    keras.utils.set_random_seed(1)
    with train_lib._precision(precision):
        discriminator = networks.build_discriminator(32, 4, norm="spectral")
    wrapped = [layer for layer in discriminator.layers
               if isinstance(layer, keras.layers.SpectralNormalization)]
    assert wrapped[0].layer.compute_dtype == precision
    logits = discriminator(tf.random.stateless_uniform([4, 32, 32, 3], [1, 2], -1, 1),
                           training=True)
    assert logits.dtype == tf.float32
    for layer in wrapped:
        kernel = layer.layer.kernel.numpy()
        rounded = tf.cast(tf.cast(kernel, precision), tf.float32).numpy()
        assert np.mean(kernel == rounded) < 0.05, layer.name


def test_augmentation_reaches_the_discriminator_with_draws_of_its_own():
    keras.utils.set_random_seed(2)
    generator = networks.build_generator(8, 32, 4)
    discriminator = networks.build_discriminator(32, 4)
    plain = gan.DCGAN(generator, discriminator, seed=3)
    augmented = gan.DCGAN(generator, discriminator, seed=3, augment=("translation", "cutout"))
    for model in (plain, augmented):
        model.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
    images = tf.random.stateless_uniform([4, 32, 32, 3], [4, 5], -1, 1)
    assert not np.allclose(plain._discriminate(images, 0, fake=False).numpy(),
                           augmented._discriminate(images, 0, fake=False).numpy())
    np.testing.assert_array_equal(augmented._discriminate(images, 0, fake=False).numpy(),
                                  augmented._discriminate(images, 0, fake=False).numpy())
    assert not np.allclose(augmented._discriminate(images, 0, fake=False).numpy(),
                           augmented._discriminate(images, 0, fake=True).numpy())



def _generator_after_one_step(augment: tuple) -> list:
    keras.utils.set_random_seed(2)
    generator = networks.build_generator(8, 32, 4)
    model = gan.DCGAN(generator, networks.build_discriminator(32, 4), seed=3, augment=augment)
    model.compile(d_optimizer=keras.optimizers.Adam(), g_optimizer=keras.optimizers.Adam())
    start = [weight.numpy() for weight in generator.trainable_weights]
    model.fit(tf.data.Dataset.from_tensor_slices(FACES[:8] / 127.5 - 1).batch(8).repeat(),
              steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
    return start, [weight.numpy() for weight in generator.trainable_weights]


def test_the_generator_learns_through_the_augmentation():
    """Every G weight moves in a step whose D saw G(z) only augmented (Keras refuses an update
    without gradients), and differently from a step without augmentation."""
    start, plain = _generator_after_one_step(())
    same_start, augmented = _generator_after_one_step(("translation", "cutout", "color"))
    for before, before_again, after_plain, after_augmented in zip(start, same_start, plain,
                                                                  augmented):
        np.testing.assert_array_equal(before, before_again)
        assert np.abs(after_augmented - before).max() > 0
    assert any(not np.allclose(a, b) for a, b in zip(plain, augmented))


def test_average_half_life_ramps_up_then_holds():
    optimizer = averaging.AveragingAdam(1e-3, half_life_kimg=10.0, rampup=0.05,
                                        images_per_update=32)
    optimizer.build([tf.Variable(0.0)])
    for iterations, half_life in ((100, 100 * 32 * 0.05), (100_000, 10_000.0)):
        optimizer.iterations.assign(iterations)
        assert float(optimizer.ema_momentum) == pytest.approx(0.5 ** (32 / half_life))
    constant = averaging.AveragingAdam(1e-3, half_life_kimg=1.0, rampup=0.0,
                                       images_per_update=100)
    constant.build([tf.Variable(0.0)])
    assert float(constant.ema_momentum) == pytest.approx(0.5 ** 0.1)


def test_average_follows_its_update_rule():
    """Three Adam steps on w: the average is Keras' EMA with this step's beta each time."""
    weight = tf.Variable([1.0, -2.0])
    optimizer = averaging.AveragingAdam(0.1, half_life_kimg=0.004, rampup=0.0,
                                        images_per_update=2)
    optimizer.build([weight])
    beta = 0.5 ** (2 / 4.0)
    expected = None
    for _ in range(3):
        optimizer.apply_gradients([(tf.constant([1.0, 1.0]), weight)])
        expected = weight.numpy() if expected is None else beta * expected + (1 - beta) * \
            weight.numpy()
    np.testing.assert_allclose(optimizer._model_variables_moving_average[0].numpy(), expected,
                               rtol=1e-6)


def test_before_its_first_update_the_average_is_the_trained_weights(tmp_path):
    """A loss-scaling optimizer can skip the first steps: until an update is applied there is
    no average (its slots are zeros), so samples and loading use the trained weights."""
    config = dataclasses.replace(TINY, g_ema_kimg=1.0)
    networks = train_lib.build_networks(config)
    generator = networks.gan.generator
    networks.gan.g_optimizer.build(generator.trainable_variables)
    trained = [weight.numpy() for weight in generator.trainable_variables]
    assert np.abs(trained[0]).max() > 0
    with networks.gan.averaged_generator() as held:
        for weight, value in zip(held.trainable_variables, trained):
            np.testing.assert_array_equal(weight.numpy(), value)
    path = networks.checkpoint.save(str(tmp_path / "ckpt"))
    fresh, _ = loading.build_gan_networks(config)
    loading.restore_gan(path, config, fresh)
    for weight, value in zip(fresh.trainable_variables, trained):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_a_run_of_the_former_constant_momentum_keeps_its_average():
    """config.json of a run trained with --g_ema=0.999 (Keras' use_ema, the same checkpoint
    slot) at batch 64: the same beta every update, no ramp-up."""
    legacy = {**json.loads(TINY.to_json()), "g_ema": 0.999, "batch_size": 64}
    del legacy["g_ema_kimg"], legacy["g_ema_rampup"]
    config = TrainConfig.from_dict(legacy)
    assert config.g_ema_rampup == 0.0
    optimizer = averaging.AveragingAdam(1e-3, half_life_kimg=config.g_ema_kimg, rampup=0.0,
                                        images_per_update=64)
    optimizer.build([tf.Variable(0.0)])
    assert float(optimizer.ema_momentum) == pytest.approx(0.999)
    assert TrainConfig.from_dict({**legacy, "g_ema": 0.0}).g_ema_kimg == 0.0


def test_batchnorm_statistics_are_measured_for_the_weights_held():
    keras.utils.set_random_seed(4)
    generator = networks.build_generator(8, 32, 4)
    averaging.recompute_batchnorm(generator)
    projected = keras.Model(generator.inputs, generator.get_layer("project").output)
    means = []
    for batch in range(averaging.BATCHNORM_BATCHES):
        latents = sampling.sample_latents([averaging.BATCHNORM_BATCH_SIZE, 8],
                                          tf.constant([averaging.BATCHNORM_SEED, batch], tf.int64))
        means.append(projected(latents).numpy().mean(axis=0))
    np.testing.assert_allclose(generator.get_layer("project_bn").moving_mean.numpy(),
                               np.mean(means, axis=0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_a_mixed_precision_run_trains_saves_resumes_and_completes(tmp_path, precision):
    config = dataclasses.replace(TINY, runs_dir=str(tmp_path), mixed_precision=precision,
                                 g_ema_kimg=0.01)
    result = train_lib.run(config, images=FACES, verbose=0)
    gan_model = result.trained.gan
    assert gan_model.generator.get_layer("up0").compute_dtype == precision
    assert all(variable.dtype == "float32" for variable in gan_model.generator.variables)
    assert gan_model.generator(tf.zeros([1, 8])).dtype == tf.float32
    resumed = train_lib.run(dataclasses.replace(config, epochs=2), run_dir=result.run_dir,
                            images=FACES, verbose=0)
    assert resumed.step == 6
    model = loading.load(result.run_dir)
    assert model.step == 6 and model.generator.get_layer("up0").compute_dtype == "float32"
    images = tf.constant(FACES[:2] / 127.5 - 1.0, tf.float32)
    masks = np.ones([2, 32, 32, 1], np.float32)
    masks[:, 8:24, 8:24] = 0
    completion = search.complete(model.generator, model.discriminator, images, masks,
                                 SearchSettings(steps=3))
    assert np.all(np.isfinite(completion.completed))


def test_an_overflow_on_one_replica_skips_the_step_on_every_replica(two_cpus):
    """Two replicas, float16 loss scaling: replica 1's gradient overflows, replica 0's does not.
    Every replica skips the update (the weight stays, the scale halves) instead of following
    replica 0 into a sum that holds inf."""
    # Reduced on one device: collective ops here would share instance keys with the next
    # strategy of the process (another test's), with other shapes.
    strategy = tf.distribute.MirroredStrategy(
        two_cpus, cross_device_ops=tf.distribute.ReductionToOneDevice())
    with strategy.scope():
        weight = tf.Variable([1.0, 2.0])
        optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
        optimizer.build([weight])
    scale = float(optimizer.dynamic_scale.numpy())

    @tf.function
    def step(overflow_on_replica_1: bool):
        def on_replica():
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            bad = tf.logical_and(overflow_on_replica_1, tf.equal(replica, 1))
            gradient = tf.where(bad, tf.constant([np.inf, 1.0]), tf.constant([1.0, 1.0]))
            optimizer.apply_gradients(zip(gan.agree_on_overflow([gradient]), [weight]))
        strategy.run(on_replica)

    step(tf.constant(True))
    np.testing.assert_array_equal(weight.numpy(), [1.0, 2.0])
    assert float(optimizer.dynamic_scale.numpy()) == scale / 2
    step(tf.constant(False))  # both finite: the sum [2, 2], unscaled, is applied
    np.testing.assert_allclose(weight.numpy(), np.array([1.0, 2.0]) - 0.1 * 2 / (scale / 2),
                               rtol=1e-6)


def test_preview_faces_are_held_out_of_training():
    real = dataclasses.replace(TINY, data="faces.zip", held_out_faces=6)
    held_out, training = train_lib._held_out(real, FACES)
    np.testing.assert_array_equal(held_out, FACES[:6])
    np.testing.assert_array_equal(training, FACES[6:])
    synthetic_held_out, everything = train_lib._held_out(
        dataclasses.replace(TINY, held_out_faces=8), FACES)
    assert everything is FACES and synthetic_held_out.shape == (8, 32, 32, 3)
    with pytest.raises(ValueError, match="--held_out_faces holds out 6 images"):
        train_lib._held_out(real, FACES[:10])


def test_held_out_faces_are_fixed_for_a_run_whatever_the_previews(tmp_path):
    """The hold-out does not follow --preview_every, a resumed run keeps its held-out set, and a
    config.json from before the field says what that run held out."""
    assert TrainConfig(preview_every=0).held_out_faces == 8
    run = str(tmp_path)
    runs.save_config(run, dataclasses.replace(TINY, held_out_faces=8))
    with pytest.raises(ValueError, match="--held_out_faces 8 -> 0"):
        train_lib.run(dataclasses.replace(TINY, held_out_faces=0), run_dir=run, images=FACES,
                      verbose=0)
    legacy = json.loads(TINY.to_json())
    del legacy["held_out_faces"]
    assert TrainConfig.from_dict({**legacy, "preview_every": 500}).held_out_faces == 8
    assert TrainConfig.from_dict({**legacy, "preview_every": 0}).held_out_faces == 0
    del legacy["preview_every"]  # a run from before the previews held out nothing
    assert TrainConfig.from_dict(legacy).held_out_faces == 0


def test_config_refuses_bad_recipe_values():
    for fields, message in (({"d_norm": "layer"}, "--d_norm must be one of"),
                            ({"d_loss": "wasserstein"}, "--d_loss must be one of"),
                            ({"augment": "flip"}, "--augment"),
                            ({"mixed_precision": "int8"}, "--mixed_precision must be one of"),
                            ({"g_ema_rampup": 2.0}, "--g_ema_rampup must be in [0, 1]"),
                            ({"preview_every": -1}, "--preview_every must be >= 0"),
                            ({"held_out_faces": 65}, "--held_out_faces must be in [0, 64]")):
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            TrainConfig(**fields).validate()


def test_completion_previews_are_in_the_event_files(tiny_run):
    """--preview_every=2 on a 3-step run: the preview grid and its hole PSNR at steps 2 and 3."""
    _, result = tiny_run
    steps = {}
    for path in glob.glob(os.path.join(result.run_dir, "logs", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
                if value.tag == "preview_hole_psnr":
                    assert 3.0 < float(tf.make_ndarray(value.tensor)) < 40.0
    assert steps["completion_preview"] == [2, 3] and steps["preview_hole_psnr"] == [2, 3]
