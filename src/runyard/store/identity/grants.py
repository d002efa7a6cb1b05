"""Grant rows (a principal's permission on a resource pattern in one workspace), and the permission
rows that apply to a principal in a workspace: its grants plus its roles' permissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, exists, literal, select, union_all, update

from runyard.domain.identity import GrantRecord
from runyard.domain.permissions import Grant
from runyard.store import schema

_G = schema.grants
_P = schema.principals
_W = schema.workspaces
_R = schema.roles
_RM = schema.role_members
_RP = schema.role_permissions


def _record(row: Any) -> GrantRecord:
    m = row._mapping
    return GrantRecord(
        id=m["id"],
        workspace=m["workspace"],
        principal=m["principal"],
        resource_type=m["resource_type"],
        pattern=m["resource_pattern"],
        level=m["level"],
    )


def _select() -> Any:
    return select(
        _G.c.id,
        _W.c.name.label("workspace"),
        _P.c.name.label("principal"),
        _G.c.resource_type,
        _G.c.resource_pattern,
        _G.c.level,
    ).select_from(_G.join(_W, _W.c.id == _G.c.workspace_id).join(_P, _P.c.id == _G.c.principal_id))


def put(
    conn: Connection, *, workspace_id: int, principal_id: int, resource_type: str, pattern: str, level: int
) -> None:
    """Set the principal's level on the resource (a second grant on the same resource replaces the first)."""
    where = (
        _G.c.workspace_id == workspace_id,
        _G.c.principal_id == principal_id,
        _G.c.resource_type == resource_type,
        _G.c.resource_pattern == pattern,
    )
    if conn.execute(update(_G).where(*where).values(level=level)).rowcount:
        return
    conn.execute(
        _G.insert().values(
            workspace_id=workspace_id,
            principal_id=principal_id,
            resource_type=resource_type,
            resource_pattern=pattern,
            level=level,
        )
    )


def get(
    conn: Connection, *, workspace_id: int, principal_id: int, resource_type: str, pattern: str
) -> GrantRecord | None:
    row = conn.execute(
        _select().where(
            _G.c.workspace_id == workspace_id,
            _G.c.principal_id == principal_id,
            _G.c.resource_type == resource_type,
            _G.c.resource_pattern == pattern,
        )
    ).first()
    return _record(row) if row else None


def remove(conn: Connection, *, workspace_id: int, principal_id: int, resource_type: str, pattern: str) -> bool:
    result = conn.execute(
        delete(_G).where(
            _G.c.workspace_id == workspace_id,
            _G.c.principal_id == principal_id,
            _G.c.resource_type == resource_type,
            _G.c.resource_pattern == pattern,
        )
    )
    return bool(result.rowcount)


def list_grants(
    conn: Connection,
    *,
    principal_id: int | None = None,
    workspace_id: int | None = None,
    resource_type: str | None = None,
    pattern: str | None = None,
) -> list[GrantRecord]:
    stmt = _select().order_by(_W.c.name, _P.c.name, _G.c.resource_type, _G.c.resource_pattern)
    if principal_id is not None:
        stmt = stmt.where(_G.c.principal_id == principal_id)
    if workspace_id is not None:
        stmt = stmt.where(_G.c.workspace_id == workspace_id)
    if resource_type is not None:
        stmt = stmt.where(_G.c.resource_type == resource_type)
    if pattern is not None:
        stmt = stmt.where(_G.c.resource_pattern == pattern)
    return [_record(r) for r in conn.execute(stmt)]


def rename_resource(conn: Connection, workspace_id: int, resource_type: str, old: str, new: str) -> None:
    """Grants follow a renamed registered model."""
    conn.execute(
        update(_G)
        .where(_G.c.workspace_id == workspace_id, _G.c.resource_type == resource_type, _G.c.resource_pattern == old)
        .values(resource_pattern=new)
    )


def delete_for_resource(conn: Connection, workspace_id: int, resource_type: str, pattern: str) -> None:
    """Grants on a resource that no longer exists (a deleted registered model: a new model of the
    same name must not inherit them)."""
    conn.execute(
        delete(_G).where(
            _G.c.workspace_id == workspace_id, _G.c.resource_type == resource_type, _G.c.resource_pattern == pattern
        )
    )


def delete_for_workspace(conn: Connection, workspace_id: int) -> None:
    """Everything identity holds about a workspace: its grants, roles, their members and permissions."""
    role_ids = select(_R.c.id).where(_R.c.workspace_id == workspace_id).scalar_subquery()
    conn.execute(delete(_RP).where(_RP.c.role_id.in_(role_ids)))
    conn.execute(delete(_RM).where(_RM.c.role_id.in_(role_ids)))
    upstream = schema.oauth_upstream_roles
    conn.execute(delete(upstream).where(upstream.c.role_id.in_(role_ids)))
    conn.execute(delete(_R).where(_R.c.workspace_id == workspace_id))
    conn.execute(delete(_G).where(_G.c.workspace_id == workspace_id))


def applicable(principal_id: int, workspace_id: int) -> Any:
    """The permission rows that apply to a principal in a workspace, as a subquery with columns
    (resource_type, resource_pattern, level): its grants and its roles' permissions."""
    direct = select(_G.c.resource_type, _G.c.resource_pattern, _G.c.level).where(
        _G.c.principal_id == principal_id, _G.c.workspace_id == workspace_id
    )
    via_roles = (
        select(_RP.c.resource_type, _RP.c.resource_pattern, _RP.c.level)
        .select_from(_RP.join(_R, _R.c.id == _RP.c.role_id).join(_RM, _RM.c.role_id == _R.c.id))
        .where(_RM.c.principal_id == principal_id, _R.c.workspace_id == workspace_id)
    )
    return union_all(direct, via_roles).subquery("applicable")


def applicable_grants(conn: Connection, principal_id: int, workspace_id: int) -> tuple[Grant, ...]:
    """`applicable` read into memory (for point checks, which a process caches for a few seconds)."""
    rows = conn.execute(select(applicable(principal_id, workspace_id)))
    return tuple(Grant(resource_type=r[0], pattern=r[1], level=r[2]) for r in rows)


def is_member(conn: Connection, principal_id: int, workspace_id: int) -> bool:
    """Whether the principal has any grant or role in the workspace (the `default` workspace's
    membership is everyone's and is not asked here)."""
    grant = exists().where(_G.c.principal_id == principal_id, _G.c.workspace_id == workspace_id)
    role = exists().where(
        and_(_RM.c.principal_id == principal_id, _RM.c.role_id == _R.c.id, _R.c.workspace_id == workspace_id)
    )
    return bool(conn.execute(select(literal(True)).where(grant | role)).first())


def member_workspace_ids(principal_id: int) -> Any:
    """A subquery of the ids of workspaces the principal has a grant or a role in."""
    return union_all(
        select(_G.c.workspace_id).where(_G.c.principal_id == principal_id),
        select(_R.c.workspace_id)
        .select_from(_R.join(_RM, _RM.c.role_id == _R.c.id))
        .where(_RM.c.principal_id == principal_id),
    )
