"""What every auth API handler needs: the caller (the API exists only with `--auth on`), the audit
actor, the request's workspace and the directory of identity questions."""

from __future__ import annotations

from starlette.requests import Request

from runyard.api.authentication import PRINCIPAL_SCOPE_KEY, client_address
from runyard.api.routing import WORKSPACE_HEADER, WORKSPACE_SCOPE_KEY, services
from runyard.domain.errors import ENDPOINT_NOT_FOUND, MlflowError, permission_denied
from runyard.domain.identity import Principal
from runyard.domain.workspaces import DEFAULT_WORKSPACE
from runyard.services.identity.audit import Actor
from runyard.services.identity.directory import Directory
from runyard.services.identity.service import Identity


def identity(request: Request) -> Identity:
    found: Identity = services(request).identity
    return found


def caller(request: Request) -> Principal:
    """The signed-in principal. With `--auth off` these routes answer as a server without the
    basic-auth app does: there is no such endpoint (404 ENDPOINT_NOT_FOUND)."""
    principal: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if principal is None or not identity(request).enabled:
        raise MlflowError(
            f"No API endpoint {request.method} {request.url.path}: the auth API is served with --auth on.",
            ENDPOINT_NOT_FOUND,
        )
    return principal


def actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.name, client_address(request))


def directory(request: Request) -> Directory:
    return Directory(services(request).db, identity(request))


def request_workspace(request: Request, named: object = None) -> str:
    """The workspace a call is about: the payload's, else the request's (URL form or the
    `X-MLFLOW-WORKSPACE` header), else `default`."""
    if isinstance(named, str) and named.strip():
        return named
    name = request.scope.get(WORKSPACE_SCOPE_KEY) or request.headers.get(WORKSPACE_HEADER)
    return name.strip() if isinstance(name, str) and name.strip() else DEFAULT_WORKSPACE


def denied() -> MlflowError:
    return permission_denied("Permission denied")
