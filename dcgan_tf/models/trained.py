"""A trained model held for inference: its config and networks, BatchNorm used in inference
mode (``serving.loading.load`` restores one from any model spec)."""

import dataclasses

import keras

from dcgan_tf.models.config import TrainConfig


@dataclasses.dataclass
class Model:
    """A trained model, for inference: networks with BatchNorm used in inference mode.

    Attributes:
        config: the TrainConfig it was trained with.
        generator: z [n, latent_dim] -> images [n, S, S, 3] in [-1, 1] (the weights' moving
            average when the run kept one, --g_ema_kimg).
        discriminator: images [n, S, S, 3] in [-1, 1] -> logits [n, 1].
        encoder: masked images [n, S, S, 4] -> z [n, latent_dim], or None when the run trained
            none (``train.py --encoder``).
        step: the generator's training step; -1 when unknown (packaged models).
        encoder_step: the generator step the encoder was trained against (-1: unknown or no
            encoder).
        source: the model spec as resolved (a path or a packaged name).
    """

    config: TrainConfig
    generator: keras.Model
    discriminator: keras.Model
    encoder: keras.Model | None
    step: int
    encoder_step: int
    source: str
