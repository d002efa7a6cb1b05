"""A signed-in principal's own personal access tokens: `/api/2.0/runyard/tokens` (GET lists them,
POST creates one and shows it once) and `/api/2.0/runyard/tokens/{id}` (DELETE revokes one of the
caller's own; another principal's token answers as missing). Lists never carry a token."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import PRINCIPAL_SCOPE_KEY, client_address
from runyard.api.http import call, ok, parse_json_body
from runyard.api.mlflow.messages import Message
from runyard.api.routing import Endpoint, services
from runyard.domain.errors import BAD_REQUEST, MlflowError, invalid
from runyard.domain.identity import AccessToken, Principal
from runyard.services.context import now_ms
from runyard.services.identity.audit import Actor

MAX_LIFETIME_DAYS = 3650
AUTH_OFF_MESSAGE = (
    "Authentication is off on this server (--auth off): there are no accounts and no personal access tokens. "
    "Start it with --auth on to use them."
)


class CreateToken(Message):
    name: str
    expires_in_days: float | None = None
    expires_at: int | None = None


def signed_in(request: Request) -> Principal:
    """The caller (the route's rule has authenticated them), or a clear refusal with auth off."""
    principal: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if principal is None or not services(request).identity.enabled:
        raise MlflowError(AUTH_OFF_MESSAGE, BAD_REQUEST)
    return principal


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.name, client_address(request))


def expiry(body: CreateToken, now: int) -> int | None:
    """The expiry in ms since the epoch from `expires_in_days` or `expires_at` (at most one)."""
    if body.expires_in_days is not None and body.expires_at is not None:
        raise invalid("Give either expires_in_days or expires_at, not both.")
    if body.expires_in_days is not None:
        days = body.expires_in_days
        if not 0 < days <= MAX_LIFETIME_DAYS:
            raise invalid(f"expires_in_days must be above 0 and at most {MAX_LIFETIME_DAYS}, got {days}.")
        return now + int(days * 86_400_000)
    if body.expires_at is not None:
        if body.expires_at <= now:
            raise invalid("expires_at (milliseconds since the epoch) must be in the future.")
        if body.expires_at > now + MAX_LIFETIME_DAYS * 86_400_000:
            raise invalid(f"expires_at must be at most {MAX_LIFETIME_DAYS} days ahead.")
    return body.expires_at


def render(token: AccessToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "creation_time": token.creation_time,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked": token.revoked_at is not None,
    }


async def list_tokens(request: Request) -> Response:
    principal = signed_in(request)
    tokens = await call(services(request).identity.accounts.list_tokens, principal.name)
    return ok({"tokens": [render(t) for t in tokens]})


async def create_token(request: Request) -> Response:
    principal = signed_in(request)
    body = await parse_json_body(request, CreateToken)
    expires_at = expiry(body, now_ms())
    accounts = services(request).identity.accounts
    issued = await call(accounts.create_token, _actor(request, principal), principal.name, body.name, expires_at)
    return ok({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at})


async def revoke_token(request: Request) -> Response:
    principal = signed_in(request)
    token_id = str(request.path_params["token_id"])
    accounts = services(request).identity.accounts
    await call(accounts.revoke_token, _actor(request, principal), token_id, owner=principal.name)
    return ok()


ENDPOINTS = [
    Endpoint("GET", "/tokens", list_tokens, "authenticated"),
    Endpoint("POST", "/tokens", create_token, "authenticated"),
    Endpoint("DELETE", "/tokens/{token_id}", revoke_token, "authenticated"),
]
