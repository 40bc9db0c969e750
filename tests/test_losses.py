"""GAN losses (minimax, non-saturating, hinge) against hand-computed constants."""

import math

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf.models import losses


def test_discriminator_loss_at_chance_is_log4():
    zeros = tf.zeros([3])
    np.testing.assert_allclose(losses.minimax_discriminator_loss(zeros, zeros), [math.log(4)] * 3,
                               rtol=1e-6)


def test_discriminator_loss_hand_computed():
    # D(x) = sigmoid(2) = 0.880797, D(G(z)) = sigmoid(-1) = 0.268941
    # loss = -log(0.880797) - log(1 - 0.268941) = 0.126928 + 0.313262
    loss = losses.minimax_discriminator_loss(tf.constant([2.0]), tf.constant([-1.0]))
    np.testing.assert_allclose(loss, [0.126928 + 0.313262], rtol=1e-5)


def test_generator_losses_hand_computed():
    fake_logits = tf.constant([0.0, 1.0, -3.0])
    # minimax: log(1 - sigmoid(l)) = -softplus(l)
    np.testing.assert_allclose(losses.minimax_generator_loss(fake_logits),
                               [-0.693147, -1.313262, -0.048587], rtol=1e-5)
    # non-saturating: -log sigmoid(l) = softplus(-l)
    np.testing.assert_allclose(losses.non_saturating_generator_loss(fake_logits),
                               [0.693147, 0.313262, 3.048587], rtol=1e-5)


def test_losses_stay_finite_for_huge_logits():
    huge = tf.constant([1e4, -1e4])
    for value in (losses.minimax_discriminator_loss(huge, -huge),
                  losses.minimax_generator_loss(huge), losses.non_saturating_generator_loss(huge)):
        assert np.all(np.isfinite(value.numpy()))


def test_non_saturating_gradient_does_not_vanish_when_d_rejects_fakes():
    logit = tf.Variable([-10.0])
    with tf.GradientTape(persistent=True) as tape:
        minimax = losses.minimax_generator_loss(logit)
        saturating_free = losses.non_saturating_generator_loss(logit)
    assert abs(tape.gradient(minimax, logit).numpy()[0]) < 1e-4
    assert abs(tape.gradient(saturating_free, logit).numpy()[0]) > 0.99


@pytest.mark.parametrize("global_batch", [4, 8])
def test_average_over_global_batch_divides_by_global_size(global_batch):
    per_example = tf.constant([1.0, 2.0, 3.0, 4.0])
    assert losses.average_over_global_batch(per_example, global_batch).numpy() == pytest.approx(
        10.0 / global_batch)


def test_hinge_losses():
    real, fake = tf.constant([2.0, 0.5, -1.0]), tf.constant([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(losses.hinge_discriminator_loss(real, fake).numpy(),
                               [0.0 + 0.0, 0.5 + 1.0, 2.0 + 4.0])
    np.testing.assert_allclose(losses.hinge_generator_loss(fake).numpy(), [2.0, 0.0, -3.0])
