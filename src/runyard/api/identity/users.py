"""Users (`/api/2.0/mlflow/users/*`): create, get, current, list, update-password, update-admin,
delete. Admins manage users (a workspace admin may also create one); anyone signed in may read
themselves, list users and change their own password (re-entering the current one)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import call, ok
from runyard.api.identity import render
from runyard.api.identity.common import actor, caller, denied, directory, identity
from runyard.api.identity.messages import CreateUser, UpdateAdmin, UpdatePassword, Username, read
from runyard.api.routing import Endpoint
from runyard.domain.errors import BAD_REQUEST, MlflowError, invalid
from runyard.domain.identity import USER, Principal


def roles_json(request: Request, target: Principal) -> list[render.JsonObject]:
    """`target`'s roles (with their permissions) followed by the per-user roles of its direct grants."""
    grants = identity(request).grants
    out = [render.role(r, grants.role_permissions(r.id)) for r in grants.roles_of(target.name)]
    return out + render.direct_roles(target, grants.list(principal=target.name))


def visible_roles(request: Request, viewer: Principal, target: Principal) -> list[render.JsonObject]:
    """What `viewer` may see of `target`'s roles: all of them for an admin or oneself, else those in
    the workspaces the viewer administers."""
    rows = roles_json(request, target)
    if viewer.is_admin or viewer.name == target.name:
        return rows
    allowed = directory(request).admin_workspaces(viewer)
    return [r for r in rows if r["workspace"] in allowed]


async def create_user(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, CreateUser)
    if not principal.is_admin and not await call(directory(request).admin_workspaces, principal):
        raise denied()
    if not body.username or not body.password:
        raise invalid("Username and password cannot be empty.")
    created = await call(
        identity(request).accounts.create_user, actor(request, principal), body.username, body.password
    )
    return ok({"user": render.user(created)})


async def get_user(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, Username)
    if not principal.is_admin and body.username != principal.name:
        raise denied()
    found = await call(identity(request).accounts.get, body.username)
    return ok({"user": render.user(found)})


async def current_user(request: Request) -> Response:
    principal = caller(request)
    return ok({"is_basic_auth": True, "user": render.user(principal)})


def _list_users(request: Request, viewer: Principal) -> list[render.JsonObject]:
    return [
        {**render.user(p), "roles": visible_roles(request, viewer, p)}
        for p in sorted(identity(request).accounts.list(USER), key=lambda p: p.id)
    ]


async def list_users(request: Request) -> Response:
    principal = caller(request)
    return ok({"users": await call(_list_users, request, principal)})


async def update_password(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, UpdatePassword)
    if body.username == principal.name:
        if not body.current_password:
            raise invalid("Current password is required when changing your own password.")
        if not await call(directory(request).password_matches, principal.name, body.current_password):
            raise invalid("Current password does not match.")
        if body.password == body.current_password:
            raise invalid("New password must differ from the current password.")
    elif not principal.is_admin:
        raise denied()
    await call(identity(request).accounts.set_password, actor(request, principal), body.username, body.password)
    return ok({})


async def update_admin(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, UpdateAdmin)
    await call(identity(request).accounts.set_admin, actor(request, principal), body.username, body.is_admin)
    return ok({})


async def delete_user(request: Request) -> Response:
    principal = caller(request)
    body = await read(request, Username)
    if body.username == principal.name:
        raise MlflowError(
            "Users cannot delete their own account. Ask another admin to delete this user instead.", BAD_REQUEST
        )
    await call(identity(request).accounts.delete, actor(request, principal), body.username)
    return ok({})


ENDPOINTS = [
    Endpoint("POST", "/users/create", create_user, "authenticated"),
    Endpoint("GET", "/users/get", get_user, "authenticated"),
    Endpoint("GET", "/users/current", current_user, "authenticated"),
    Endpoint("GET", "/users/list", list_users, "authenticated"),
    Endpoint("PATCH", "/users/update-password", update_password, "authenticated"),
    Endpoint("PATCH", "/users/update-admin", update_admin, "admin"),
    Endpoint("DELETE", "/users/delete", delete_user, "admin"),
]
