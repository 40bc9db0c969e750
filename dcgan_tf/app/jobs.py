"""The work of a request, done on a lane's worker thread: read the uploads, decode and search
the photo (through the cache), complete it with the engine's completer and encode the answer;
and the warm-up of a sample photo's preview and completion."""

import dataclasses
import io
import logging
import threading
import time

import numpy as np
from PIL import Image

from dcgan_tf.app.engine import SAMPLE_PLACEMENTS, SAMPLE_SIZE, Engine
from dcgan_tf.app.errors import BadRequest
from dcgan_tf.app.photos import PhotoCache
from dcgan_tf.inpainting import masks as mask_lib
from dcgan_tf.photo import completion as photo_lib, detect

log = logging.getLogger(__name__)

COMPLETE_METHOD = "fast"  # the page's Complete button, and /api/complete without a method
# The longest side at which a preview fills the hole's box from its surroundings (the
# completion: at the photo's resolution); bench/fill_speed.py measures both.
PREVIEW_FILL_SIDE = 512


class Abandoned(Exception):
    """Raised by a search's progress callback once its client has gone: it ends the search
    and frees the worker."""


def search_progress(abandoned: threading.Event, report=None):
    """A search's ``progress(step, steps)`` (``Engine.completer``): raises ``Abandoned``
    once ``abandoned`` is set, which ends the search, else passes the step to ``report``."""
    def progress(step, steps):
        if abandoned.is_set():
            log.info("completion stopped at step %d of %d: its client has gone", step, steps)
            raise Abandoned()
        if report is not None:
            report(step, steps)
    return progress


def _read(upload) -> bytes:
    """All the bytes of an uploaded file (a file object: the upload waits on disk, not in
    memory, while its job is queued)."""
    upload.seek(0)
    return upload.read()


def photo_faces(photos: PhotoCache, image) -> tuple[tuple[int, int], detect.Detections]:
    """The (height, width) of an uploaded photo and its face detections (on a worker
    thread)."""
    entry = photos.photo(_read(image))
    return entry.pixels.shape[:2], photos.detections(entry)


def _photo_and_mask(photos: PhotoCache, uploads: tuple
                    ) -> tuple[np.ndarray, np.ndarray, detect.Detections]:
    """The photo uint8 [H, W, 3], its mask bool [H, W] (True = keep) and its face detections,
    the mask checked before the faces are looked for.

    Raises:
        decode.UnreadableImage, BadRequest: naming the field at fault.
    """
    entry = photos.photo(_read(uploads[0]))
    try:
        mask = mask_lib.read_known(_read(uploads[1]), name="mask",
                                   max_pixels=photos.limits.max_pixels)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    height, width = entry.pixels.shape[:2]
    if mask.shape != (height, width):
        raise BadRequest(f"mask: {mask.shape[1]}x{mask.shape[0]} pixels, the image is "
                         f"{width}x{height}; draw the mask at the photo's size")
    return entry.pixels, mask, photos.detections(entry)


@dataclasses.dataclass
class Filled:
    """A filled photo as a request's answer: its ``image`` (PNG, or the preview's JPEG), the
    ``seconds`` it took, the share of the hole in [0, 1] each face's model filled (``faces``)
    and the classical fill filled (``classical``), the ``note`` ("" or why no face's model
    filled any of it), and, when asked for, the source map as a grey PNG (``sources``: 0 =
    kept, k + 1 = face k's model, 255 = the classical fill)."""

    image: bytes
    seconds: float
    faces: list
    classical: float
    note: str
    sources: bytes | None = None

    def shares(self) -> dict:
        """{"faces": [share per face], "classical": share}, rounded to 4 places: the
        ``X-Hole-Sources`` header and the NDJSON fields."""
        return {"faces": [round(share, 4) for share in self.faces],
                "classical": round(self.classical, 4)}


def fill(photos: PhotoCache, engine: Engine, uploads: tuple, method: str, seed: int,
         progress, seamless: bool, sources: bool = False) -> Filled:
    """Completes one uploaded photo (on a worker thread): its PNG (``seamless``), or a
    preview (``seamless`` False: the JPEG, faces pasted without the Poisson solve and the rest
    filled at ``PREVIEW_FILL_SIDE``). ``uploads``: the photo's and the mask's files;
    ``sources``: add the source map."""
    start = time.perf_counter()
    pixels, mask, detections = _photo_and_mask(photos, uploads)
    completer = engine.completer(method, seed, progress)
    result = photo_lib.complete_photo(completer, pixels, mask=mask, detections=detections,
                                      seamless=seamless,
                                      fill_side=None if seamless else PREVIEW_FILL_SIDE)
    encoded = png(result.completed) if seamless else jpeg(result.completed)
    return Filled(encoded, time.perf_counter() - start, result.face_shares,
                  result.classical_share, result.note,
                  png(result.sources) if sources else None)


def preview(photos: PhotoCache, engine: Engine, uploads: tuple) -> Filled:
    """``fill`` with "instant", as a preview."""
    return fill(photos, engine, uploads, "instant", 0, None, False)


def warm_up(photos: PhotoCache, engine: Engine, sample: bytes) -> None:
    """Previews ``sample`` (the PNG of the first sample photo) with a hole over its face, when
    the engine has the instant preview, and completes it with ``COMPLETE_METHOD`` when the
    engine offers it: the first user's preview and completion then do not pay for the face
    detector's, the networks', the search's, the Poisson solver's and the classical fill's
    first calls."""
    x, y, _, side = SAMPLE_PLACEMENTS[0]
    half = int(side / 8)  # a square a quarter of the crop's side, around its centre
    mask = np.full(SAMPLE_SIZE, 255, np.uint8)
    mask[int(y) - half:int(y) + half, int(x) - half:int(x) + half] = 0
    uploads = (io.BytesIO(sample), io.BytesIO(png(mask)))
    if "instant" in engine.methods:
        _warmed_up("Preview", preview(photos, engine, uploads))
    if COMPLETE_METHOD in engine.methods:
        _warmed_up(f"Completion ({COMPLETE_METHOD})",
                   fill(photos, engine, uploads, COMPLETE_METHOD, 0, None, True))


def _warmed_up(what: str, filled: Filled) -> None:
    """Logs a warm-up's time, and a warning when it completed no face."""
    if filled.note:
        log.warning("The warm-up of a sample photo completed nothing: %s", filled.note)
    log.info("%s warmed up in %.1f s", what, filled.seconds)


def png(pixels: np.ndarray) -> bytes:
    """PNG bytes of uint8 [H, W, 3] (or [H, W], grey)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(pixels: np.ndarray) -> bytes:
    """JPEG bytes (quality 95, no chroma subsampling) of uint8 [H, W, 3]: 10x quicker to
    write than a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95, subsampling=0)
    return buffer.getvalue()
