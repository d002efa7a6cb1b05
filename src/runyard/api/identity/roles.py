"""Workspace roles (`/api/3.0/mlflow/roles/*`, `/api/3.0/mlflow/users/roles/list`): a role is a
named set of permissions in one workspace, assigned to users and service principals. Admins and
the workspace's admins (MANAGE on the workspace) manage a workspace's roles; holders of any role in
a workspace may read its roles."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import call, ok
from runyard.api.identity import render
from runyard.api.identity.common import actor, caller, denied, directory, identity, request_workspace
from runyard.api.identity.messages import (
    AddRolePermission,
    Assignment,
    CreateRole,
    RoleId,
    RolePermissionId,
    UpdateRole,
    UpdateRolePermission,
    Username,
    parse,
    request_params,
)
from runyard.api.identity.users import visible_roles
from runyard.api.routing import Endpoint
from runyard.domain.errors import RESOURCE_DOES_NOT_EXIST, MlflowError, invalid
from runyard.domain.identity import Principal
from runyard.domain.permissions import MANAGE, USE, WORKSPACE, parse_permission

WORKSPACE_LEVELS = (MANAGE, USE)


def _role_workspace(request: Request, params: dict[str, object]) -> str | None:
    """The workspace a role call is about (None: the role or role permission it names does not exist)."""
    grants = identity(request).grants
    try:
        if "role_id" in params:
            return grants.role(parse(params, RoleId).role_id).workspace
        if "role_permission_id" in params:
            return directory(request).role_permission_workspace(parse(params, RolePermissionId).role_permission_id)
    except MlflowError as e:
        if e.error_code == RESOURCE_DOES_NOT_EXIST:
            return None
        raise
    return request_workspace(request, params.get("workspace"))


def _may_manage(request: Request, principal: Principal, params: dict[str, object]) -> bool:
    if principal.is_admin:
        return True
    workspace = _role_workspace(request, params)
    return workspace is not None and directory(request).is_workspace_admin(principal, workspace)


def _may_view(request: Request, principal: Principal, params: dict[str, object]) -> bool:
    if principal.is_admin:
        return True
    workspace = _role_workspace(request, params)
    return workspace is not None and (
        workspace in directory(request).role_workspaces(principal)
        or directory(request).is_workspace_admin(principal, workspace)
    )


async def _authorized(request: Request, *, manage: bool) -> tuple[Principal, dict[str, object]]:
    principal = caller(request)
    params = await request_params(request)
    check = _may_manage if manage else _may_view
    if not await call(check, request, principal, params):
        raise denied()
    return principal, params


def _role_json(request: Request, role_id: int) -> render.JsonObject:
    grants = identity(request).grants
    return render.role(grants.role(role_id), grants.role_permissions(role_id))


def _level(permission: str, resource_type: str) -> int:
    level = parse_permission(permission)
    if resource_type == WORKSPACE and level not in WORKSPACE_LEVELS:
        raise invalid(
            f"Invalid permission '{permission}' for resource_type='workspace'. "
            "Workspace-wide grants accept only: ('MANAGE', 'USE')."
        )
    return level


async def create_role(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    body = parse(params, CreateRole)
    if not body.name.strip():
        raise invalid("Role name cannot be empty.")
    role = await call(
        identity(request).grants.create_role,
        actor(request, principal),
        request_workspace(request, body.workspace),
        body.name,
        body.description,
    )
    return ok({"role": render.role(role, [])})


async def get_role(request: Request) -> Response:
    _, params = await _authorized(request, manage=False)
    return ok({"role": await call(_role_json, request, parse(params, RoleId).role_id)})


def _list_roles(request: Request, workspaces: list[str]) -> list[render.JsonObject]:
    grants = identity(request).grants
    roles = [r for w in workspaces for r in grants.roles(w)] if workspaces else list(grants.roles())
    return [render.role(r, grants.role_permissions(r.id)) for r in sorted(roles, key=lambda r: r.id)]


async def list_roles(request: Request) -> Response:
    principal = caller(request)
    workspaces = request.query_params.getlist("workspace")
    if any(not w.strip() for w in workspaces):
        raise invalid("Parameter 'workspace' must be a non-empty string when provided.")
    if not principal.is_admin:
        held = await call(directory(request).role_workspaces, principal)
        if not workspaces or not set(workspaces) <= held:
            raise denied()
    return ok({"roles": await call(_list_roles, request, workspaces)})


async def update_role(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    body = parse(params, UpdateRole)
    if body.name is None and body.description is None:
        raise invalid("At least one of 'name' or 'description' must be provided to update a role.")
    if body.name is not None and not body.name.strip():
        raise invalid("Role name cannot be empty.")
    grants = identity(request).grants
    await call(
        grants.update_role, actor(request, principal), body.role_id, name=body.name, description=body.description
    )
    return ok({"role": await call(_role_json, request, body.role_id)})


async def delete_role(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    await call(identity(request).grants.delete_role, actor(request, principal), parse(params, RoleId).role_id)
    return ok({})


async def add_role_permission(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    body = parse(params, AddRolePermission)
    level = _level(body.permission, body.resource_type)
    added = await call(
        identity(request).grants.add_role_permission,
        actor(request, principal),
        body.role_id,
        body.resource_type,
        body.resource_pattern,
        level,
    )
    return ok({"role_permission": render.role_permission(added)})


async def remove_role_permission(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    permission_id = parse(params, RolePermissionId).role_permission_id
    await call(identity(request).grants.remove_role_permission, actor(request, principal), permission_id)
    return ok({})


async def list_role_permissions(request: Request) -> Response:
    _, params = await _authorized(request, manage=False)
    found = await call(identity(request).grants.role_permissions, parse(params, RoleId).role_id)
    return ok({"role_permissions": [render.role_permission(p) for p in found]})


async def update_role_permission(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    body = parse(params, UpdateRolePermission)
    level = parse_permission(body.permission)
    updated = await call(
        identity(request).grants.update_role_permission, actor(request, principal), body.role_permission_id, level
    )
    return ok({"role_permission": render.role_permission(updated)})


async def assign_role(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    body = parse(params, Assignment)
    who = await call(identity(request).accounts.get, body.username)
    await call(identity(request).grants.assign, actor(request, principal), body.role_id, body.username)
    return ok({"assignment": render.assignment(body.role_id, who)})


async def unassign_role(request: Request) -> Response:
    principal, params = await _authorized(request, manage=True)
    body = parse(params, Assignment)
    await call(identity(request).grants.unassign, actor(request, principal), body.role_id, body.username)
    return ok({})


async def list_role_users(request: Request) -> Response:
    _, params = await _authorized(request, manage=True)
    role_id = parse(params, RoleId).role_id
    members = await call(identity(request).grants.members, role_id)
    return ok({"assignments": [render.assignment(role_id, m) for m in sorted(members, key=lambda m: m.id)]})


def may_view_user(request: Request, viewer: Principal, target_name: str) -> bool:
    """Admins, the user themselves, and admins of a workspace the target holds a role in."""
    if viewer.is_admin or viewer.name == target_name:
        return True
    accounts = identity(request).accounts
    try:
        target = accounts.get(target_name)
    except MlflowError:
        return False
    return bool(directory(request).admin_workspaces(viewer) & directory(request).role_workspaces(target))


async def list_user_roles(request: Request) -> Response:
    principal = caller(request)
    body = parse(await request_params(request), Username)
    if not await call(may_view_user, request, principal, body.username):
        raise denied()
    target = await call(identity(request).accounts.get, body.username)
    return ok({"roles": await call(visible_roles, request, principal, target)})


ENDPOINTS = [
    Endpoint("POST", "/roles/create", create_role, "authenticated", version="3.0"),
    Endpoint("GET", "/roles/get", get_role, "authenticated", version="3.0"),
    Endpoint("GET", "/roles/list", list_roles, "authenticated", version="3.0"),
    Endpoint("PATCH", "/roles/update", update_role, "authenticated", version="3.0"),
    Endpoint("DELETE", "/roles/delete", delete_role, "authenticated", version="3.0"),
    Endpoint("POST", "/roles/permissions/add", add_role_permission, "authenticated", version="3.0"),
    Endpoint("DELETE", "/roles/permissions/remove", remove_role_permission, "authenticated", version="3.0"),
    Endpoint("GET", "/roles/permissions/list", list_role_permissions, "authenticated", version="3.0"),
    Endpoint("PATCH", "/roles/permissions/update", update_role_permission, "authenticated", version="3.0"),
    Endpoint("POST", "/roles/assign", assign_role, "authenticated", version="3.0"),
    Endpoint("DELETE", "/roles/unassign", unassign_role, "authenticated", version="3.0"),
    Endpoint("GET", "/roles/users/list", list_role_users, "authenticated", version="3.0"),
    Endpoint("GET", "/users/roles/list", list_user_roles, "authenticated", version="3.0"),
]
