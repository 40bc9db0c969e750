"""The web app's HTTP API and page (FastAPI): open a photo, paint a hole, see it filled.

Endpoints (multipart/form-data in, errors as JSON ``{"detail": message}``; the interactive
reference is at ``/docs``):
    GET  /                  the page (``static/``: no file from any other origin)
    GET  /api/info          model, image size, methods offered, upload limits, samples
    GET  /api/samples/{k}   PNG: a photo with one of the model's generated faces
    POST /api/faces         image -> the photo's size and its faces (box, landmarks)
    POST /api/preview       image, mask -> JPEG: the photo with the hole filled by "instant"
                            (quality 95: a PNG of a 1-megapixel photo takes 30 ms to write);
                            a hole that meets no face: the photo, with X-Preview-Note
    POST /api/complete      image, mask, method, seed[, progress] -> PNG at the photo's size,
                            or with progress=true NDJSON: {"step", "steps"} lines, then
                            {"done", "image" (base64 PNG), ...} or {"error", "status"}
Masks are PNGs at the photo's size: white (or opaque) = keep, black (or transparent) = hole.

Bad input: over ``max_upload_bytes`` -> 413; not an image, truncated, a decompression bomb, a
mask of another size, an unknown method -> 400 naming the field; no face, or a hole that meets
no face -> 422 (a preview answers with the photo and a note instead: painting starts anywhere);
a full queue -> 503 with Retry-After. Requests carry their photo; a photo's
decoding and face detection are cached by the hash of its bytes, so the preview of a photo
being painted costs only the completion. No request names a file on the server.
"""

import asyncio
import base64
import collections
import dataclasses
import hashlib
import io
import json
import logging
import os
import threading
import time

import fastapi
import numpy as np
from fastapi import responses, staticfiles
from PIL import Image
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from dcgan_tf import align, image_reader, masks as mask_lib, photo as photo_lib
from dcgan_tf.app.engine import SAMPLE_PLACEMENTS, SAMPLE_SIZE, Engine
from dcgan_tf.app.lanes import Busy, Lane

log = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
MAX_UPLOAD_BYTES = 50_000_000  # a request's body: a photo and its mask
PHOTO_CACHE_SIZE = 16  # decoded photos and their faces, by the hash of their bytes
MAX_SEED = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Limits:
    """How much the app takes: request body bytes, and jobs waiting or running per lane."""

    max_upload_bytes: int = MAX_UPLOAD_BYTES
    preview_queue: int = 4
    complete_queue: int = 8


@dataclasses.dataclass
class _Photo:
    pixels: np.ndarray  # uint8 [H, W, 3], upright
    faces: list | None = None  # align.Face, once detected


class _PhotoCache:
    """Decoded photos and their detected faces, by the SHA-256 of the uploaded bytes (an LRU of
    ``size``; safe from several threads)."""

    def __init__(self, size: int = PHOTO_CACHE_SIZE):
        self._entries, self._size = collections.OrderedDict(), size
        self._lock = threading.Lock()

    def get(self, data: bytes) -> _Photo:
        """The photo of ``data``, decoded once.

        Raises:
            image_reader.UnreadableImage: naming the ``image`` field.
        """
        key = hashlib.sha256(data).digest()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        entry = _Photo(image_reader.read_rgb(data, "image"))
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry

    def faces(self, data: bytes) -> tuple[np.ndarray, list]:
        """The photo of ``data`` and its faces, each detected once."""
        entry = self.get(data)
        if entry.faces is None:
            entry.faces = align.detect_faces(entry.pixels)
        return entry.pixels, entry.faces


def create_app(engine: Engine, limits: Limits = Limits(), warm_up: bool = False
               ) -> fastapi.FastAPI:
    """The app completing photos with ``engine``; ``limits`` bound its uploads and queues.
    ``warm_up``: preview a sample photo before returning, so the first user's preview does not
    wait for the face detector's and the encoder's first calls (about 1.5 s)."""
    app = fastapi.FastAPI(title="dcgan_tf completion",
                          description="Paint a hole in a face photo and have a DCGAN fill it.")
    too_large = (f"the request is larger than the {limits.max_upload_bytes:,} bytes allowed "
                 f"(photo and mask together)")
    # Starlette's limiter counts the bytes of every body as they arrive; the outer check
    # answers a body declared too large at once, with the same JSON message (Starlette's own
    # answer to it is a plain "Content Too Large").
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=limits.max_upload_bytes)
    app.add_middleware(_DeclaredSizeLimit, limit=limits.max_upload_bytes, message=too_large)
    photos = _PhotoCache()
    preview_lane = Lane("preview", limits.preview_queue)  # also face detection: both are quick
    complete_lane = Lane("complete", limits.complete_queue)
    samples = [_png(sample) for sample in engine.samples()]
    if warm_up and "instant" in engine.methods:
        _warm_up(photos, engine, samples[0])
    app.state.preview_lane, app.state.complete_lane = preview_lane, complete_lane

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, error):
        detail = too_large if error.status_code == 413 else error.detail
        return responses.JSONResponse({"detail": detail}, error.status_code,
                                      headers=getattr(error, "headers", None))

    @app.exception_handler(Busy)
    async def busy(request, error):
        return responses.JSONResponse({"detail": str(error)}, 503,
                                      headers={"Retry-After": str(error.retry_after)})

    @app.get("/", include_in_schema=False)
    async def page():
        return responses.FileResponse(os.path.join(STATIC_DIR, "index.html"))

    app.mount("/static", staticfiles.StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/info")
    async def info() -> dict:
        """What this server completes with."""
        return {"model": engine.source, "image_size": engine.image_size,
                "methods": list(engine.methods), "max_upload_bytes": limits.max_upload_bytes,
                "max_pixels": image_reader.MAX_PIXELS, "samples": len(samples)}

    @app.get("/api/samples/{index}", response_class=responses.Response,
             responses={200: {"content": {"image/png": {}}}})
    async def sample(index: int):
        """A photo with one of the model's generated faces, to try without an upload."""
        if not 0 <= index < len(samples):
            raise fastapi.HTTPException(404, f"no sample {index}: there are {len(samples)}")
        return responses.Response(samples[index], media_type="image/png")

    @app.post("/api/faces")
    async def faces(image: fastapi.UploadFile) -> dict:
        """The photo's size (upright, after its EXIF orientation) and its faces: box [x, y,
        width, height], detector confidence and 5 landmarks [x, y] (eyes, nose, mouth
        corners), in photo pixels."""
        data = await image.read()
        pixels, found = await preview_lane.run(_guarded, photos.faces, data)
        height, width = pixels.shape[:2]
        return {"width": width, "height": height, "faces": [
            {"box": [round(value, 1) for value in face.box],
             "confidence": round(face.confidence, 4),
             "landmarks": np.round(face.landmarks, 1).tolist()} for face in found]}

    @app.post("/api/preview", response_class=responses.Response,
              responses={200: {"content": {"image/jpeg": {}}}})
    async def preview(image: fastapi.UploadFile, mask: fastapi.UploadFile):
        """The photo with the hole filled at once: G(E(masked face)) pasted in, no search, as
        a JPEG (the exact pixels come from /api/complete). A hole that meets no face (a stroke
        that has not reached one yet) gives the photo as it is, with the reason in the
        ``X-Preview-Note`` header, not an error."""
        if "instant" not in engine.methods:
            raise fastapi.HTTPException(400, f"{engine.source} offers no instant preview "
                                             f"(it needs the model's encoder)")
        start = time.perf_counter()
        request = (await image.read(), await mask.read())
        jpeg, seconds, note = await preview_lane.run(_guarded, _preview, photos, engine,
                                                     request)
        total = time.perf_counter() - start
        headers = {"Server-Timing": f"fill;dur={1000 * seconds:.1f}, total;dur={1000 * total:.1f}"}
        if note:
            headers["X-Preview-Note"] = note
        return responses.Response(jpeg, media_type="image/jpeg", headers=headers)

    @app.post("/api/complete", response_class=responses.Response,
              responses={200: {"content": {"image/png": {}, "application/x-ndjson": {}}}})
    async def complete(image: fastapi.UploadFile, mask: fastapi.UploadFile,
                       method: str = fastapi.Form("fast"), seed: int = fastapi.Form(0),
                       progress: bool = fastapi.Form(False)):
        """The photo with the hole filled by a search (``method``: fast, default...) at the
        photo's size; ``progress=true`` streams the search's steps as NDJSON first."""
        try:
            engine.check_method(method)
        except ValueError as error:
            raise fastapi.HTTPException(400, f"method: {error}") from None
        if not 0 <= seed <= MAX_SEED:
            raise fastapi.HTTPException(400, f"seed must be in [0, {MAX_SEED}], got {seed}")
        request = (await image.read(), await mask.read())
        if not progress:
            png, seconds = await complete_lane.run(_guarded, _fill, photos, engine, request,
                                                   method, seed, None, True)
            return responses.Response(png, media_type="image/png",
                                      headers={"Server-Timing": f"fill;dur={1000 * seconds:.1f}"})
        loop, updates = asyncio.get_running_loop(), asyncio.Queue()

        def report(step, steps):  # on the worker thread
            loop.call_soon_threadsafe(updates.put_nowait, {"step": step, "steps": steps})

        job = complete_lane.submit(_guarded, _fill, photos, engine, request, method, seed,
                                   report, True)
        return responses.StreamingResponse(_progress_lines(job, updates, method),
                                           media_type="application/x-ndjson")

    app.router.add_event_handler("shutdown", preview_lane.shutdown)
    app.router.add_event_handler("shutdown", complete_lane.shutdown)
    return app


class _DeclaredSizeLimit:
    """ASGI middleware: a request whose Content-Length is over ``limit`` gets a 413 with
    ``message`` before its body is read."""

    def __init__(self, app, limit: int, message: str):
        self.app, self.limit, self.message = app, limit, message

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = Headers(scope=scope).get("content-length", "")
            if length.isdigit() and int(length) > self.limit:
                response = responses.JSONResponse({"detail": self.message}, 413)
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


def _fill(photos: _PhotoCache, engine: Engine, request: tuple[bytes, bytes], method: str,
          seed: int, report, seamless: bool) -> tuple[bytes, float]:
    """Completes one uploaded photo (on a worker thread): its PNG (``seamless``) or preview
    JPEG, and the seconds it took."""
    start = time.perf_counter()
    image_data, mask_data = request
    pixels, faces = photos.faces(image_data)
    try:
        mask = mask_lib.read_mask(mask_data, name="mask")
    except ValueError as error:
        raise _BadRequest(str(error)) from None
    if mask.shape != pixels.shape[:2]:
        raise _BadRequest(f"mask: {mask.shape[1]}x{mask.shape[0]} pixels, the image is "
                          f"{pixels.shape[1]}x{pixels.shape[0]}; draw the mask at the photo's "
                          f"size")
    completer = engine.completer(method, seed, report)
    result = photo_lib.complete_photo(completer, pixels, mask=mask, faces=faces,
                                      seamless=seamless)
    encoded = _png(result.completed) if seamless else _jpeg(result.completed)
    return encoded, time.perf_counter() - start


def _preview(photos: _PhotoCache, engine: Engine, request: tuple[bytes, bytes]
             ) -> tuple[bytes, float, str | None]:
    """``_fill`` with "instant" and no Poisson solve at the photo's resolution, and the photo
    itself with a note when no face can be completed."""
    try:
        return _fill(photos, engine, request, "instant", 0, None, False) + (None,)
    except align.AlignmentError as error:
        return _jpeg(photos.get(request[0]).pixels), 0.0, str(error)


def _warm_up(photos: _PhotoCache, engine: Engine, sample: bytes) -> None:
    """Previews ``sample`` (the PNG of the first sample photo) with a hole over its face."""
    x, y, _, scale = SAMPLE_PLACEMENTS[0]
    half = int(8 * scale)  # a square of 16 crop pixels around the crop's centre
    mask = np.full(SAMPLE_SIZE, 255, np.uint8)
    mask[int(y) - half:int(y) + half, int(x) - half:int(x) + half] = 0
    _, seconds, note = _preview(photos, engine, (sample, _png(mask)))
    if note:
        log.warning("The warm-up preview of a sample photo completed nothing: %s", note)
    else:
        log.info("Preview warmed up in %.1f s", seconds)


class _BadRequest(ValueError):
    """A request's field is wrong: 400 with this message."""


def _guarded(function, *args):
    """``function(*args)`` with the errors a request can cause turned into HTTP errors."""
    try:
        return function(*args)
    except (image_reader.UnreadableImage, _BadRequest) as error:
        raise fastapi.HTTPException(400, str(error)) from None
    except align.AlignmentError as error:
        raise fastapi.HTTPException(422, str(error)) from None


async def _progress_lines(job: asyncio.Future, updates: asyncio.Queue, method: str):
    """NDJSON: the search's progress as it comes, then the result or the error."""
    while True:
        update = asyncio.ensure_future(updates.get())
        await asyncio.wait({update, job}, return_when=asyncio.FIRST_COMPLETED)
        if not update.done():
            update.cancel()
            break
        yield json.dumps(update.result()) + "\n"
    try:
        png, seconds = await job
    except fastapi.HTTPException as error:
        yield json.dumps({"error": error.detail, "status": error.status_code}) + "\n"
        return
    except Exception as error:  # the stream has started: the error goes in it
        log.exception("completion failed")
        yield json.dumps({"error": f"completion failed: {error}", "status": 500}) + "\n"
        return
    yield json.dumps({"done": True, "method": method, "seconds": round(seconds, 3),
                      "image": base64.b64encode(png).decode()}) + "\n"


def _png(pixels: np.ndarray) -> bytes:
    """PNG bytes of uint8 [H, W, 3] (or [H, W], grey)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(pixels: np.ndarray) -> bytes:
    """JPEG bytes (quality 95, no chroma subsampling) of uint8 [H, W, 3]: 10x quicker to
    write than a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95, subsampling=0)
    return buffer.getvalue()
