"""`POST /oauth/token` (RFC 6749 §3.2: authorization code with PKCE, refresh token, device code,
client credentials), `POST /oauth/device_authorization` (RFC 8628 §3.1) and `POST /oauth/revoke`
(RFC 7009). Bodies are forms (so these routes are exempt from the JSON content-type rule); answers
are §5.1 tokens (no-store) and §5.2 errors.

Clients authenticate once — HTTP Basic (id and secret form-urlencoded, §2.3.1) or the body, not
both. Failed client authentications count toward the failure limiter (per address and per client
id, checked before any secret is hashed) and are audited; too many answer 429 with `Retry-After`."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import client_address
from runyard.api.http import call
from runyard.api.oauth.forms import (
    BASIC_CHALLENGE,
    OAuthError,
    basic_client,
    error_response,
    form,
    oauth_request,
    render,
)
from runyard.api.routing import Endpoint, services
from runyard.domain.errors import TooManyFailures
from runyard.domain.oauth import CLI_CLIENT_ID, DEVICE_CODE_GRANT
from runyard.services.identity.oauth.server import OAuthAnswer, OAuthHttpRequest

AUTH_OFF = "Authentication is off on this server (--auth off): requests need no token."


def _client_id(params: dict[str, str], basic: tuple[str, str] | None) -> str | None:
    if basic is not None:
        return basic[0]
    return params.get("client_id")


GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT})


async def _answer(
    request: Request, step: Callable[[OAuthHttpRequest], OAuthAnswer], *, token_endpoint: bool = False
) -> Response:
    identity = services(request).identity
    try:
        if not identity.enabled:
            raise OAuthError("invalid_request", AUTH_OFF)
        params = await form(request)
        if token_endpoint:
            grant_type = params.get("grant_type")
            if not grant_type:
                raise OAuthError("invalid_request", "Missing required parameter 'grant_type'.")
            if grant_type not in GRANT_TYPES:
                raise OAuthError("unsupported_grant_type", f"grant_type '{grant_type[:80]}' is not supported.")
        basic = basic_client(request)
        if basic is not None and ("client_id" in params or "client_secret" in params):
            raise OAuthError("invalid_request", "Authenticate the client once: HTTP Basic or the body, not both.")
        client_id = _client_id(params, basic)
        if not client_id:
            raise OAuthError("invalid_request", "Missing client authentication: client_id (and client_secret).")
        secret_required = params.get("grant_type") == "client_credentials"
        if secret_required and basic is None and "client_secret" not in params:
            raise OAuthError("invalid_request", "Missing client credentials: client_id and client_secret.")
        source = client_address(request)
        account = f"client:{client_id}" if client_id != CLI_CLIENT_ID else None
        try:
            identity.limiter.check(source, account)
        except TooManyFailures as e:
            raise OAuthError("temporarily_unavailable", e.message, 429, e.headers) from None
        answer = await call(step, oauth_request(request, params))
    except OAuthError as e:
        return error_response(e)
    if answer.body.get("error") == "invalid_client":
        identity.limiter.record(source, account)
        await call(identity.oauth.client_failure, client_id, source)
        headers = [("WWW-Authenticate", BASIC_CHALLENGE)] if basic is not None else []
        answer = OAuthAnswer(401, answer.body, [*answer.headers, *headers])
    return render(answer)


async def token(request: Request) -> Response:
    return await _answer(request, services(request).identity.oauth.token, token_endpoint=True)


async def device_authorization(request: Request) -> Response:
    return await _answer(request, services(request).identity.oauth.device_authorization)


async def revoke(request: Request) -> Response:
    return await _answer(request, services(request).identity.oauth.revoke)


ENDPOINTS = [
    Endpoint("POST", "/oauth/token", token, "public", raw_body=True),
    Endpoint("POST", "/oauth/device_authorization", device_authorization, "public", raw_body=True),
    Endpoint("POST", "/oauth/revoke", revoke, "public", raw_body=True),
]
