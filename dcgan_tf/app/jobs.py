"""The work of a request, done on a lane's worker thread: read the uploads, decode and search
the photo (through the cache), complete it with the engine's completer and encode the answer;
and the warm-up of a sample photo's preview and completion."""

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
from dcgan_tf.photo import align, completion as photo_lib, detect

log = logging.getLogger(__name__)

COMPLETE_METHOD = "fast"  # the page's Complete button, and /api/complete without a method


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


def fill(photos: PhotoCache, engine: Engine, uploads: tuple, method: str, seed: int,
         progress, seamless: bool) -> tuple[bytes, float]:
    """Completes one uploaded photo (on a worker thread): its PNG (``seamless``) or preview
    JPEG, and the seconds it took. ``uploads``: the photo's and the mask's files."""
    start = time.perf_counter()
    pixels, mask, detections = _photo_and_mask(photos, uploads)
    completer = engine.completer(method, seed, progress)
    result = photo_lib.complete_photo(completer, pixels, mask=mask, detections=detections,
                                      seamless=seamless)
    encoded = png(result.completed) if seamless else jpeg(result.completed)
    return encoded, time.perf_counter() - start


def preview(photos: PhotoCache, engine: Engine, uploads: tuple
            ) -> tuple[bytes, float, str | None]:
    """``fill`` with "instant" and no Poisson solve at the photo's resolution, and the photo
    itself with a note when no face can be completed."""
    try:
        return fill(photos, engine, uploads, "instant", 0, None, False) + (None,)
    except align.AlignmentError as error:
        return jpeg(photos.photo(_read(uploads[0])).pixels), 0.0, str(error)


def warm_up(photos: PhotoCache, engine: Engine, sample: bytes) -> None:
    """Previews ``sample`` (the PNG of the first sample photo) with a hole over its face, when
    the engine has the instant preview, and completes it with ``COMPLETE_METHOD`` when the
    engine offers it: the first user's preview and completion then do not pay for the face
    detector's, the networks', the search's and the Poisson solver's first calls."""
    x, y, _, side = SAMPLE_PLACEMENTS[0]
    half = int(side / 8)  # a square a quarter of the crop's side, around its centre
    mask = np.full(SAMPLE_SIZE, 255, np.uint8)
    mask[int(y) - half:int(y) + half, int(x) - half:int(x) + half] = 0
    uploads = (io.BytesIO(sample), io.BytesIO(png(mask)))
    if "instant" in engine.methods:
        _, seconds, note = preview(photos, engine, uploads)
        if note:
            log.warning("The warm-up preview of a sample photo completed nothing: %s", note)
        else:
            log.info("Preview warmed up in %.1f s", seconds)
    if COMPLETE_METHOD in engine.methods:
        try:
            _, seconds = fill(photos, engine, uploads, COMPLETE_METHOD, 0, None, True)
        except align.AlignmentError as error:
            log.warning("The warm-up completion of a sample photo completed nothing: %s", error)
        else:
            log.info("Completion (%s) warmed up in %.1f s", COMPLETE_METHOD, seconds)


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
