"""SavedModels that TF Serving loads: ``<export_base>/<model_name>/<version>/``.

Each version folder holds ``saved_model.pb``, ``variables/`` and ``assets/export_info.json`` (the
training config and the baked-in completion settings). It is written to a hidden temporary
folder next to the versions and renamed when complete, so a server watching the base never sees
a partial version (names that are not integers are not versions to TF Serving).

Signatures (S = image size, L = latent size; uint8 images in [0, 255], masks 1 = known):
    serving_default        latents float32 [N, L]                  -> images uint8 [N, S, S, 3]
    generate_from_seed     seed int64 [], count int32 []           -> images uint8 [N, S, S, 3]
    discriminate           images uint8 [N, S, S, 3]               -> probability float32 [N]
    complete               images uint8 [N, S, S, 3],
                           masks float32 [N, S, S, 1]              -> completed uint8, generated
                                                                      uint8, loss float32 [N]
    complete_with_options  as complete, plus steps int32 [] and seed int64 []
    export_info            format string [] ("json")               -> info string []: the
                                                                      JSON of export_info.json
    encode                 (when the run has an encoder) images uint8 [N, S, S, 3],
                           masks float32 [N, S, S, 1]              -> latents float32 [N, L]
With an encoder, ``complete`` starts from E(masked image) when the baked settings say so
(``export.py --method=fast``), and stops each start early as ``complete.py`` does.
TF Serving requires every input of a signature in each request, so the optional steps and seed
of a completion are a second signature, and ``export_info`` (which clients read to learn the
baked settings; TF Serving's metadata holds only signatures) takes a token input. Only standard
TF ops: the completion loop is a ``tf.while_loop`` (``search.complete_in_graph``) and Poisson
blending conjugate gradients.
Inputs are checked inside the graph (shapes, mask size, counts), so a bad request gets an
InvalidArgument error that says what is wrong.
"""

import dataclasses
import json
import os
import re
import shutil
import tempfile

import tensorflow as tf

from dcgan_tf import files, images as image_utils
from dcgan_tf.checks import check_range
from dcgan_tf.inpainting import search
from dcgan_tf.inpainting.settings import SearchSettings
from dcgan_tf.models.config import TrainConfig
from dcgan_tf.models.encoder import encoder_inputs
from dcgan_tf.models.sampling import sample_latents
from dcgan_tf.models.trained import Model
from dcgan_tf.serving import loading

SIGNATURES = ("serving_default", "generate_from_seed", "discriminate", "complete",
              "complete_with_options", "export_info")
INFO_FILE = "export_info.json"
MAX_COUNT = 1024  # generate_from_seed
MAX_STEPS = 100_000  # complete_with_options
_TEMPORARY_PREFIX = ".partial-"


class ServingModule(tf.Module):
    """The networks and the signature functions of one export."""

    def __init__(self, generator, discriminator, model_config: TrainConfig,
                 search: SearchSettings, info_path: str, encoder=None):
        super().__init__()
        # Track only the tf.Variables under the Keras 3 wrappers (as keras' ExportArchive does):
        # the v1 loader that TF Serving uses does not restore variables tracked via the models.
        self._setattr_tracking = False
        self.generator, self.discriminator, self.encoder = generator, discriminator, encoder
        self._setattr_tracking = True
        networks = [generator, discriminator] + ([encoder] if encoder is not None else [])
        self.tf_variables = [variable.value for network in networks
                             for variable in network.variables]
        self.info = tf.saved_model.Asset(info_path)
        with open(info_path) as handle:
            self.info_text = handle.read()
        self.search = search
        size, latent = model_config.image_size, model_config.latent_dim
        self.size, self.latent_dim, self.prior = size, latent, model_config.latent_prior
        # Dimensions are left open in the specs and checked by EnsureShape ops in the graph:
        # TF Serving does not check request shapes against a signature.
        images = tf.TensorSpec([None, None, None, None], tf.uint8, name="images")
        masks = tf.TensorSpec([None, None, None, None], tf.float32, name="masks")
        steps = tf.TensorSpec([], tf.int32, name="steps")
        seed = tf.TensorSpec([], tf.int64, name="seed")
        self.generate = tf.function(
            self._generate, input_signature=[tf.TensorSpec([None, None], tf.float32,
                                                            name="latents")])
        self.generate_from_seed = tf.function(
            self._generate_from_seed,
            input_signature=[seed, tf.TensorSpec([], tf.int32, name="count")])
        self.discriminate = tf.function(self._discriminate, input_signature=[images])
        self.complete = tf.function(self._complete, input_signature=[images, masks])
        self.complete_with_options = tf.function(
            self._complete_with_options, input_signature=[images, masks, steps, seed])
        self.export_info = tf.function(
            self._export_info, input_signature=[tf.TensorSpec([], tf.string, name="format")])
        if encoder is not None:
            self.encode = tf.function(self._encode, input_signature=[images, masks])

    def signatures(self) -> dict:
        functions = {"serving_default": self.generate,
                     "generate_from_seed": self.generate_from_seed,
                     "discriminate": self.discriminate, "complete": self.complete,
                     "complete_with_options": self.complete_with_options,
                     "export_info": self.export_info}
        if self.encoder is not None:
            functions["encode"] = self.encode
        return functions

    def _checked(self, images, masks):
        """float [-1, 1] images and thresholded masks, after the shape checks."""
        images = tf.ensure_shape(images, [None, self.size, self.size, 3], name="images")
        masks = tf.ensure_shape(masks, [None, self.size, self.size, 1], name="masks")
        count = tf.shape(images)[0]
        checks = [tf.debugging.assert_equal(tf.shape(masks)[0], count,
                                            message="masks must have one mask per image"),
                  tf.debugging.assert_greater_equal(count, 1, message="no images")]
        with tf.control_dependencies(checks):
            return image_utils.to_float(images), tf.cast(masks >= 0.5, tf.float32)  # 1 = known

    def _export_info(self, format):  # noqa: A002 - the signature's input name
        check = tf.debugging.assert_equal(format, "json", message="format must be json")
        with tf.control_dependencies([check]):
            return {"info": tf.constant(self.info_text)}

    def _encode(self, images, masks):
        images, known = self._checked(images, masks)
        return {"latents": self.encoder(encoder_inputs(images, known), training=False)}

    def _generate(self, latents):
        latents = tf.ensure_shape(latents, [None, self.latent_dim], name="latents")
        return {"images": image_utils.to_uint8(self.generator(latents, training=False))}

    def _generate_from_seed(self, seed, count):
        with tf.control_dependencies([tf.debugging.assert_greater_equal(
                count, 1, message="count must be >= 1"), tf.debugging.assert_less_equal(
                count, MAX_COUNT, message=f"count must be <= {MAX_COUNT}")]):
            shape = tf.stack([count, self.latent_dim])
        latents = sample_latents(shape, tf.stack([seed, tf.constant(0, tf.int64)]),
                                         self.prior)
        return self._generate(latents)

    def _discriminate(self, images):
        images = tf.ensure_shape(images, [None, self.size, self.size, 3], name="images")
        logits = self.discriminator(image_utils.to_float(images), training=False)[:, 0]
        return {"probability": tf.sigmoid(logits)}

    def _complete(self, images, masks):
        return self._complete_with_options(images, masks, tf.constant(self.search.steps),
                                           tf.constant(0, tf.int64))

    def _complete_with_options(self, images, masks, steps, seed):
        images, known = self._checked(images, masks)
        fewest = 0 if self.search.method == "instant" else 1  # instant: no search at all
        checks = [
            tf.debugging.assert_greater_equal(steps, fewest,
                                              message=f"steps must be >= {fewest}"),
            tf.debugging.assert_less_equal(steps, MAX_STEPS,
                                           message=f"steps must be <= {MAX_STEPS}")]
        with tf.control_dependencies(checks):
            completed, generated, loss = search.complete_in_graph(
                self.generator, self.discriminator, images, known, self.search,
                steps=steps, seed=seed, encoder=self.encoder)
        return {"completed": image_utils.to_uint8(completed),
                "generated": image_utils.to_uint8(generated), "loss": loss}


def export(model: str = "", *, runs_dir: str = "runs", export_base: str = "export",
           model_name: str = "dcgan", version: int = 0, keep: int = 0,
           settings: SearchSettings = SearchSettings()) -> str:
    """Exports a model's networks as version ``version`` (0 = next integer) of ``model_name``.

    Args:
        model: a model spec (``specs.resolve``: "" = the packaged default, "latest" = the
            newest run in ``runs_dir``).
        export_base: the folder TF Serving watches (``--model_base_path``'s parent).
        model_name: sub-folder and serving name.
        version: a positive integer not yet used, or 0 for one more than the newest.
        keep: > 0 deletes all but the newest ``keep`` versions after the export.
        settings: completion settings baked into ``complete`` (``settings.search_settings``);
            recorded, as they run on the model, in ``assets/export_info.json``.

    Returns:
        The version folder.

    Raises:
        ValueError: naming the flag: a bad name, a taken or invalid version, a bad model, or a
            setting the served graph does not have.
    """
    _check_request(model_name, version, keep, settings)
    model_dir = os.path.join(export_base, model_name)
    files.check_writable_dir(model_dir, "export_base")
    loaded = loading.load(model, runs_dir)
    on_model = settings.for_model(loaded.config.latent_prior)
    if on_model.start == "encoder" and loaded.encoder is None:
        raise ValueError(f"--method={on_model.method} (--start=encoder) needs an encoder, and "
                         f"the model {loaded.source} has none: train one with train.py --encoder")
    os.makedirs(model_dir, exist_ok=True)
    _remove_partial_exports(model_dir)
    existing = versions(model_dir)
    version = version or (max(existing, default=0) + 1)
    if version in existing:
        raise ValueError(f"--version {version} already exists in {model_dir}; versions are "
                         f"never overwritten")
    final = os.path.join(model_dir, str(version))
    _save_version(loaded, on_model, final)
    if keep:
        for old in versions(model_dir)[:-keep]:
            shutil.rmtree(os.path.join(model_dir, str(old)))
    return final


def _check_request(model_name: str, version: int, keep: int, settings: SearchSettings) -> None:
    """Raises ValueError naming the flag of a bad model name, version or keep count, or of a
    setting the served graph does not have."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_name) or model_name.startswith("."):
        raise ValueError(f"--model_name must be letters, digits, '_', '-' or '.', "
                         f"got {model_name!r}")
    check_range("version", version, 0)
    check_range("keep", keep, 0)
    settings.validate()
    if settings.until_approved or settings.lowres_factor:
        raise ValueError("--until_approved and lowres masks are not part of the served graph")


def _save_version(loaded: Model, on_model: SearchSettings, final: str) -> None:
    """Saves the SavedModel of ``loaded`` completing with ``on_model`` to a hidden temporary
    folder beside ``final`` (the version folder) and renames it to ``final`` once complete."""
    temporary = tempfile.mkdtemp(prefix=f"{_TEMPORARY_PREFIX}{os.path.basename(final)}-",
                                 dir=os.path.dirname(final))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            info_path = os.path.join(scratch, INFO_FILE)
            with open(info_path, "w") as handle:
                json.dump({"model": loaded.source, "step": loaded.step,
                           "train_config": dataclasses.asdict(loaded.config),
                           "completion": dataclasses.asdict(on_model),
                           "signatures": list(SIGNATURES)
                           + (["encode"] if loaded.encoder is not None else [])},
                          handle, indent=2, default=str)
            module = ServingModule(loaded.generator, loaded.discriminator, loaded.config,
                                   on_model, info_path, loaded.encoder)
            tf.saved_model.save(module, temporary, signatures=module.signatures())
        os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def versions(model_dir: str) -> list[int]:
    """The complete versions in a model folder, oldest first."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(name) for name in os.listdir(model_dir)
                  if name.isdigit() and os.path.isdir(os.path.join(model_dir, name)))


def write_models_config(export_base: str, serving_base: str = "/models") -> str:
    """Writes ``<export_base>/models.config`` (TF Serving's --model_config_file) listing every
    model folder under ``export_base`` that has a version, with base paths as the server sees
    them (``serving_base``, e.g. where ``docker run -v`` mounts ``export_base``)."""
    names = sorted(name for name in os.listdir(export_base)
                   if versions(os.path.join(export_base, name)))
    entries = "".join(
        f'  config {{\n    name: "{name}"\n    base_path: "{serving_base.rstrip("/")}/{name}"\n'
        f'    model_platform: "tensorflow"\n  }}\n' for name in names)
    path = os.path.join(export_base, "models.config")
    text = f"model_config_list {{\n{entries}}}\n"
    files.atomic_write_text(path, text)
    return path


def _remove_partial_exports(model_dir: str) -> None:
    """Deletes leftovers of killed exports (never versions: their names are not integers)."""
    for name in os.listdir(model_dir):
        if name.startswith(_TEMPORARY_PREFIX):
            shutil.rmtree(os.path.join(model_dir, name), ignore_errors=True)
