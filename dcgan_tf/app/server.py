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

Bad input: over ``max_upload_bytes`` -> 413; not an image, truncated, over ``max_pixels``, a
mask of another size, an unknown method -> 400 naming the field; no face, or a hole that meets
no face -> 422 (a preview answers with the photo and a note instead: painting starts anywhere);
a full queue -> 503 with Retry-After; anything unexpected -> 500 with a request id (the
exception goes to the log under that id, never to the client).

Faces, previews and completions each have a lane (a worker and a bounded queue), so face
detection does not hold up previews. A client that disconnects cancels its request: a queued
job is dropped and frees its place, a running search stops at its next step. Requests carry
their photo; a photo's decoding and face detection are cached by the hash of its bytes (each
done once even when two lanes ask at the same time), so the preview of a photo being painted
costs only the completion. No request names a file on the server.
"""

import asyncio
import base64
import collections
import hashlib
import io
import json
import logging
import os
import threading
import time
import uuid

import fastapi
import numpy as np
from fastapi import responses, staticfiles
from PIL import Image
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from dcgan_tf.app.engine import Engine, SAMPLE_PLACEMENTS, SAMPLE_SIZE
from dcgan_tf.app.lanes import Busy, Lane
from dcgan_tf.app.limits import Limits
from dcgan_tf.data import decode
from dcgan_tf.inpainting import masks as mask_lib
from dcgan_tf.photo import align, completion as photo_lib, detect

log = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
MAX_SEED = 2**31 - 1
CLIENT_GONE = 499  # the status logged for a request whose client disconnected (nginx's)


class _Photo:
    """A cached photo: ``pixels`` uint8 [H, W, 3] (upright) and its ``faces`` (align.Face),
    each computed once, under ``lock``: a second request for the same photo waits for the
    first's result instead of computing it again."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pixels: np.ndarray | None = None
        self.faces: list | None = None


class _PhotoCache:
    """Decoded photos and their detected faces, by the SHA-256 of the uploaded bytes; the least
    recently used go first once there are more than ``limits.photo_cache_size`` or their pixels
    pass ``limits.photo_cache_bytes``. Safe from several threads."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._entries = collections.OrderedDict()
        self._bytes = 0  # pixels of the decoded entries
        self._lock = threading.Lock()

    def photo(self, data: bytes) -> _Photo:
        """The cached photo of ``data``, its pixels decoded once.

        Raises:
            decode.UnreadableImage: naming the ``image`` field.
        """
        key = hashlib.sha256(data).digest()
        with self._lock:
            entry = self._entries.setdefault(key, _Photo())
            self._entries.move_to_end(key)
        if entry.pixels is not None:  # no wait for a detection running on it
            return entry
        with entry.lock:
            if entry.pixels is None:
                try:
                    pixels = decode.read_rgb(data, "image", self.limits.max_pixels)
                except decode.UnreadableImage:
                    with self._lock:
                        if self._entries.get(key) is entry:
                            del self._entries[key]
                    raise
                with self._lock:
                    entry.pixels = pixels
                    if self._entries.get(key) is entry:  # not dropped by a failed decode
                        self._bytes += pixels.nbytes
                        self._evict(keep=key)
        return entry

    def faces(self, entry: _Photo) -> list:
        """The faces of a cached photo, detected once."""
        if entry.faces is None:
            with entry.lock:
                if entry.faces is None:
                    entry.faces = detect.detect_faces(entry.pixels)
        return entry.faces

    @property
    def nbytes(self) -> int:
        """Bytes of the cached pixels."""
        return self._bytes

    def _evict(self, keep: bytes) -> None:
        """Drops the least recently used decoded photos, never ``keep``, until the cache is
        within its limits (hold ``_lock``)."""
        for key in list(self._entries):
            if (len(self._entries) <= self.limits.photo_cache_size
                    and self._bytes <= self.limits.photo_cache_bytes):
                return
            entry = self._entries[key]
            if key != keep and entry.pixels is not None:
                self._bytes -= entry.pixels.nbytes
                del self._entries[key]


def create_app(engine: Engine, limits: Limits = Limits(), warm_up: bool = False
               ) -> fastapi.FastAPI:
    """The app completing photos with ``engine``; ``limits`` bound its uploads, photos, cache
    and queues. ``warm_up``: preview a sample photo before returning, so the first user's
    preview does not wait for the face detector's and the encoder's first calls (about
    1.5 s)."""
    app = fastapi.FastAPI(title="dcgan_tf completion",
                          description="Paint a hole in a face photo and have a DCGAN fill it.")
    too_large = (f"the request is larger than the {limits.max_upload_bytes:,} bytes allowed "
                 f"(photo and mask together)")
    # Innermost: an unexpected exception becomes a 500 with a request id.
    app.add_middleware(_InternalErrors)
    # Starlette's limiter counts the bytes of every body as they arrive; the outer check
    # answers a body declared too large at once, with the same JSON message (Starlette's own
    # answer to it is a plain "Content Too Large").
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=limits.max_upload_bytes)
    app.add_middleware(_DeclaredSizeLimit, limit=limits.max_upload_bytes, message=too_large)
    photos = _PhotoCache(limits)
    faces_lane = Lane("faces", limits.faces_queue)
    preview_lane = Lane("preview", limits.preview_queue)
    complete_lane = Lane("complete", limits.complete_queue)
    samples = [_png(sample) for sample in engine.samples()]
    if warm_up and "instant" in engine.methods:
        _warm_up(photos, engine, samples[0])
    app.state.photos = photos
    app.state.faces_lane, app.state.preview_lane = faces_lane, preview_lane
    app.state.complete_lane = complete_lane

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, error):
        detail = too_large if error.status_code == 413 else error.detail
        return responses.JSONResponse({"detail": detail}, error.status_code,
                                      headers=getattr(error, "headers", None))

    @app.exception_handler(Busy)
    async def busy(request, error):
        return responses.JSONResponse({"detail": str(error)}, 503,
                                      headers={"Retry-After": str(error.retry_after)})

    @app.exception_handler(_ClientGone)
    async def client_gone(request, error):  # nobody reads it: it is for the access log
        return responses.Response(status_code=CLIENT_GONE)

    @app.get("/", include_in_schema=False)
    async def page():
        return responses.FileResponse(os.path.join(STATIC_DIR, "index.html"))

    app.mount("/static", staticfiles.StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/info")
    async def info() -> dict:
        """What this server completes with."""
        return {"model": engine.source, "image_size": engine.image_size,
                "methods": list(engine.methods), "max_upload_bytes": limits.max_upload_bytes,
                "max_pixels": limits.max_pixels, "samples": len(samples)}

    @app.get("/api/samples/{index}", response_class=responses.Response,
             responses={200: {"content": {"image/png": {}}}})
    async def sample(index: int):
        """A photo with one of the model's generated faces, to try without an upload."""
        if not 0 <= index < len(samples):
            raise fastapi.HTTPException(404, f"no sample {index}: there are {len(samples)}")
        return responses.Response(samples[index], media_type="image/png")

    @app.post("/api/faces")
    async def faces(request: fastapi.Request, image: fastapi.UploadFile) -> dict:
        """The photo's size (upright, after its EXIF orientation) and its faces: box [x, y,
        width, height], detector confidence and 5 landmarks [x, y] (eyes, nose, mouth
        corners), in photo pixels."""
        job = faces_lane.submit(_guarded, _faces, photos, image.file)
        (height, width), found = await _answer(request, job)
        return {"width": width, "height": height, "faces": [
            {"box": [round(value, 1) for value in face.box],
             "confidence": round(face.confidence, 4),
             "landmarks": np.round(face.landmarks, 1).tolist()} for face in found]}

    @app.post("/api/preview", response_class=responses.Response,
              responses={200: {"content": {"image/jpeg": {}}}})
    async def preview(request: fastapi.Request, image: fastapi.UploadFile,
                      mask: fastapi.UploadFile):
        """The photo with the hole filled at once: G(E(masked face)) pasted in, no search, as
        a JPEG (the exact pixels come from /api/complete). A hole that meets no face (a stroke
        that has not reached one yet) gives the photo as it is, with the reason in the
        ``X-Preview-Note`` header, not an error."""
        if "instant" not in engine.methods:
            raise fastapi.HTTPException(400, f"{engine.source} offers no instant preview "
                                             f"(it needs the model's encoder)")
        start = time.perf_counter()
        job = preview_lane.submit(_guarded, _preview, photos, engine, (image.file, mask.file))
        jpeg, seconds, note = await _answer(request, job)
        total = time.perf_counter() - start
        headers = {"Server-Timing": f"fill;dur={1000 * seconds:.1f}, total;dur={1000 * total:.1f}"}
        if note:
            headers["X-Preview-Note"] = note
        return responses.Response(jpeg, media_type="image/jpeg", headers=headers)

    @app.post("/api/complete", response_class=responses.Response,
              responses={200: {"content": {"image/png": {}, "application/x-ndjson": {}}}})
    async def complete(request: fastapi.Request, image: fastapi.UploadFile,
                       mask: fastapi.UploadFile, method: str = fastapi.Form("fast"),
                       seed: int = fastapi.Form(0), progress: bool = fastapi.Form(False)):
        """The photo with the hole filled by a search (``method``: fast, default...) at the
        photo's size; ``progress=true`` streams the search's steps as NDJSON first."""
        try:
            engine.check_method(method)
        except ValueError as error:
            raise fastapi.HTTPException(400, f"method: {error}") from None
        if not 0 <= seed <= MAX_SEED:
            raise fastapi.HTTPException(400, f"seed must be in [0, {MAX_SEED}], got {seed}")
        uploads, abandoned = (image.file, mask.file), threading.Event()
        if not progress:
            job = complete_lane.submit(_guarded, _fill, photos, engine, uploads, method, seed,
                                       _search_progress(abandoned), True)
            png, seconds = await _answer(request, job, abandoned)
            return responses.Response(png, media_type="image/png",
                                      headers={"Server-Timing": f"fill;dur={1000 * seconds:.1f}"})
        loop, updates = asyncio.get_running_loop(), asyncio.Queue()

        def report(step, steps):  # on the worker thread
            loop.call_soon_threadsafe(updates.put_nowait, {"step": step, "steps": steps})

        job = complete_lane.submit(_guarded, _fill, photos, engine, uploads, method, seed,
                                   _search_progress(abandoned, report), True)
        return responses.StreamingResponse(
            _progress_lines(request, job, abandoned, updates, method),
            media_type="application/x-ndjson")

    for lane in (faces_lane, preview_lane, complete_lane):
        app.router.add_event_handler("shutdown", lane.shutdown)
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


class _InternalErrors:
    """ASGI middleware: an exception no handler answered becomes a 500 whose JSON body holds a
    request id and a short message; the exception is logged with that id, and never sent."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as error:
            if started:  # too late for a 500: the server closes the connection
                raise
            request_id, message = _internal_error(error, f"{scope['method']} {scope['path']}")
            response = responses.JSONResponse({"detail": message, "request_id": request_id},
                                              500, headers={"X-Request-Id": request_id})
            await response(scope, receive, send)


def _internal_error(error: Exception, what: str) -> tuple[str, str]:
    """Logs ``error`` (with its traceback) under a new request id; (id, the client's message)."""
    request_id = uuid.uuid4().hex[:12]
    log.error("%s failed (request id %s)", what, request_id, exc_info=error)
    return request_id, f"internal error (request id {request_id}): the server's log has it"


class _ClientGone(Exception):
    """The client disconnected before its answer was ready."""


class _Abandoned(Exception):
    """Raised by a search's progress callback once its client has gone: it ends the search
    and frees the worker."""


async def _disconnected(request: fastapi.Request) -> None:
    """Returns once the client has disconnected (once the request body has been read, the
    server's next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _answer(request: fastapi.Request, job: asyncio.Future,
                  abandoned: threading.Event | None = None):
    """The result of a lane's ``job``, unless the client disconnects first: then the job is
    cancelled (``_cancel``) and ``_ClientGone`` raised."""
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({job, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        _cancel(job, abandoned, request)
    if job.cancelled():
        raise _ClientGone()
    return job.result()


def _cancel(job: asyncio.Future, abandoned: threading.Event | None,
            request: fastapi.Request) -> None:
    """Cancels ``job`` unless it is done: a queued job is dropped (its lane slot is freed at
    once), and ``abandoned`` is set, so a running search stops at its next step."""
    if job.done():
        return
    log.info("%s: the client has gone; its job is cancelled", request.url.path)
    if abandoned is not None:
        abandoned.set()
    job.cancel()


def _search_progress(abandoned: threading.Event, report=None):
    """A search's ``progress(step, steps)`` (``Engine.completer``): raises ``_Abandoned``
    once ``abandoned`` is set, which ends the search, else passes the step to ``report``."""
    def progress(step, steps):
        if abandoned.is_set():
            log.info("completion stopped at step %d of %d: its client has gone", step, steps)
            raise _Abandoned()
        if report is not None:
            report(step, steps)
    return progress


def _read(upload) -> bytes:
    """All the bytes of an uploaded file (a file object: the upload waits on disk, not in
    memory, while its job is queued)."""
    upload.seek(0)
    return upload.read()


def _faces(photos: _PhotoCache, image) -> tuple[tuple[int, int], list]:
    """The (height, width) of an uploaded photo and its faces (on a worker thread)."""
    entry = photos.photo(_read(image))
    return entry.pixels.shape[:2], photos.faces(entry)


def _photo_and_mask(photos: _PhotoCache, uploads: tuple
                    ) -> tuple[np.ndarray, np.ndarray, list]:
    """The photo uint8 [H, W, 3], its mask bool [H, W] (True = keep) and its faces, the mask
    checked before the faces are looked for.

    Raises:
        decode.UnreadableImage, _BadRequest: naming the field at fault.
    """
    entry = photos.photo(_read(uploads[0]))
    try:
        mask = mask_lib.read_known(_read(uploads[1]), name="mask",
                                   max_pixels=photos.limits.max_pixels)
    except ValueError as error:
        raise _BadRequest(str(error)) from None
    height, width = entry.pixels.shape[:2]
    if mask.shape != (height, width):
        raise _BadRequest(f"mask: {mask.shape[1]}x{mask.shape[0]} pixels, the image is "
                          f"{width}x{height}; draw the mask at the photo's size")
    return entry.pixels, mask, photos.faces(entry)


def _fill(photos: _PhotoCache, engine: Engine, uploads: tuple, method: str, seed: int,
          progress, seamless: bool) -> tuple[bytes, float]:
    """Completes one uploaded photo (on a worker thread): its PNG (``seamless``) or preview
    JPEG, and the seconds it took. ``uploads``: the photo's and the mask's files."""
    start = time.perf_counter()
    pixels, mask, faces = _photo_and_mask(photos, uploads)
    completer = engine.completer(method, seed, progress)
    result = photo_lib.complete_photo(completer, pixels, mask=mask, faces=faces,
                                      seamless=seamless)
    encoded = _png(result.completed) if seamless else _jpeg(result.completed)
    return encoded, time.perf_counter() - start


def _preview(photos: _PhotoCache, engine: Engine, uploads: tuple
             ) -> tuple[bytes, float, str | None]:
    """``_fill`` with "instant" and no Poisson solve at the photo's resolution, and the photo
    itself with a note when no face can be completed."""
    try:
        return _fill(photos, engine, uploads, "instant", 0, None, False) + (None,)
    except align.AlignmentError as error:
        return _jpeg(photos.photo(_read(uploads[0])).pixels), 0.0, str(error)


def _warm_up(photos: _PhotoCache, engine: Engine, sample: bytes) -> None:
    """Previews ``sample`` (the PNG of the first sample photo) with a hole over its face."""
    x, y, _, scale = SAMPLE_PLACEMENTS[0]
    half = int(8 * scale)  # a square of 16 crop pixels around the crop's centre
    mask = np.full(SAMPLE_SIZE, 255, np.uint8)
    mask[int(y) - half:int(y) + half, int(x) - half:int(x) + half] = 0
    _, seconds, note = _preview(photos, engine, (io.BytesIO(sample), io.BytesIO(_png(mask))))
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
    except (decode.UnreadableImage, _BadRequest) as error:
        raise fastapi.HTTPException(400, str(error)) from None
    except align.AlignmentError as error:
        raise fastapi.HTTPException(422, str(error)) from None


async def _progress_lines(request: fastapi.Request, job: asyncio.Future,
                          abandoned: threading.Event, updates: asyncio.Queue, method: str):
    """NDJSON: the search's progress as it comes, then the result or the error. A client
    that disconnects cancels the job (``_cancel``)."""
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        while not gone.done():
            update = asyncio.ensure_future(updates.get())
            await asyncio.wait({update, job, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not update.done():
                update.cancel()
                if job.done():
                    break
            else:
                yield json.dumps(update.result()) + "\n"
    finally:
        gone.cancel()
        _cancel(job, abandoned, request)
    if job.cancelled():
        return
    try:
        png, seconds = job.result()
    except fastapi.HTTPException as error:
        yield json.dumps({"error": error.detail, "status": error.status_code}) + "\n"
        return
    except Exception as error:  # the stream has started: the error goes in it
        request_id, message = _internal_error(error, f"{request.method} {request.url.path}")
        yield json.dumps({"error": message, "status": 500, "request_id": request_id}) + "\n"
        return
    # The image in pieces: one JSON line, without copies of a large PNG's base64.
    yield json.dumps({"done": True, "method": method, "seconds": round(seconds, 3)})[:-1]
    yield ', "image": "'
    yield base64.b64encode(png)
    yield '"}\n'


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
