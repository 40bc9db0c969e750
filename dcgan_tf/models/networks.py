"""DCGAN generator and discriminator (Radford et al. 2015) for square images of 32, 64 or 128 px.

Generator: z [B, latent_dim] -> Dense -> 4x4 feature map -> stride-2 transposed convolutions with
BatchNorm + ReLU, halving the width each time -> tanh image [B, S, S, 3] in [-1, 1].
Discriminator: image [B, S, S, 3] in [-1, 1] -> stride-2 convolutions with BatchNorm (not on the
first) + LeakyReLU(0.2), doubling the width each time -> 4x4 map -> Dense -> logits [B, 1]; or,
with ``norm="spectral"``, every convolution and the Dense spectrally normalised (Miyato et al.
2018) instead of BatchNorm, or no normalisation at all (``norm="none"``).
Weights start from N(0, 0.02) as in the DCGAN paper. The output layers compute in float32 under
a mixed-precision policy (``keras.mixed_precision``), so images and logits are float32.
"""

import math

import keras

_FIRST_MAP = 4  # spatial size of the generator's first / discriminator's last feature map


def _init():
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def _num_resamplings(image_size: int) -> int:
    steps = math.log2(image_size / _FIRST_MAP)
    if image_size < 2 * _FIRST_MAP or steps != int(steps):
        raise ValueError(f"image_size must be 4 * 2**k with k >= 1 (e.g. 32, 64, 128), got "
                         f"{image_size}")
    return int(steps)


def _batch_norm(synchronized: bool, name: str):
    # gamma ~ N(1, 0.02) as in the DCGAN reference implementations.
    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=synchronized, name=name,
        gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02))


def build_generator(latent_dim: int = 100, image_size: int = 64, filters: int = 64,
                    kernel_size: int = 4, synchronized_bn: bool = False) -> keras.Sequential:
    """Builds the DCGAN generator.

    Args:
        latent_dim: size of z.
        image_size: output side S (32, 64 or 128).
        filters: width of the last hidden layer; earlier layers have 2x, 4x, ... of it.
        kernel_size: side of the transposed-convolution kernels (4 or 5 are usual).
        synchronized_bn: share BatchNorm statistics across replicas under a strategy.

    Returns:
        A model mapping [B, latent_dim] float32 to [B, S, S, 3] float32 in [-1, 1].
    """
    ups = _num_resamplings(image_size)
    width = filters * 2 ** (ups - 1)
    layers = [
        keras.Input((latent_dim,), name="latents"),
        keras.layers.Dense(_FIRST_MAP * _FIRST_MAP * width, use_bias=False,
                           kernel_initializer=_init(), name="project"),
        _batch_norm(synchronized_bn, "project_bn"),
        keras.layers.ReLU(name="project_relu"),
        keras.layers.Reshape((_FIRST_MAP, _FIRST_MAP, width), name="to_map"),
    ]
    for block in range(ups - 1):
        width //= 2
        layers += [
            keras.layers.Conv2DTranspose(width, kernel_size, strides=2, padding="same",
                                         use_bias=False, kernel_initializer=_init(),
                                         name=f"up{block}"),
            _batch_norm(synchronized_bn, f"up{block}_bn"),
            keras.layers.ReLU(name=f"up{block}_relu"),
        ]
    layers += [
        keras.layers.Conv2DTranspose(3, kernel_size, strides=2, padding="same",
                                     kernel_initializer=_init(), name="to_rgb"),
        keras.layers.Activation("tanh", name="tanh", dtype="float32"),
    ]
    model = keras.Sequential(layers, name="generator")
    _check_shape(model.output_shape, (None, image_size, image_size, 3), "generator")
    return model


def build_discriminator(image_size: int = 64, filters: int = 64, kernel_size: int = 4,
                        synchronized_bn: bool = False, norm: str = "batch") -> keras.Sequential:
    """Builds the DCGAN discriminator.

    Args:
        image_size: input side S (32, 64 or 128).
        filters: width of the first convolution; later ones have 2x, 4x, ... of it.
        kernel_size: side of the convolution kernels.
        synchronized_bn: share BatchNorm statistics across replicas under a strategy.
        norm: "batch" (BatchNorm after every convolution but the first), "spectral" (Keras'
            ``SpectralNormalization`` of every convolution and of the Dense, one power iteration
            per training call) or "none".

    Returns:
        A model mapping [B, S, S, 3] float32 in [-1, 1] to logits [B, 1] (D(x) = sigmoid(logit)).
    """
    layers = [keras.Input((image_size, image_size, 3), name="images")]
    layers += _down_stack(image_size, filters, kernel_size, synchronized_bn, norm)
    logits = keras.layers.Dense(1, kernel_initializer=_init(), name="logits", dtype="float32")
    layers += [
        keras.layers.Flatten(name="flatten"),
        _spectral(logits) if norm == "spectral" else logits,
    ]
    model = keras.Sequential(layers, name="discriminator")
    _check_shape(model.output_shape, (None, 1), "discriminator")
    return model


def build_encoder(image_size: int = 64, latent_dim: int = 100, filters: int = 32,
                  kernel_size: int = 4, latent_prior: str = "normal") -> keras.Sequential:
    """Builds the encoder E of ``models.encoder``: the discriminator's convolution stack on the
    masked image and its mask, then a dense layer to z.

    Args:
        image_size: input side S (32, 64 or 128).
        latent_dim: size of z.
        filters: width of the first convolution; later ones have 2x, 4x, ... of it.
        kernel_size: side of the convolution kernels.
        latent_prior: "uniform" ends in tanh (z in [-1, 1]); "normal" is unbounded.

    Returns:
        A model mapping [B, S, S, 4] (RGB in [-1, 1] with the hole zeroed, then the mask with
        1 = known) to z [B, latent_dim].
    """
    layers = [keras.Input((image_size, image_size, 4), name="masked_images")]
    layers += _down_stack(image_size, filters, kernel_size, synchronized_bn=False)
    layers += [keras.layers.Flatten(name="flatten"),
               keras.layers.Dense(latent_dim, name="latents")]
    if latent_prior == "uniform":
        layers.append(keras.layers.Activation("tanh", name="tanh"))
    model = keras.Sequential(layers, name="encoder")
    _check_shape(model.output_shape, (None, latent_dim), "encoder")
    return model


def _down_stack(image_size: int, filters: int, kernel_size: int, synchronized_bn: bool,
                norm: str = "batch") -> list:
    """Stride-2 convolutions down to a 4x4 map, doubling the width each time, with BatchNorm (not
    on the first; ``norm="batch"``) or spectral normalisation (``"spectral"``), and
    LeakyReLU(0.2)."""
    layers, width = [], filters
    for block in range(_num_resamplings(image_size)):
        batch_norm = norm == "batch" and block > 0
        convolution = keras.layers.Conv2D(width, kernel_size, strides=2, padding="same",
                                          use_bias=not batch_norm, kernel_initializer=_init(),
                                          name=f"down{block}")
        layers.append(_spectral(convolution) if norm == "spectral" else convolution)
        if batch_norm:
            layers.append(_batch_norm(synchronized_bn, f"down{block}_bn"))
        layers.append(keras.layers.LeakyReLU(0.2, name=f"down{block}_lrelu"))
        width *= 2
    return layers


def _spectral(layer: keras.layers.Layer) -> keras.layers.Layer:
    """``layer`` with its kernel divided by its largest singular value (power iteration).

    The wrapper computes in float32 whatever the policy: under a mixed policy it would read the
    kernel cast to half precision and write W / sigma back rounded to it, every training call.
    ``layer`` keeps its own policy, and the output is float32."""
    return keras.layers.SpectralNormalization(layer, power_iterations=1,
                                              name=f"{layer.name}_sn", dtype="float32")


def _check_shape(actual, expected, what: str) -> None:
    assert tuple(actual) == expected, f"{what} output shape {actual}, expected {expected}"
