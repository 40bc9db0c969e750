"""The generator tuned to each image after the latent search (``--method=tune``), as Deep
Generative Prior (DGP, Pan et al. 2020) and Pivotal Tuning (PTI, Roich et al. 2021) do.

The search finds the z whose G(z) fits the known pixels best, so a face G cannot draw comes out
as someone similar. Tuning then moves a copy of G's weights theta (the blocks ``tune_blocks``)
and z together, for ``tune_steps`` Adam steps per image, on

    loss(theta, z) = contextual(G_theta(z), y, M)                                 the search's
                     + feature_weight * sum_l mean |D_l(M * G_theta(z)) - D_l(M * y)|     DGP
                     + locality_weight * mean_k sum (G_theta(r_k) - G(r_k))^2             PTI
                     + prior_weight * ||z||^2 / 2

Fitting the known pixels alone would let the hole drift wherever the new weights take it (DGP's
known weakness). D_l are the activations of D's blocks: matching them on the known region is
DGP's loss. The locality term keeps the tuned G drawing what G drew for ``locality_latents``
random latents r_k from the prior, new ones every step (stateless, seed (seed, -1 - step)):
PTI's regulariser, which keeps the change local to this face.

BatchNorm runs in inference mode, its statistics frozen; only the tuned blocks' weights (kernels,
biases, BatchNorm's scale and offset) and z move. The weights are plain tensors run through
``keras.Model.stateless_call``, so the caller's generator never changes, and one step function
runs eagerly (traced once, reporting after every step) and inside a SavedModel's while loop.

Each image tunes its own copy, one image after another: a batch of weight sets would need a
transposed convolution whose kernel differs from image to image, which TensorFlow has no op for
(``tf.vectorized_map`` refuses a kernel that varies), and the step of one image already keeps a
CPU's cores busy with its locality latents.
"""

import dataclasses
import typing

import keras
import numpy as np
import tensorflow as tf

from dcgan_tf.inpainting import adam
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models.sampling import sample_latents

ALL_BLOCKS = "all"


@dataclasses.dataclass
class Tuned:
    """N images completed by their tuned generators: generated [N, H, W, 3] in [-1, 1], the
    tuned latents [N, L], the final losses [N] and the mean loss over the images per step
    [tune_steps]."""

    generated: np.ndarray
    latents: np.ndarray
    losses: np.ndarray
    history: np.ndarray


class Face(typing.NamedTuple):
    """One image's fixed inputs to its tuning: ``image`` [1, S, S, 3] in [-1, 1], ``known``
    [1, S, S, 1] (1 = known), the contextual loss's ``target`` and ``weights`` rows and
    ``features``, D's block activations of the known region ``known * image``."""

    image: tf.Tensor
    known: tf.Tensor
    target: tf.Tensor
    weights: tf.Tensor
    features: list


def generator_blocks(generator: keras.Model) -> tuple[str, ...]:
    """The names of G's blocks with weights, from the input on: ("project", "up0", ...,
    "to_rgb") for ``networks.build_generator``'s G. A block is a layer with its BatchNorm."""
    return tuple(dict.fromkeys(_block(variable) for variable in generator.trainable_variables))


def _block(variable) -> str:
    """The block of one of G's variables: its layer's name without "_bn"."""
    return variable.path.split("/")[-2].removesuffix("_bn")


def tuned_indices(generator: keras.Model, blocks: str) -> list[int]:
    """The indices in ``generator.trainable_variables`` of the weights of ``blocks``: "all",
    or comma-separated names of ``generator_blocks``.

    Raises:
        ValueError: naming --tune_blocks and the generator's blocks, for an unknown name.
    """
    known = generator_blocks(generator)
    names = known if blocks == ALL_BLOCKS else tuple(name.strip() for name in blocks.split(","))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"--tune_blocks: the generator has no block {', '.join(unknown)}; it "
                         f"has {', '.join(known)} (or give {ALL_BLOCKS})")
    return [index for index, variable in enumerate(generator.trainable_variables)
            if _block(variable) in names]


def discriminator_features(discriminator: keras.Model, images) -> list[tf.Tensor]:
    """D's block activations (its ``*_lrelu`` layers, in inference mode) of images
    [n, S, S, 3] in [-1, 1]: [n, S / 2, S / 2, c], [n, S / 4, S / 4, 2c], ..."""
    features, activations = [], images
    for layer in discriminator.layers:
        activations = layer(activations, training=False)
        if layer.name.endswith("_lrelu"):
            features.append(activations)
    return features


class Tuning:
    """Tunes copies of ``generator`` to images with ``settings`` (the ``tune_*`` fields, the
    feature, locality and prior weights), for the search's contextual loss ``contextual``:
    (generated [n, H, W, 3], targets, weights) -> [n], with one image's rows of the search's
    targets and weights."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 settings: SearchSettings, contextual):
        self.generator, self.discriminator = generator, discriminator
        self.settings, self.contextual = settings, contextual
        self.tuned = tuned_indices(generator, settings.tune_blocks)
        self.latent_dim = int(generator.input_shape[-1])
        self.traced_step = tf.function(self.step)

    def face(self, image, known, target, weights) -> Face:
        """One image's ``Face`` from its rows [1, ...] of images, masks, targets and weights."""
        features = discriminator_features(self.discriminator, known * image)
        return Face(image, known, target, weights, features)

    def start(self, latent) -> tuple[list, list, list]:
        """One image's state before its first step, from its searched ``latent`` [1, L]: the
        parameters (G's own values of the tuned weights, then z) and Adam's two moments."""
        variables = self.generator.trainable_variables
        parameters = [tf.identity(variables[index].value) for index in self.tuned]
        parameters.append(tf.convert_to_tensor(latent, tf.float32))
        zeros = [tf.zeros_like(parameter) for parameter in parameters]
        return parameters, zeros, list(zeros)

    def generate(self, tuned: list, latents) -> tf.Tensor:
        """Images [n, H, W, 3] in [-1, 1] of latents [n, L] by G with the ``tuned`` weights in
        place of its own (BatchNorm in inference mode)."""
        values = [variable.value for variable in self.generator.trainable_variables]
        for index, value in zip(self.tuned, tuned):
            values[index] = value
        frozen = [variable.value for variable in self.generator.non_trainable_variables]
        images, _ = self.generator.stateless_call(values, frozen, latents, training=False)
        return images

    def terms(self, tuned: list, z, face: Face, step, seed) -> dict:
        """The terms of one image's loss (float32 scalars) at step ``step`` (int32) of a call
        seeded ``seed`` (int64): "contextual", "features" (DGP), "locality" (PTI: the mean over
        the step's random latents of the squared distance, summed over pixels, between the
        tuned and the untuned G's images) and "prior" (||z||^2 / 2)."""
        random = sample_latents(tf.stack([self.settings.locality_latents, self.latent_dim]),
                                tf.stack([tf.cast(seed, tf.int64),
                                          -1 - tf.cast(step, tf.int64)]),
                                self.settings.prior)
        images = self.generate(tuned, tf.concat([z, random], axis=0))
        generated, drawn = images[:1], images[1:]
        features = discriminator_features(self.discriminator, face.known * generated)
        untuned = self.generator(random, training=False)
        return {
            "contextual": self.contextual(generated, face.target, face.weights)[0],
            "features": tf.add_n([tf.reduce_mean(tf.abs(ours - theirs))
                                  for ours, theirs in zip(features, face.features)]),
            "locality": tf.reduce_mean(tf.reduce_sum(tf.square(drawn - untuned),
                                                     axis=[1, 2, 3])),
            "prior": 0.5 * tf.reduce_sum(tf.square(z)),
        }

    def loss(self, tuned: list, z, face: Face, step, seed) -> tf.Tensor:
        """One image's loss (float32 scalar): its ``terms``, weighted."""
        terms, settings = self.terms(tuned, z, face, step, seed), self.settings
        return (terms["contextual"] + settings.feature_weight * terms["features"]
                + settings.locality_weight * terms["locality"]
                + settings.prior_weight * terms["prior"])

    def step(self, step, parameters: list, first_moments: list, second_moments: list,
             face: Face, seed):
        """One Adam step of one image's ``parameters`` (the tuned weights, then z [1, L]) at
        step ``step`` (int32, from 0).

        Returns:
            The loss before the step, and the moved parameters and Adam's new moments.
        """
        with tf.GradientTape() as tape:
            tape.watch(parameters)
            loss = self.loss(parameters[:-1], parameters[-1], face, step, seed)
        gradients = tape.gradient(loss, parameters)
        rates = ([self.settings.tune_learning_rate] * len(self.tuned)
                 + [self.settings.tune_latent_learning_rate])
        moved = [adam.update(*arguments, step, rate) for arguments, rate in zip(
            zip(parameters, gradients, first_moments, second_moments), rates)]
        parameters, first_moments, second_moments = (list(values) for values in zip(*moved))
        if self.settings.clip_latents:
            parameters[-1] = tf.clip_by_value(parameters[-1], -self.settings.clip_latents,
                                              self.settings.clip_latents)
        return loss, parameters, first_moments, second_moments


def tune(tuning: Tuning, images, masks, latents, targets, weights, *, seed: int,
         progress=None) -> Tuned:
    """Tunes a copy of G to each of N images, from its searched z, one step of every image
    after the other.

    Args:
        tuning: the generator, discriminator and settings.
        images: [N, H, W, 3] float32 in [-1, 1]; masks: [N, H, W, 1], 1 = known.
        latents: the searched z [N, L].
        targets, weights: the contextual loss's rows of the N images (the search's).
        seed: seeds the locality term's random latents.
        progress: optional callable(step, mean loss over the images), after every step.

    Returns:
        ``Tuned``.
    """
    seed = tf.constant(seed, tf.int64)
    faces = [tuning.face(*(tf.constant(rows[index:index + 1])
                           for rows in (images, masks, targets, weights)))
             for index in range(len(images))]
    states = [tuning.start(latents[index:index + 1]) for index in range(len(images))]
    history = []
    for index in range(tuning.settings.tune_steps):
        step, losses = tf.constant(index, tf.int32), []
        for face_index, face in enumerate(faces):
            loss, *states[face_index] = tuning.traced_step(step, *states[face_index], face, seed)
            losses.append(float(loss))
        history.append(np.mean(losses))
        if progress is not None:
            progress(index + 1, history[-1])
    last = tf.constant(tuning.settings.tune_steps, tf.int32)
    generated, losses = [], []
    for (parameters, _, _), face in zip(states, faces):
        generated.append(tuning.generate(parameters[:-1], parameters[-1]).numpy())
        losses.append(float(tuning.loss(parameters[:-1], parameters[-1], face, last, seed)))
    return Tuned(np.concatenate(generated), np.concatenate([state[0][-1] for state in states]),
                 np.asarray(losses, np.float32), np.asarray(history, np.float32))


def tune_in_graph(tuning: Tuning, images, masks, latents, targets, weights, *, seed
                  ) -> tuple[tf.Tensor, tf.Tensor]:
    """``tune`` in TensorFlow ops only, for SavedModel signatures: every image's copy of G
    and Adam's moments are loop state, so concurrent calls share nothing.

    Args:
        as ``tune``'s, as tensors; seed: int64 scalar tensor.

    Returns:
        generated [N, H, W, 3] in [-1, 1] by each image's tuned G, and the final losses [N].
    """
    steps = tuning.settings.tune_steps

    def one_image(rows):
        face = tuning.face(*(row[tf.newaxis] for row in (rows[0], rows[1], rows[3], rows[4])))

        def body(step, parameters, first_moments, second_moments):
            _, *state = tuning.step(step, parameters, first_moments, second_moments, face, seed)
            return (step + 1, *state)

        _, parameters, _, _ = tf.while_loop(lambda step, *_: step < steps, body,
                                            (tf.constant(0), *tuning.start(rows[2][tf.newaxis])))
        loss = tuning.loss(parameters[:-1], parameters[-1], face, tf.constant(steps), seed)
        return tuning.generate(parameters[:-1], parameters[-1])[0], loss

    return tf.map_fn(one_image, (images, masks, latents, targets, weights),
                     fn_output_signature=(tf.float32, tf.float32))
