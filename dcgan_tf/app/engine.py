"""What the web app completes with: a model loaded in this process (``LocalEngine``) or an export
(``ServedEngine``): a SavedModel folder run in this process, or behind TF Serving's REST API
(``app.py --server``).

Both give ``photo.completion.CropCompleter``s for a method, so a photo takes one road
(``photo.completion.complete_photo``) whichever engine fills its faces, and both make the sample
photos the page offers (the model's own generated faces placed in a synthetic scene).
"""

import abc
import functools
import logging

import numpy as np

from dcgan_tf import images as image_utils
from dcgan_tf.inpainting import blend
from dcgan_tf.inpainting.settings import search_settings
from dcgan_tf.models import sampling, trained
from dcgan_tf.photo import completion as photo_lib, detect, scenes

log = logging.getLogger(__name__)

SAMPLE_SEED = 4_000_043  # latents never used in training, FID or the docs' figures
SAMPLE_SIZE = (320, 320)  # (height, width) of a sample photo
# (centre x, centre y, angle in degrees, side in photo pixels of the face's crop) of each
# sample's face, whatever the model's size (3.4, 3.0, 3.6 and 3.2 times a 64 px crop).
SAMPLE_PLACEMENTS = ((160, 165, -8.0, 217.6), (165, 160, 6.0, 192.0), (155, 160, 0.0, 230.4),
                     (160, 160, 12.0, 204.8))
SAMPLE_CANDIDATES = 8  # generated faces tried, in order, for the len(SAMPLE_PLACEMENTS) samples


class Engine(abc.ABC):
    """``source`` (what it runs), ``image_size``, ``methods`` (the completion methods it offers,
    "instant" first when it has one: the live preview) and ``completer(method, seed, progress)``
    -> ``photo_lib.CropCompleter``, where ``progress(step, steps)`` is called after each step of the
    search when the engine can report it; an exception it raises ends the search (the app's
    way to stop the search of a client that has gone)."""

    source: str
    image_size: int
    methods: tuple

    @abc.abstractmethod
    def completer(self, method: str, seed: int = 0, progress=None) -> photo_lib.CropCompleter:
        """Completes aligned crops with ``method`` (one of ``methods``) and ``seed``."""

    @abc.abstractmethod
    def generated_faces(self, count: int) -> np.ndarray:
        """uint8 [count, S, S, 3] of the model's own faces (seed ``SAMPLE_SEED``)."""

    def check_method(self, method: str) -> None:
        """Raises ValueError naming ``method`` when this engine does not offer it."""
        if method not in self.methods:
            raise ValueError(f"method {method!r} is not offered by {self.source}; it offers "
                             f"{', '.join(self.methods)}")

    @functools.cache  # once per engine: the detector's look at each candidate takes ~0.1 s
    def samples(self) -> list[np.ndarray]:
        """Photos uint8 [H, W, 3], one per ``SAMPLE_PLACEMENTS``, each with one generated face to
        try the app with: the model's first faces (of ``SAMPLE_CANDIDATES``, in order) in which
        the app finds a face to use, so that no sample shows a face the app would refuse (a young
        model draws some that the detector does not take). When fewer are found, faces the
        detector did not take fill the remaining places, in order."""
        photos, refused = [], []
        for face in self.generated_faces(SAMPLE_CANDIDATES):
            if len(photos) == len(SAMPLE_PLACEMENTS):
                break
            photo = _sample_photo(face, SAMPLE_PLACEMENTS[len(photos)])
            if detect.detect_faces(photo).faces:
                photos.append(photo)
            else:
                refused.append(face)
        if refused:
            log.info("%d of the model's first generated faces are not offered as samples: the "
                     "app finds no face in them", len(refused))
        for face in refused[:len(SAMPLE_PLACEMENTS) - len(photos)]:
            photos.append(_sample_photo(face, SAMPLE_PLACEMENTS[len(photos)]))
        return photos


def _sample_photo(face: np.ndarray, placement: tuple) -> np.ndarray:
    """uint8 [SAMPLE_SIZE..., 3]: ``face`` (uint8 [S, S, 3]) placed in a synthetic scene at
    ``placement`` (one of ``SAMPLE_PLACEMENTS``)."""
    x, y, angle, side = placement
    return scenes.scene(face[np.newaxis], [(x, y, angle, side / len(face))], SAMPLE_SIZE)


class LocalEngine(Engine):
    """A run, packaged model or checkpoint (``loading.load``) in this process: every method but
    bamos ("instant", "fast" and "tune" need the model's encoder)."""

    def __init__(self, model: trained.Model):
        photo_lib.face_template(model)  # refuses a model without one, before serving anything
        self.model, self.source = model, model.source
        self.image_size = model.config.image_size
        with_encoder = ("instant", "fast", "tune") if model.encoder is not None else ()
        self.methods = with_encoder + ("default",)

    def completer(self, method: str, seed: int = 0, progress=None) -> photo_lib.CropCompleter:
        self.check_method(method)
        settings = search_settings(method).for_model(self.model.config.latent_prior)
        report = None if progress is None else (
            lambda step, loss: progress(step, settings.reported_steps()))
        return photo_lib.search_completer(self.model, settings, seed=seed, progress=report)

    def generated_faces(self, count: int) -> np.ndarray:
        return sampling.sample_images(self.model.generator, count, SAMPLE_SEED,
                                      self.model.config.latent_prior)


class ServedEngine(Engine):
    """An export (``clients.RestCompleter`` or ``clients.SavedModelCompleter``): the method
    baked in at export (its settings, its step count) and, when the export has an encoder,
    "instant" from its ``encode`` and ``serving_default`` signatures, blended here. Progress
    is not reported, nor can a completion be stopped: a served completion is one call."""

    def __init__(self, completer, source: str):
        self.served = completer
        self.source, self.image_size = source, self.served.image_size
        self.template = photo_lib.template_of(
            self.served.info.get("train_config", {}).get("face_template", []), source)
        baked = self.served.settings.method
        has_encoder = "encode" in self.served.signatures
        instant = ("instant",) if has_encoder and baked != "instant" else ()
        self.methods = instant + (baked,)

    def completer(self, method: str, seed: int = 0, progress=None) -> photo_lib.CropCompleter:
        self.check_method(method)
        if method == "instant" and self.served.settings.method != "instant":
            return photo_lib.CropCompleter(self.template, self.image_size, self._instant)

        def complete_crops(crops, masks):
            completed = self.served(crops, masks, self.served.settings.steps, seed)["completed"]
            return image_utils.to_float(completed)

        return photo_lib.CropCompleter(self.template, self.image_size, complete_crops)

    def generated_faces(self, count: int) -> np.ndarray:
        images = self.served.predict("generate_from_seed",
                                     {"seed": SAMPLE_SEED, "count": count}, "images")
        return np.asarray(images, np.uint8)

    def _instant(self, crops: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """G(E(masked crops)) from the server, Poisson-blended here as ``--method=instant``."""
        inputs = {"images": crops.tolist(), "masks": masks.tolist()}
        latents = self.served.predict("encode", inputs, "latents")
        generated = self.served.predict("serving_default", {"latents": latents}, "images")
        return blend.poisson(image_utils.to_float(crops),
                             image_utils.to_float(np.asarray(generated, np.uint8)),
                             masks.astype(np.float32)).numpy()
