"""The encoder E of a trained generator, for inference: masked image -> z with G(z) close to
the image. Completion then starts its latent search from E(masked image) instead of a random z
and needs far fewer steps (``complete.py --method=fast``).

E (``networks.build_encoder``) sees the masked image and its mask, [B, S, S, 4] (RGB with the
hole zeroed, then the mask with 1 = known) and returns z [B, latent_dim];
``training.encoder_trainer`` trains it.
"""

import keras
import tensorflow as tf


def encoder_inputs(images, masks) -> tf.Tensor:
    """E's input: images [B, S, S, 3] in [-1, 1] with the hole zeroed, and masks [B, S, S, 1]
    (1 = known), concatenated to [B, S, S, 4]."""
    masks = tf.cast(masks, tf.float32)
    return tf.concat([tf.cast(images, tf.float32) * masks, masks], axis=-1)


def encode(encoder: keras.Model, images, masks, batch_size: int = 256) -> tf.Tensor:
    """E(masked images) in inference mode, in batches: z [N, latent_dim]."""
    parts = [encoder(encoder_inputs(images[start:start + batch_size],
                                    masks[start:start + batch_size]), training=False)
             for start in range(0, len(images), batch_size)]
    return tf.concat(parts, axis=0)
