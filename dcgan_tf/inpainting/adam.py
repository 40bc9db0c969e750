"""Keras' Adam update written out on plain tensors, for the optimisations of completion: the
latent search (``search``) and the generator's tuning (``tuning``). Their state is tensors, not
variables: a batch that shrinks when images stop early, ``tf.while_loop`` state in a SavedModel,
a per-call copy of G's weights.
"""

import tensorflow as tf

# keras.optimizers.Adam's defaults.
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7


def update(value, gradient, first_moment, second_moment, step, learning_rate
           ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """One Adam step, as ``keras.optimizers.Adam`` takes it.

    Args:
        value, gradient, first_moment, second_moment: tensors of one shape.
        step: the step's index from 0 (int32 scalar tensor).
        learning_rate: float or float32 scalar tensor.

    Returns:
        The moved value and the new first and second moments.
    """
    local_step = tf.cast(step + 1, tf.float32)
    alpha = learning_rate * tf.sqrt(1.0 - BETA_2 ** local_step) / (1.0 - BETA_1 ** local_step)
    first_moment += (gradient - first_moment) * (1.0 - BETA_1)
    second_moment += (tf.square(gradient) - second_moment) * (1.0 - BETA_2)
    moved = value - first_moment * alpha / (tf.sqrt(second_moment) + EPSILON)
    return moved, first_moment, second_moment
