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
    """The photo with the hole filled at once: G(E(masked face)) pasted in, no search, as
    a JPEG (the exact pixels come from /api/complete). A hole that meets no face (a stroke
    that has not reached one yet) gives the photo as it is, with the reason in the
    ``X-Preview-Note`` header, not an error."""
    state = request.app.state
    if "instant" not in state.engine.methods:
        raise fastapi.HTTPException(400, f"{state.engine.source} offers no instant preview "
                                         f"(it needs the model's encoder)")
    start = time.perf_counter()
    job = state.preview_lane.submit(guarded, jobs.preview, state.photos, state.engine,
                                    (image.file, mask.file))
    jpeg, seconds, note = await answers.answer(request, job)
    total = time.perf_counter() - start
    headers = {"Server-Timing": f"fill;dur={1000 * seconds:.1f}, total;dur={1000 * total:.1f}"}
    if note:
        headers["X-Preview-Note"] = note
    return responses.Response(jpeg, media_type="image/jpeg", headers=headers)


@router.post("/api/complete", response_class=responses.Response,
             responses={200: {"content": {"image/png": {}, "application/x-ndjson": {}}}})
async def complete(request: fastapi.Request, image: fastapi.UploadFile,
                   mask: fastapi.UploadFile,
                   method: str = fastapi.Form(jobs.COMPLETE_METHOD),
                   seed: int = fastapi.Form(0), progress: bool = fastapi.Form(False)):
    """The photo with the hole filled by a search (``method``: fast, default...) at the
    photo's size; ``progress=true`` streams the search's steps as NDJSON first."""
    state = request.app.state
    try:
        state.engine.check_method(method)
    except ValueError as error:
        raise fastapi.HTTPException(400, f"method: {error}") from None
    if not 0 <= seed <= MAX_SEED:
        raise fastapi.HTTPException(400, f"seed must be in [0, {MAX_SEED}], got {seed}")
    uploads, abandoned = (image.file, mask.file), threading.Event()
    if not progress:
        job = state.complete_lane.submit(guarded, jobs.fill, state.photos, state.engine,
                                         uploads, method, seed,
                                         jobs.search_progress(abandoned), True)
        png, seconds = await answers.answer(request, job, abandoned)
        return responses.Response(png, media_type="image/png",
                                  headers={"Server-Timing": f"fill;dur={1000 * seconds:.1f}"})
    loop, updates = asyncio.get_running_loop(), asyncio.Queue()

    def report(step, steps):  # on the worker thread
        loop.call_soon_threadsafe(updates.put_nowait, {"step": step, "steps": steps})

    job = state.complete_lane.submit(guarded, jobs.fill, state.photos, state.engine, uploads,
                                     method, seed, jobs.search_progress(abandoned, report),
                                     True)
    return responses.StreamingResponse(
        answers.progress_lines(request, job, abandoned, updates, method),
        media_type="application/x-ndjson")
