"""What every OAuth endpoint shares: the strict form parser (RFC 6749 §3.2: form-encoded, each
parameter at most once), HTTP Basic client credentials, the request handed to the authorization
server, and answers in RFC 6749 §5.2's error shape.

Cross-site: a foreign browser `Origin` is refused by the security middleware before any of this
runs; a form posted from a page without one carries no credentials the attacker does not already
have, and the answer is not readable cross-origin (no CORS headers)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, quote, unquote_plus

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from runyard.api.authentication import client_address
from runyard.api.http import JSONResponse, read_body
from runyard.domain.errors import MlflowError
from runyard.services.identity.oauth.server import OAuthAnswer, OAuthHttpRequest

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 32
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BASIC_CHALLENGE = 'Basic realm="runyard", charset="UTF-8"'


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}


def error_response(e: OAuthError) -> Response:
    body = {"error": e.error, "error_description": e.description}
    return JSONResponse(body, status_code=e.status, headers={**NO_STORE, **e.headers})


def _pairs(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), errors="strict", max_num_fields=MAX_FIELDS
        )
    except ValueError:
        raise OAuthError("invalid_request", "The request parameters are not a valid form.") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError("invalid_request", f"Parameter '{key}' must not be repeated.")
        if "\x00" in key or "\x00" in value:
            raise OAuthError("invalid_request", "Parameters must not contain NUL characters.")
        form[key] = value
    return form


async def form(request: Request) -> dict[str, str]:
    media = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if media != FORM_MEDIA_TYPE:
        raise OAuthError("invalid_request", f"The request body must be {FORM_MEDIA_TYPE}.")
    try:
        body = (await read_body(request, MAX_FORM_BYTES, "Request")).decode("ascii")
    except MlflowError as e:
        raise OAuthError("invalid_request", e.message) from None
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "The request body is not a valid form.") from None
    return _pairs(body)


def query(request: Request) -> dict[str, str]:
    return _pairs(request.url.query)


def basic_client(request: Request) -> tuple[str, str] | None:
    """(client id, secret) from `Authorization: Basic` (None: the header is absent)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    bad = OAuthError("invalid_client", "Malformed client credentials.", 401, {"WWW-Authenticate": BASIC_CHALLENGE})
    if scheme.lower() != "basic":
        raise bad
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise bad from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise bad
    return unquote_plus(client_id), unquote_plus(secret)


def issuer(request: Request) -> str:
    """This server's base URL as the client addressed it (the `Host` is checked by the security
    middleware), without any `/w/<workspace>` prefix: the OAuth issuer and the endpoints' base."""
    return f"{request.url.scheme}://{request.url.netloc}"


def oauth_request(
    request: Request, params: dict[str, str], *, auth_time: int | None = None, basic: bool = True
) -> OAuthHttpRequest:
    """The request for the authorization server. Basic credentials reach it form-decoded (RFC 6749
    §2.3.1), as Authlib expects them."""
    headers: dict[str, str] = {}
    credentials = basic_client(request) if basic else None
    if credentials is not None:
        raw = f"{quote(credentials[0], safe='')}:{quote(credentials[1], safe='')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    is_post = request.method == "POST"
    return OAuthHttpRequest(
        method=request.method,
        url=str(request.url),
        headers=headers,
        query={} if is_post else params,
        form=params if is_post else {},
        issuer=issuer(request),
        source=client_address(request),
        auth_time=auth_time,
    )


def render(answer: OAuthAnswer) -> Response:
    """An authorization server answer as HTTP: a redirect, or JSON (no-store)."""
    location = answer.location
    if location is not None:
        return RedirectResponse(location, status_code=302, headers=NO_STORE)
    headers = {k: v for k, v in answer.headers if k.lower() not in ("content-type", "location")}
    return JSONResponse(answer.body, status_code=answer.status, headers={**NO_STORE, **headers})
