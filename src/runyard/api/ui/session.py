"""`GET /ajax-api/2.0/runyard/ui/session`: what the web UI asks first — whether the server signs
users in and, if so, who this is. With `--auth on` a caller without credentials gets the usual 401
(the page then sends the browser to the login page); with `--auth off` the answer says so, where
MLflow's `users/current` would be a 404 the page had to interpret."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import PRINCIPAL_SCOPE_KEY
from runyard.api.http import ok
from runyard.api.routing import Endpoint, services
from runyard.domain.identity import Principal


async def ui_session(request: Request) -> Response:
    enabled: bool = services(request).identity.enabled
    principal: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if not enabled or principal is None:
        return ok({"auth_enabled": enabled})
    return ok({"auth_enabled": True, "user": {"username": principal.name, "is_admin": principal.is_admin}})


ENDPOINTS = [Endpoint("GET", "/ui/session", ui_session, "authenticated")]
