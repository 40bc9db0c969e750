"""The DCGAN train_step: one replica vs two under MirroredStrategy, generator-loss choice, the
averaged generator, and an overflow on one replica skipping the step on every replica."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf.models import gan, networks

LATENT, SIZE, WIDTH, BATCH = 8, 32, 4, 8


def _fit_one_step(strategy, g_loss="non_saturating", g_steps=1):
    with strategy.scope():
        keras.utils.set_random_seed(7)
        synchronized = strategy.num_replicas_in_sync > 1
        generator = networks.build_generator(LATENT, SIZE, WIDTH, synchronized_bn=synchronized)
        discriminator = networks.build_discriminator(SIZE, WIDTH, synchronized_bn=synchronized)
        model = gan.DCGAN(generator, discriminator, g_loss=g_loss, g_steps=g_steps, seed=5)
        model.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    real = np.random.default_rng(0).uniform(-1, 1, (BATCH, SIZE, SIZE, 3)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(real).batch(BATCH).repeat()
    history = model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False).history
    weights = [w.numpy() for w in generator.weights + discriminator.weights]
    return {name: values[0] for name, values in history.items()}, weights, model


def test_two_replicas_match_one_replica_on_the_same_global_batch(two_cpus):
    single_logs, single_weights, _ = _fit_one_step(tf.distribute.get_strategy())
    mirrored_logs, mirrored_weights, _ = _fit_one_step(tf.distribute.MirroredStrategy(two_cpus))
    assert set(single_logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for name, value in single_logs.items():
        assert mirrored_logs[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name
    for single, mirrored in zip(single_weights, mirrored_weights):
        np.testing.assert_allclose(mirrored, single, rtol=1e-3, atol=1e-5)


def test_step_updates_both_networks_and_counts_steps():
    before_logs, _, model = _fit_one_step(tf.distribute.get_strategy(), g_steps=2)
    assert int(model.d_optimizer.iterations) == 1
    assert int(model.g_optimizer.iterations) == 2
    assert 0.0 < before_logs["d_real"] < 1.0 and 0.0 < before_logs["d_fake"] < 1.0


def test_minimax_generator_loss_is_negative_log_of_one_minus_d():
    logs, _, _ = _fit_one_step(tf.distribute.get_strategy(), g_loss="minimax")
    # log(1 - D(G(z))) < 0, near -log 2 for an untrained discriminator.
    assert -1.5 < logs["g_loss"] < 0.0


def test_unknown_generator_loss_is_refused():
    generator = networks.build_generator(LATENT, SIZE, WIDTH)
    discriminator = networks.build_discriminator(SIZE, WIDTH)
    with pytest.raises(ValueError, match="g_loss"):
        gan.DCGAN(generator, discriminator, g_loss="wasserstein")


def _fit_with_average(strategy, steps=3, momentum=0.5):
    with strategy.scope():
        keras.utils.set_random_seed(7)
        synchronized = strategy.num_replicas_in_sync > 1
        generator = networks.build_generator(LATENT, SIZE, WIDTH, synchronized_bn=synchronized)
        discriminator = networks.build_discriminator(SIZE, WIDTH, synchronized_bn=synchronized)
        model = gan.DCGAN(generator, discriminator, seed=5)
        model.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                      g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5, use_ema=True,
                                                        ema_momentum=momentum))
    real = np.random.default_rng(0).uniform(-1, 1, (BATCH, SIZE, SIZE, 3)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices(real).batch(BATCH).repeat()
    snapshots = []

    class Snapshot(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            snapshots.append([w.numpy() for w in generator.trainable_variables])

    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False,
              callbacks=[Snapshot()])
    return model, snapshots


def test_averaged_generator_holds_the_moving_average_and_gives_the_weights_back(two_cpus):
    model, snapshots = _fit_with_average(tf.distribute.get_strategy())
    expected = snapshots[0]  # Keras starts the average at the first step's weights
    for weights in snapshots[1:]:
        expected = [0.5 * average + 0.5 * weight for average, weight in zip(expected, weights)]
    trained = [w.numpy() for w in model.generator.trainable_variables]
    latents = tf.random.stateless_normal([2, LATENT], [1, 2])
    with model.averaged_generator() as generator:
        for variable, average in zip(generator.trainable_variables, expected):
            np.testing.assert_allclose(variable.numpy(), average, rtol=1e-5, atol=1e-6)
        averaged_images = generator(latents).numpy()
    for variable, weight in zip(model.generator.trainable_variables, trained):
        np.testing.assert_array_equal(variable.numpy(), weight)
    assert not np.allclose(model.generator(latents).numpy(), averaged_images)

    mirrored, _ = _fit_with_average(tf.distribute.MirroredStrategy(two_cpus))
    with mirrored.averaged_generator() as generator:
        for variable, average in zip(generator.trainable_variables, expected):
            np.testing.assert_allclose(variable.numpy(), average, rtol=1e-3, atol=1e-5)


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
