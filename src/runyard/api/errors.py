"""Every failure leaves as `{"error_code", "message"}` with MLflow's status; nothing leaks as a bare 500.

A database failure that means "not processed, try again" (`store.transient`) answers 429 with
`Retry-After` (`TryAgain`): the one place such conditions are mapped, whichever store call met them.

Unexpected exceptions are answered by `AnsweredErrorsMiddleware`, not by Starlette's outermost error
middleware: that one re-raises after answering, and uvicorn then closes the connection, so a client
reusing it for its next request (keep-alive) is reset. Answered here, the connection stays usable.
"""

from __future__ import annotations

import errno
import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.api.http import JSONResponse, error_response
from runyard.domain.errors import (
    BAD_REQUEST,
    ENDPOINT_NOT_FOUND,
    INTERNAL_ERROR,
    MlflowError,
    TryAgain,
    error_body,
    not_found,
)
from runyard.store.integrity import is_foreign_key_violation
from runyard.store.transient import transient_reason

log = logging.getLogger("runyard.api")


# A script's request (`X-Requested-With: XMLHttpRequest`, as Runyard's web UI sends on every call)
# gets its 401 without the `WWW-Authenticate` challenge: a browser answers a Basic challenge to a
# script with its own password dialog, where the UI sends the user to the login page instead.
SCRIPT_REQUEST_HEADER = "x-requested-with"
SCRIPT_REQUEST_VALUE = "xmlhttprequest"


async def mlflow_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MlflowError)
    response = error_response(exc)
    script = request.headers.get(SCRIPT_REQUEST_HEADER, "").lower() == SCRIPT_REQUEST_VALUE
    if script and "www-authenticate" in response.headers:
        del response.headers["www-authenticate"]
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse(error_body(ENDPOINT_NOT_FOUND, f"No API endpoint {request.method} {request.url.path}"), 404)
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}"
        return JSONResponse(error_body(ENDPOINT_NOT_FOUND, message), 405)
    return JSONResponse(error_body(BAD_REQUEST, str(exc.detail)), status_code=exc.status_code)


async def client_gone(request: Request, _exc: Exception) -> Response:
    """The client went away (or was cut off by a timeout) mid-request: nobody reads an answer."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return Response(status_code=400)


def try_again(exc: BaseException) -> TryAgain | None:
    """The 429 answer for a failure that left nothing done and may be retried as it is, else None."""
    reason = transient_reason(exc)
    if reason is None:
        return None
    return TryAgain(f"The server could not process the request now ({reason}); nothing was written: try again.")


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """Anything not raised as an MLflow error: 429 if it is a transient store failure (see `try_again`;
    the store's exceptions come from two drivers and SQLAlchemy, wrapped or not, so they are told apart
    by `transient_reason` rather than by handler type), else an internal error."""
    retry = try_again(exc)
    if retry is not None:
        log.warning("%s %s: %s", request.method, request.url.path, retry.message)
        return error_response(retry)
    if is_foreign_key_violation(exc):
        # A write naming a row that is gone: deleted (with its workspace, by another process) between
        # the call's checks and its insert. The services map the cases they foresee; this is the backstop.
        log.info("%s %s: a foreign key refused the write (deleted meanwhile)", request.method, request.url.path)
        return error_response(not_found("The resource this request writes to does not exist (it was deleted)."))
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        # A backstop: the artifact backends refuse such paths up front (see `LocalArtifactBackend`).
        return error_response(MlflowError("The path is longer than the file system allows (ENAMETOOLONG)"))
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body(INTERNAL_ERROR, f"Internal error: {type(exc).__name__}"), status_code=500)


class AnsweredErrorsMiddleware:
    """Answers what a request raised with `unexpected_error` (a 429, a 404 for a write into something
    deleted meanwhile, else a logged 500), keeping the connection open; once the response has started
    the exception goes on (the answer is broken: the server must close the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            if started:
                raise
            response = await unexpected_error(Request(scope, receive), exc)
            await response(scope, receive, send)


HANDLERS = {
    MlflowError: mlflow_error,
    HTTPException: http_error,
    ClientDisconnect: client_gone,
    Exception: unexpected_error,
}
