"""Single sign-on rows: which local principal an upstream user (issuer + subject) is, and the role
memberships single sign-on made (so it removes only those)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from runyard.store import schema

_L = schema.oauth_upstream_links
_UR = schema.oauth_upstream_roles


def linked_principal(conn: Connection, issuer: str, subject: str) -> int | None:
    value = conn.execute(select(_L.c.principal_id).where(_L.c.issuer == issuer, _L.c.subject == subject)).scalar()
    return int(value) if value is not None else None


def is_linked(conn: Connection, principal_id: int) -> bool:
    return conn.execute(select(_L.c.principal_id).where(_L.c.principal_id == principal_id).limit(1)).first() is not None


def link(conn: Connection, issuer: str, subject: str, principal_id: int, now: int) -> None:
    conn.execute(_L.insert().values(issuer=issuer, subject=subject, principal_id=principal_id, creation_time=now))


def synced_roles(conn: Connection, principal_id: int) -> set[int]:
    return {int(r) for r in conn.execute(select(_UR.c.role_id).where(_UR.c.principal_id == principal_id)).scalars()}


def remember_role(conn: Connection, principal_id: int, role_id: int) -> None:
    if conn.execute(select(_UR).where(_UR.c.principal_id == principal_id, _UR.c.role_id == role_id)).first() is None:
        conn.execute(_UR.insert().values(principal_id=principal_id, role_id=role_id))


def forget_role(conn: Connection, principal_id: int, role_id: int) -> None:
    conn.execute(delete(_UR).where(_UR.c.principal_id == principal_id, _UR.c.role_id == role_id))
