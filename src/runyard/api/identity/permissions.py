"""Per-user permissions (`/api/3.0/mlflow/users/permissions/{grant,revoke,get,list}` and
`/api/3.0/mlflow/users/current/permissions`). A grant or revoke on one experiment (by id) or
registered model (by name) needs MANAGE on it; a wildcard (`*`) one, like the role API, an admin or
an admin of the workspace. Grants land in the request's workspace (`X-MLFLOW-WORKSPACE`, default
`default`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import call, ok
from runyard.api.identity import render
from runyard.api.identity.common import actor, caller, denied, directory, identity, request_workspace
from runyard.api.identity.messages import GrantPermission, Username, UserResource, read
from runyard.api.identity.roles import may_view_user
from runyard.api.identity.users import visible_roles
from runyard.api.routing import Endpoint
from runyard.domain.errors import already_exists, invalid, not_found
from runyard.domain.identity import Principal
from runyard.domain.permissions import (
    EXPERIMENT,
    MANAGE,
    MODEL_VERSION,
    NAMES,
    REGISTERED_MODEL,
    USE,
    WILDCARD,
    WORKSPACE,
    grant_target,
    parse_permission,
)


def _checked_type(resource_type: str, resource_id: str) -> tuple[str, str]:
    if resource_type == WORKSPACE:
        raise invalid(
            "resource_type 'workspace' is not supported by the per-user permission convenience APIs. "
            "Use set_workspace_permission / delete_workspace_permission for workspace-wide grants."
        )
    return grant_target(resource_type, resource_id)


def _kind(resource_type: str) -> str:
    return REGISTERED_MODEL if resource_type in (REGISTERED_MODEL, MODEL_VERSION) else EXPERIMENT


def _may_manage(request: Request, principal: Principal, workspace: str, resource_type: str, pattern: str) -> bool:
    if principal.is_admin:
        return True
    if pattern == WILDCARD or resource_type not in (EXPERIMENT, REGISTERED_MODEL):
        return directory(request).is_workspace_admin(principal, workspace)
    return directory(request).level(principal, workspace, resource_type, pattern) >= MANAGE


async def grant_permission(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, GrantPermission)
    resource_type, pattern = _checked_type(body.resource_type, body.resource_id)
    workspace = request_workspace(request)
    if not await call(_may_manage, request, principal, workspace, resource_type, pattern):
        raise denied()
    level = parse_permission(body.permission)
    grants = identity(request).grants
    await call(identity(request).accounts.get, body.username)
    existing = await call(
        grants.list, principal=body.username, workspace=workspace, resource_type=resource_type, pattern=pattern
    )
    if existing:
        raise already_exists(
            f"Permission for user={body.username} on resource_type={body.resource_type}, "
            f"resource_id={body.resource_id} already exists."
        )
    await call(grants.put, actor(request, principal), body.username, workspace, resource_type, pattern, level)
    return ok({})


async def revoke_permission(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, UserResource)
    resource_type, pattern = _checked_type(body.resource_type, body.resource_id)
    workspace = request_workspace(request)
    if not await call(_may_manage, request, principal, workspace, resource_type, pattern):
        raise denied()
    grants = identity(request).grants
    await call(identity(request).accounts.get, body.username)
    existing = await call(
        grants.list, principal=body.username, workspace=workspace, resource_type=resource_type, pattern=pattern
    )
    if not existing:
        raise not_found(
            f"Permission for user={body.username} on resource_type={body.resource_type}, "
            f"resource_id={body.resource_id} not found."
        )
    await call(grants.remove, actor(request, principal), body.username, workspace, resource_type, pattern)
    return ok({})


async def get_permission(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, UserResource)
    resource_type, pattern = _checked_type(body.resource_type, body.resource_id)
    workspace = request_workspace(request)
    self_or_admin = principal.is_admin or principal.name == body.username
    if not self_or_admin and not await call(directory(request).is_workspace_admin, principal, workspace):
        raise denied()
    target = await call(identity(request).accounts.get, body.username)
    level = await call(directory(request).level, target, workspace, _kind(resource_type), pattern)
    return ok({"allowed": level >= USE, "permission": NAMES[level]})


def _rows(request: Request, viewer: Principal, target: Principal) -> render.JsonObject:
    roles = visible_roles(request, viewer, target)
    return {"is_admin": target.is_admin, "permissions": render.permission_rows(roles)}


async def list_permissions(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, Username)
    if not await call(may_view_user, request, principal, body.username):
        raise denied()
    target = await call(identity(request).accounts.get, body.username)
    return ok(await call(_rows, request, principal, target))


async def current_permissions(request: Request) -> Response:
    principal = caller(request)
    return ok(await call(_rows, request, principal, principal))


ENDPOINTS = [
    Endpoint("POST", "/users/permissions/grant", grant_permission, "authenticated", version="3.0"),
    Endpoint("POST", "/users/permissions/revoke", revoke_permission, "authenticated", version="3.0"),
    Endpoint("GET", "/users/permissions/get", get_permission, "authenticated", version="3.0"),
    Endpoint("GET", "/users/permissions/list", list_permissions, "authenticated", version="3.0"),
    Endpoint("GET", "/users/current/permissions", current_permissions, "authenticated", version="3.0"),
]
