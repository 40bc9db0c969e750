"""The web app's HTTP API and page (FastAPI handlers, ``router``): open a photo, paint a hole,
see it filled. Each handler reaches the app's engine, limits, photo cache, lanes and sample
photos through ``request.app.state`` (``server.create_app`` sets them).

Endpoints (multipart/form-data in, errors as JSON ``{"detail": message}``; the interactive
reference is at ``/docs``):
    GET  /                  the page (``static/``: no file from any other origin)
    GET  /api/info          model, image size, methods offered, upload limits, samples
    GET  /api/samples/{k}   PNG: a photo with one of the model's generated faces
    POST /api/faces         image -> the photo's size, its faces (box, landmarks) and the
                            detections rejected (box, confidence, reason)
    POST /api/preview       image, mask -> JPEG: the photo with the hole filled, the faces by
                            "instant" (quality 95: a PNG of a 1-megapixel photo takes 30 ms
                            to write)
    POST /api/complete      image, mask, method, seed[, progress, sources] -> PNG at the
                            photo's size, or with progress=true NDJSON: {"step", "steps"}
                            lines, then {"done", "image" (base64 PNG), "faces", "classical",
                            "note"[, "sources"], ...} or {"error", "status"}
Masks are PNGs at the photo's size: white (or opaque) = keep, black (or transparent) = hole.
Every hole pixel is filled: by a face's model where a face's crop covers it, else from its
surroundings (a classical fill); a photo without a face is filled from its surroundings. Both
fills answer with ``X-Hole-Sources`` (JSON: the share of the hole each face's model filled,
``faces``, and the classical fill, ``classical``) and, when no face's model filled any of the
hole, ``X-Fill-Note`` (why).

Bad input: over ``max_upload_bytes`` -> 413; not an image, truncated, over ``max_pixels``, a
mask of another size, an unknown method -> 400 naming the field; a full queue -> 503 with
Retry-After; anything unexpected -> 500 with a request id (the exception goes to the log under
that id, never to the client).

Faces, previews and completions each have a lane (a worker and a bounded queue), so face
detection does not hold up previews. A client that disconnects cancels its request: a queued
job is dropped and frees its place, a running search stops at its next step. Requests carry
their photo; a photo's decoding and face detection are cached by the hash of its bytes (each
done once even when two lanes ask at the same time), so the preview of a photo being painted
costs only the completion. No request names a file on the server.
"""

import asyncio
import json
import os
import threading
import time

import fastapi
import numpy as np
from fastapi import responses

from dcgan_tf.app import answers, jobs
from dcgan_tf.app.errors import guarded

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")
MAX_SEED = 2**31 - 1

router = fastapi.APIRouter()


@router.get("/", include_in_schema=False)
async def page():
    return responses.FileResponse(os.path.join(STATIC_DIR, "index.html"))


@router.get("/api/info")
async def info(request: fastapi.Request) -> dict:
    """What this server completes with."""
    state = request.app.state
    return {"model": state.engine.source, "image_size": state.engine.image_size,
            "methods": list(state.engine.methods),
            "max_upload_bytes": state.limits.max_upload_bytes,
            "max_pixels": state.limits.max_pixels, "samples": len(state.samples)}


@router.get("/api/samples/{index}", response_class=responses.Response,
            responses={200: {"content": {"image/png": {}}}})
async def sample(request: fastapi.Request, index: int):
    """A photo with one of the model's generated faces, to try without an upload."""
    samples = request.app.state.samples
    if not 0 <= index < len(samples):
        raise fastapi.HTTPException(404, f"no sample {index}: there are {len(samples)}")
    return responses.Response(samples[index], media_type="image/png")


@router.post("/api/faces")
async def faces(request: fastapi.Request, image: fastapi.UploadFile) -> dict:
    """The photo's size (upright, after its EXIF orientation), its faces: box [x, y,
    width, height] (the detector's: past the photo's edge for a face the edge cuts), detector
    confidence and 5 landmarks [x, y] (eyes, nose, mouth corners), in photo pixels; and the
    detections that are not used (``rejected``: box,
    confidence and the reason: a confidence under the threshold, or landmarks no face has;
    ``photo.detect``). Only ``faces`` are completed."""
    state = request.app.state
    job = state.faces_lane.submit(guarded, jobs.photo_faces, state.photos, image.file)
    (height, width), detections = await answers.answer(request, job)
    return {"width": width, "height": height, "faces": [
        {"box": [round(value, 1) for value in face.box],
         "confidence": round(face.confidence, 4),
         "landmarks": np.round(face.landmarks, 1).tolist()} for face in detections.faces],
        "rejected": [rejected.as_dict() for rejected in detections.rejected]}


@router.post("/api/preview", response_class=responses.Response,
             responses={200: {"content": {"image/jpeg": {}}}})
async def preview(request: fastapi.Request, image: fastapi.UploadFile,
                  mask: fastapi.UploadFile):
    """The photo with the hole filled at once, as a JPEG (the exact pixels come from
    /api/complete): the faces by G(E(masked face)) pasted in, no search; the rest of the hole
    from its surroundings, on the hole's box shrunk to ``jobs.PREVIEW_FILL_SIDE`` px. The
    ``X-Hole-Sources`` header says what filled the hole, ``X-Fill-Note`` why no face's model
    did (no face, or a hole that meets none)."""
    state = request.app.state
    if "instant" not in state.engine.methods:
        raise fastapi.HTTPException(400, f"{state.engine.source} offers no instant preview "
                                         f"(it needs the model's encoder)")
    start = time.perf_counter()
    job = state.preview_lane.submit(guarded, jobs.preview, state.photos, state.engine,
                                    (image.file, mask.file))
    filled = await answers.answer(request, job)
    total = time.perf_counter() - start
    headers = _fill_headers(filled)
    headers["Server-Timing"] = (f"fill;dur={1000 * filled.seconds:.1f}, "
                                f"total;dur={1000 * total:.1f}")
    return responses.Response(filled.image, media_type="image/jpeg", headers=headers)


@router.post("/api/complete", response_class=responses.Response,
             responses={200: {"content": {"image/png": {}, "application/x-ndjson": {}}}})
async def complete(request: fastapi.Request, image: fastapi.UploadFile,
                   mask: fastapi.UploadFile,
                   method: str = fastapi.Form(jobs.COMPLETE_METHOD),
                   seed: int = fastapi.Form(0), progress: bool = fastapi.Form(False),
                   sources: bool = fastapi.Form(False)):
    """The photo with the hole filled at the photo's size: the faces by a search
    (``method``: fast, default...), the rest from its surroundings. The ``X-Hole-Sources``
    header says what filled the hole, ``X-Fill-Note`` why no face's model did.
    ``progress=true`` streams the search's steps as NDJSON first, and the last line carries
    the same as fields (``faces``, ``classical``, ``note``), with ``sources=true`` also the
    source map (``sources``: a base64 grey PNG, 0 = kept, k + 1 = face k, 255 = from the
    surroundings)."""
    state = request.app.state
    try:
        state.engine.check_method(method)
    except ValueError as error:
        raise fastapi.HTTPException(400, f"method: {error}") from None
    if not 0 <= seed <= MAX_SEED:
        raise fastapi.HTTPException(400, f"seed must be in [0, {MAX_SEED}], got {seed}")
    if sources and not progress:
        raise fastapi.HTTPException(400, "sources: the source map comes in the NDJSON answer; "
                                         "ask for it with progress=true")
    uploads, abandoned = (image.file, mask.file), threading.Event()
    if not progress:
        job = state.complete_lane.submit(guarded, jobs.fill, state.photos, state.engine,
                                         uploads, method, seed,
                                         jobs.search_progress(abandoned), True)
        filled = await answers.answer(request, job, abandoned)
        headers = _fill_headers(filled)
        headers["Server-Timing"] = f"fill;dur={1000 * filled.seconds:.1f}"
        return responses.Response(filled.image, media_type="image/png", headers=headers)
    loop, updates = asyncio.get_running_loop(), asyncio.Queue()

    def report(step, steps):  # on the worker thread
        loop.call_soon_threadsafe(updates.put_nowait, {"step": step, "steps": steps})

    job = state.complete_lane.submit(guarded, jobs.fill, state.photos, state.engine, uploads,
                                     method, seed, jobs.search_progress(abandoned, report),
                                     True, sources)
    return responses.StreamingResponse(
        answers.progress_lines(request, job, abandoned, updates, method),
        media_type="application/x-ndjson")


def _fill_headers(filled: jobs.Filled) -> dict:
    """``X-Hole-Sources`` (JSON: {"faces": [share per face], "classical": share}) and, when
    there is a note, ``X-Fill-Note``."""
    headers = {"X-Hole-Sources": json.dumps(filled.shares(), separators=(",", ":"))}
    if filled.note:
        headers["X-Fill-Note"] = filled.note
    return headers
