"""A request waiting for its lane's job: the answer, unless the client disconnects first (then
the job is cancelled: a queued job is dropped and frees its place, a running search stops at
its next step), or the search's progress streamed as NDJSON lines, then the result."""

import asyncio
import base64
import json
import logging
import threading

import fastapi

from dcgan_tf.app.errors import ClientGone, internal_error

log = logging.getLogger(__name__)


async def _disconnected(request: fastapi.Request) -> None:
    """Returns once the client has disconnected (once the request body has been read, the
    server's next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def answer(request: fastapi.Request, job: asyncio.Future,
                 abandoned: threading.Event | None = None):
    """The result of a lane's ``job``, unless the client disconnects first: then the job is
    cancelled (``cancel``) and ``ClientGone`` raised."""
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({job, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        cancel(job, abandoned, request)
    if job.cancelled():
        raise ClientGone()
    return job.result()


def cancel(job: asyncio.Future, abandoned: threading.Event | None,
           request: fastapi.Request) -> None:
    """Cancels ``job`` unless it is done: a queued job is dropped (its lane slot is freed at
    once), and ``abandoned`` is set, so a running search stops at its next step."""
    if job.done():
        return
    log.info("%s: the client has gone; its job is cancelled", request.url.path)
    if abandoned is not None:
        abandoned.set()
    job.cancel()


async def progress_lines(request: fastapi.Request, job: asyncio.Future,
                         abandoned: threading.Event, updates: asyncio.Queue, method: str):
    """NDJSON: the search's progress as it comes, then the result (a ``jobs.Filled``'s fields)
    or the error. A client that disconnects cancels the job (``cancel``)."""
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
        cancel(job, abandoned, request)
    if job.cancelled():
        return
    try:
        filled = job.result()
    except fastapi.HTTPException as error:
        yield json.dumps({"error": error.detail, "status": error.status_code}) + "\n"
        return
    except Exception as error:  # the stream has started: the error goes in it
        request_id, message = internal_error(error, f"{request.method} {request.url.path}")
        yield json.dumps({"error": message, "status": 500, "request_id": request_id}) + "\n"
        return
    # The images in pieces: one JSON line, without copies of a large PNG's base64.
    yield json.dumps({"done": True, "method": method, "seconds": round(filled.seconds, 3),
                      **filled.shares(), "note": filled.note})[:-1]
    if filled.sources is not None:
        yield ', "sources": "'
        yield base64.b64encode(filled.sources)
        yield '"'
    yield ', "image": "'
    yield base64.b64encode(filled.image)
    yield '"}\n'
