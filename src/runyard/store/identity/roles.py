"""Role rows: a named set of permissions in one workspace, its permissions and its members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from runyard.domain.identity import Principal, Role, RolePermission
from runyard.store import schema
from runyard.store.identity.principals import _ENTITY_COLUMNS, _entity

_R = schema.roles
_RM = schema.role_members
_RP = schema.role_permissions
_W = schema.workspaces


def _role(row: Any) -> Role:
    m = row._mapping
    return Role(id=m["id"], workspace=m["workspace"], name=m["name"], description=m["description"])


def _select() -> Any:
    return select(_R.c.id, _W.c.name.label("workspace"), _R.c.name, _R.c.description).select_from(
        _R.join(_W, _W.c.id == _R.c.workspace_id)
    )


def _permission(row: Any) -> RolePermission:
    m = row._mapping
    return RolePermission(
        id=m["id"],
        role_id=m["role_id"],
        resource_type=m["resource_type"],
        pattern=m["resource_pattern"],
        level=m["level"],
    )


def insert(conn: Connection, *, workspace_id: int, name: str, description: str | None, now: int) -> int:
    result = conn.execute(
        _R.insert().values(workspace_id=workspace_id, name=name, description=description, creation_time=now)
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get(conn: Connection, role_id: int) -> Role | None:
    row = conn.execute(_select().where(_R.c.id == role_id)).first()
    return _role(row) if row else None


def get_by_name(conn: Connection, workspace_id: int, name: str) -> Role | None:
    row = conn.execute(_select().where(_R.c.workspace_id == workspace_id, _R.c.name == name)).first()
    return _role(row) if row else None


def list_roles(conn: Connection, workspace_id: int | None = None) -> list[Role]:
    stmt = _select().order_by(_W.c.name, _R.c.name)
    if workspace_id is not None:
        stmt = stmt.where(_R.c.workspace_id == workspace_id)
    return [_role(r) for r in conn.execute(stmt)]


def update_role(conn: Connection, role_id: int, *, name: str | None, description: str | None) -> None:
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if description is not None:
        values["description"] = description
    if values:
        conn.execute(update(_R).where(_R.c.id == role_id).values(**values))


def delete_role(conn: Connection, role_id: int) -> None:
    conn.execute(delete(_RP).where(_RP.c.role_id == role_id))
    conn.execute(delete(_RM).where(_RM.c.role_id == role_id))
    conn.execute(delete(schema.oauth_upstream_roles).where(schema.oauth_upstream_roles.c.role_id == role_id))
    conn.execute(delete(_R).where(_R.c.id == role_id))


def add_permission(conn: Connection, role_id: int, resource_type: str, pattern: str, level: int) -> int:
    result = conn.execute(
        _RP.insert().values(role_id=role_id, resource_type=resource_type, resource_pattern=pattern, level=level)
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def find_permission(conn: Connection, role_id: int, resource_type: str, pattern: str) -> RolePermission | None:
    row = conn.execute(
        select(_RP).where(
            _RP.c.role_id == role_id, _RP.c.resource_type == resource_type, _RP.c.resource_pattern == pattern
        )
    ).first()
    return _permission(row) if row else None


def get_permission(conn: Connection, permission_id: int) -> RolePermission | None:
    row = conn.execute(select(_RP).where(_RP.c.id == permission_id)).first()
    return _permission(row) if row else None


def update_permission(conn: Connection, permission_id: int, level: int) -> None:
    conn.execute(update(_RP).where(_RP.c.id == permission_id).values(level=level))


def remove_permission(conn: Connection, permission_id: int) -> bool:
    return bool(conn.execute(delete(_RP).where(_RP.c.id == permission_id)).rowcount)


def permissions(conn: Connection, role_id: int) -> list[RolePermission]:
    rows = conn.execute(select(_RP).where(_RP.c.role_id == role_id).order_by(_RP.c.id))
    return [_permission(r) for r in rows]


def assign(conn: Connection, role_id: int, principal_id: int) -> bool:
    """Make the principal a member of the role (False: it already was)."""
    if conn.execute(select(_RM).where(_RM.c.role_id == role_id, _RM.c.principal_id == principal_id)).first():
        return False
    conn.execute(_RM.insert().values(role_id=role_id, principal_id=principal_id))
    return True


def unassign(conn: Connection, role_id: int, principal_id: int) -> bool:
    """End the membership (and single sign-on's record of having made it: one an administrator
    makes again later is theirs)."""
    synced = schema.oauth_upstream_roles
    conn.execute(delete(synced).where(synced.c.role_id == role_id, synced.c.principal_id == principal_id))
    result = conn.execute(delete(_RM).where(_RM.c.role_id == role_id, _RM.c.principal_id == principal_id))
    return bool(result.rowcount)


def roles_of(conn: Connection, principal_id: int, workspace_id: int | None = None) -> list[Role]:
    stmt = (
        _select()
        .join(_RM, _RM.c.role_id == _R.c.id)
        .where(_RM.c.principal_id == principal_id)
        .order_by(_W.c.name, _R.c.name)
    )
    if workspace_id is not None:
        stmt = stmt.where(_R.c.workspace_id == workspace_id)
    return [_role(r) for r in conn.execute(stmt)]


def members(conn: Connection, role_id: int) -> list[Principal]:
    P = schema.principals
    rows = conn.execute(
        select(*_ENTITY_COLUMNS)
        .select_from(P.join(_RM, _RM.c.principal_id == P.c.id))
        .where(_RM.c.role_id == role_id)
        .order_by(P.c.name)
    )
    return [_entity(r) for r in rows]
