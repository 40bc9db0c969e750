"""GAN losses on discriminator logits, per example, plus replica-aware averaging.

All functions take logits (unbounded reals; D(x) = sigmoid(logit) is the probability that x is
real) of shape [B] and return per-example losses of shape [B], computed with ``softplus`` so they
stay finite for large logits:

    -log D(x)       = softplus(-logit)
    -log(1 - D(x))  = softplus(logit)

Average them with ``average_over_global_batch`` inside a distributed ``train_step``.
"""

import tensorflow as tf


def minimax_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Discriminator loss: -[log D(x) + log(1 - D(G(z)))], per example.

    Minimising it maximises the discriminator's objective of the original GAN minimax game.

    Args:
        real_logits: [B] logits of real images.
        fake_logits: [B] logits of generated images.

    Returns:
        [B] float32 losses in [0, inf); log(4) ~ 1.386 when D outputs 0.5 everywhere.
    """
    return tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits)


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Generator loss of the original minimax game: log(1 - D(G(z))), per example.

    Saturates (vanishing gradient) when D confidently rejects the samples.

    Returns:
        [B] float32 losses in (-inf, 0]; -log(2) ~ -0.693 when D outputs 0.5.
    """
    return -tf.nn.softplus(fake_logits)


def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss: -log D(G(z)), per example.

    Returns:
        [B] float32 losses in [0, inf); log(2) ~ 0.693 when D outputs 0.5.
    """
    return tf.nn.softplus(-fake_logits)


def hinge_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """Hinge loss of the discriminator (Lim & Ye 2017; SNGAN, BigGAN): max(0, 1 - D(x)) +
    max(0, 1 + D(G(z))) on the logits, per example.

    Returns:
        [B] float32 losses in [0, inf); 2 when every logit is 0, 0 once real logits are >= 1
        and fake ones <= -1.
    """
    return tf.nn.relu(1.0 - real_logits) + tf.nn.relu(1.0 + fake_logits)


def hinge_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Generator loss of the hinge game: -D(G(z)) on the logits, per example.

    Returns:
        [B] float32 losses, unbounded; 0 when the logits are 0.
    """
    return -fake_logits


GENERATOR_LOSSES = {
    "minimax": minimax_generator_loss,
    "non_saturating": non_saturating_generator_loss,
    "hinge": hinge_generator_loss,
}

DISCRIMINATOR_LOSSES = {
    "minimax": minimax_discriminator_loss,
    "hinge": hinge_discriminator_loss,
}


def average_over_global_batch(per_example_loss: tf.Tensor, global_batch_size) -> tf.Tensor:
    """Sums this replica's per-example losses and divides by the global batch size.

    Under a distribution strategy the replicas' gradients are summed, so each replica must divide
    by the global batch (not its own) for the update to equal the single-device mean.
    """
    return tf.nn.compute_average_loss(per_example_loss, global_batch_size=global_batch_size)
