"""`POST /oauth/token`: the OAuth 2.0 token endpoint, client-credentials grant only (RFC 6749 §4.4).

The body is a form (`application/x-www-form-urlencoded`, so the route is exempt from the JSON
content-type rule): `grant_type=client_credentials`, with the client authenticated either by
`client_id`/`client_secret` in the body or by HTTP Basic (§2.3.1: id and secret form-urlencoded,
then base64) — not both. Answers are §5.1 (`access_token`, `token_type`, `expires_in`, no-store) and
§5.2 (`{"error", "error_description"}`). Too many failures answer 429 with `Retry-After`.

Cross-site: a foreign browser `Origin` is refused by the security middleware before this runs; a
form posted from a page without one carries no credentials the attacker does not already have, and
the answer is not readable cross-origin (no CORS headers), so the route needs no CSRF token.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import client_address
from runyard.api.http import JSONResponse, call, read_body
from runyard.api.routing import Endpoint, services
from runyard.domain.errors import MlflowError, TooManyFailures
from runyard.services.identity.client_credentials import InvalidClient

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024
GRANT_TYPE = "client_credentials"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_CHALLENGE = 'Basic realm="runyard", charset="UTF-8"'


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}


def _error_response(e: OAuthError) -> Response:
    body = {"error": e.error, "error_description": e.description}
    return JSONResponse(body, status_code=e.status, headers={**_NO_STORE, **e.headers})


async def _form(request: Request) -> dict[str, str]:
    media = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if media != FORM_MEDIA_TYPE:
        raise OAuthError("invalid_request", f"The request body must be {FORM_MEDIA_TYPE}.")
    try:
        body = (await read_body(request, MAX_FORM_BYTES, "Token request")).decode("ascii")
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body), errors="strict", max_num_fields=32)
    except MlflowError as e:
        raise OAuthError("invalid_request", e.message) from None
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "The request body is not a valid form.") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise OAuthError("invalid_request", f"Parameter '{key}' must not be repeated.")
        form[key] = value
    return form


def _basic_client(request: Request) -> tuple[str, str] | None:
    """(client id, secret) from `Authorization: Basic` (None: the header is absent)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    bad = OAuthError("invalid_client", "Malformed client credentials.", 401, {"WWW-Authenticate": _CHALLENGE})
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


async def token(request: Request) -> Response:
    try:
        form = await _form(request)
        basic = _basic_client(request)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "Missing required parameter 'grant_type'.")
        if grant_type != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", f"Only grant_type={GRANT_TYPE} is supported.")
        in_body = "client_id" in form or "client_secret" in form
        if basic is not None and in_body:
            raise OAuthError("invalid_request", "Authenticate the client once: HTTP Basic or the body, not both.")
        if basic is None and not (form.get("client_id") and "client_secret" in form):
            raise OAuthError("invalid_request", "Missing client credentials: client_id and client_secret.")
        client_id, secret = basic if basic is not None else (form["client_id"], form["client_secret"])
        identity = services(request).identity
        try:
            issued = await call(identity.client_credentials.issue, client_id, secret, client_address(request))
        except InvalidClient:
            challenge = {"WWW-Authenticate": _CHALLENGE} if basic is not None else {}
            raise OAuthError("invalid_client", "Client authentication failed.", 401, challenge) from None
        except TooManyFailures as e:
            raise OAuthError("temporarily_unavailable", e.message, 429, e.headers) from None
    except OAuthError as e:
        return _error_response(e)
    body = {"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in}
    return JSONResponse(body, headers=_NO_STORE)


ENDPOINTS = [Endpoint("POST", "/oauth/token", token, "public", raw_body=True)]
