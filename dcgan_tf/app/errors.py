"""The app's errors as HTTP answers: a request's own faults (400: a field, 413: too large, 422:
a photo the face path cannot take, as a hole over more faces than a source map tells apart), a
full queue (503 with Retry-After), a client that has gone (499, for the access log), and
anything unexpected (500 with a request id; the exception goes to the log under that id, never
to the client)."""

import logging
import uuid

import fastapi
from fastapi import responses
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from dcgan_tf.app.lanes import Busy
from dcgan_tf.app.limits import Limits
from dcgan_tf.data import decode
from dcgan_tf.photo import align

log = logging.getLogger(__name__)

CLIENT_GONE = 499  # the status logged for a request whose client disconnected (nginx's)


class BadRequest(ValueError):
    """A request's field is wrong: 400 with this message."""


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


def install(app: fastapi.FastAPI, limits: Limits) -> None:
    """Adds the middlewares and exception handlers that turn errors into these answers."""
    # Innermost: an unexpected exception becomes a 500 with a request id.
    app.add_middleware(_InternalErrors)
    # Starlette's limiter counts the bytes of every body as they arrive; the outer check
    # answers a body declared too large at once, with the same JSON message (Starlette's own
    # answer to it is a plain "Content Too Large").
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=limits.max_upload_bytes)
    app.add_middleware(_DeclaredSizeLimit, limit=limits.max_upload_bytes,
                       message=too_large(limits))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(ClientGone, _client_gone)


def too_large(limits: Limits) -> str:
    """The message of a 413."""
    return (f"the request is larger than the {limits.max_upload_bytes:,} bytes allowed "
            f"(photo and mask together)")


def guarded(function, *args):
    """``function(*args)`` with the errors a request can cause turned into HTTP errors."""
    try:
        return function(*args)
    except (decode.UnreadableImage, BadRequest) as error:
        raise fastapi.HTTPException(400, str(error)) from None
    except align.AlignmentError as error:
        raise fastapi.HTTPException(422, str(error)) from None


async def _http_error(request: fastapi.Request, error: StarletteHTTPException):
    detail = too_large(request.app.state.limits) if error.status_code == 413 else error.detail
    return responses.JSONResponse({"detail": detail}, error.status_code,
                                  headers=getattr(error, "headers", None))


async def _busy(request: fastapi.Request, error: Busy):
    return responses.JSONResponse({"detail": str(error)}, 503,
                                  headers={"Retry-After": str(error.retry_after)})


async def _client_gone(request: fastapi.Request, error: ClientGone):
    return responses.Response(status_code=CLIENT_GONE)  # nobody reads it: it is for the log


def internal_error(error: Exception, what: str) -> tuple[str, str]:
    """Logs ``error`` (with its traceback) under a new request id; (id, the client's message)."""
    request_id = uuid.uuid4().hex[:12]
    log.error("%s failed (request id %s)", what, request_id, exc_info=error)
    return request_id, f"internal error (request id {request_id}): the server's log has it"


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
            request_id, message = internal_error(error, f"{scope['method']} {scope['path']}")
            response = responses.JSONResponse({"detail": message, "request_id": request_id},
                                              500, headers={"X-Request-Id": request_id})
            await response(scope, receive, send)
