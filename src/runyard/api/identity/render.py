"""Identity entities → the auth API's JSON objects, as mlflow.server.auth.entities writes them."""

from __future__ import annotations

from collections.abc import Sequence

from runyard.domain.identity import GrantRecord, Principal, Role, RolePermission
from runyard.domain.permissions import NAMES

# Direct grants (`users/permissions/grant`) are shown the way the reference stores them: as the
# permissions of a per-user role `__user_<id>__` in the grant's workspace. Runyard keeps them apart
# from roles, so that role has no row of its own: its id is 0 (not addressable by the role API).
USER_ROLE_ID = 0

JsonObject = dict[str, object]


def user(p: Principal) -> JsonObject:
    return {"id": p.id, "is_admin": p.is_admin, "username": p.name}


def role_permission(rp: RolePermission) -> JsonObject:
    return {
        "id": rp.id,
        "permission": NAMES[rp.level],
        "resource_pattern": rp.pattern,
        "resource_type": rp.resource_type,
        "role_id": rp.role_id,
    }


def role(r: Role, permissions: Sequence[RolePermission]) -> JsonObject:
    return {
        "description": r.description,
        "id": r.id,
        "name": r.name,
        "permissions": [role_permission(p) for p in permissions],
        "workspace": r.workspace,
    }


def user_role_name(principal: Principal) -> str:
    return f"__user_{principal.id}__"


def direct_roles(principal: Principal, grants: Sequence[GrantRecord]) -> list[JsonObject]:
    """The per-user roles that stand for `principal`'s direct grants, one per workspace."""
    by_workspace: dict[str, list[GrantRecord]] = {}
    for g in grants:
        by_workspace.setdefault(g.workspace, []).append(g)
    return [
        {
            "description": None,
            "id": USER_ROLE_ID,
            "name": user_role_name(principal),
            "permissions": [
                {
                    "id": g.id,
                    "permission": NAMES[g.level],
                    "resource_pattern": g.pattern,
                    "resource_type": g.resource_type,
                    "role_id": USER_ROLE_ID,
                }
                for g in rows
            ],
            "workspace": workspace,
        }
        for workspace, rows in by_workspace.items()
    ]


def assignment(role_id: int, principal: Principal) -> JsonObject:
    # Role memberships have no row id of their own: the member's id stands in.
    return {"id": principal.id, "role_id": role_id, "user_id": principal.id}


def permission_rows(roles: Sequence[JsonObject]) -> list[JsonObject]:
    """`users/permissions/list` rows: every permission of every (rendered) role."""
    rows: list[JsonObject] = []
    for r in roles:
        perms = r["permissions"]
        assert isinstance(perms, list)
        for p in perms:
            rows.append(
                {
                    "permission": p["permission"],
                    "resource_pattern": p["resource_pattern"],
                    "resource_type": p["resource_type"],
                    "role_id": r["id"],
                    "role_name": r["name"],
                    "workspace": r["workspace"],
                }
            )
    return rows
