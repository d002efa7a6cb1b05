"""Principal rows (users and service principals): lookup by id, name or client id, create, change, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from runyard.domain.identity import Principal
from runyard.store import schema

_P = schema.principals
_ENTITY_COLUMNS = (
    _P.c.id,
    _P.c.name,
    _P.c.kind,
    _P.c.is_admin,
    _P.c.enabled,
    _P.c.credential_version,
    _P.c.creation_time,
    _P.c.last_update_time,
    _P.c.client_id,
)


def _entity(row: Any) -> Principal:
    m = row._mapping
    return Principal(
        id=m["id"],
        name=m["name"],
        kind=m["kind"],
        is_admin=bool(m["is_admin"]),
        enabled=bool(m["enabled"]),
        credential_version=m["credential_version"],
        creation_time=m["creation_time"],
        last_update_time=m["last_update_time"],
        client_id=m["client_id"],
    )


def get(conn: Connection, principal_id: int) -> Principal | None:
    row = conn.execute(select(*_ENTITY_COLUMNS).where(_P.c.id == principal_id)).first()
    return _entity(row) if row else None


def get_by_name(conn: Connection, name: str) -> Principal | None:
    row = conn.execute(select(*_ENTITY_COLUMNS).where(_P.c.name == name)).first()
    return _entity(row) if row else None


def password_hash(conn: Connection, name: str) -> tuple[Principal, str | None] | None:
    """The principal named `name` with its password hash (None: it has no password)."""
    row = conn.execute(select(*_ENTITY_COLUMNS, _P.c.password_hash).where(_P.c.name == name)).first()
    return (_entity(row), row._mapping["password_hash"]) if row else None


def by_client_id(conn: Connection, client_id: str) -> tuple[Principal, str | None] | None:
    """The service principal with `client_id` and its secret hash."""
    row = conn.execute(select(*_ENTITY_COLUMNS, _P.c.secret_hash).where(_P.c.client_id == client_id)).first()
    return (_entity(row), row._mapping["secret_hash"]) if row else None


def list_all(conn: Connection, kind: str | None = None) -> list[Principal]:
    stmt = select(*_ENTITY_COLUMNS).order_by(_P.c.name)
    if kind is not None:
        stmt = stmt.where(_P.c.kind == kind)
    return [_entity(r) for r in conn.execute(stmt)]


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(_P)).scalar_one())


def insert(
    conn: Connection,
    *,
    name: str,
    kind: str,
    password_hash: str | None,
    is_admin: bool,
    now: int,
    client_id: str | None = None,
    secret_hash: str | None = None,
) -> int:
    result = conn.execute(
        _P.insert().values(
            name=name,
            kind=kind,
            password_hash=password_hash,
            is_admin=is_admin,
            enabled=True,
            client_id=client_id,
            secret_hash=secret_hash,
            credential_version=1,
            creation_time=now,
            last_update_time=now,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def set_password(conn: Connection, principal_id: int, password_hash: str, now: int) -> None:
    conn.execute(
        update(_P)
        .where(_P.c.id == principal_id)
        .values(password_hash=password_hash, credential_version=_P.c.credential_version + 1, last_update_time=now)
    )


def set_secret(conn: Connection, principal_id: int, secret_hash: str, now: int) -> None:
    conn.execute(
        update(_P)
        .where(_P.c.id == principal_id)
        .values(secret_hash=secret_hash, credential_version=_P.c.credential_version + 1, last_update_time=now)
    )


def set_admin(conn: Connection, principal_id: int, is_admin: bool, now: int) -> None:
    conn.execute(update(_P).where(_P.c.id == principal_id).values(is_admin=is_admin, last_update_time=now))


def set_enabled(conn: Connection, principal_id: int, enabled: bool, now: int) -> None:
    conn.execute(
        update(_P)
        .where(_P.c.id == principal_id)
        .values(enabled=enabled, credential_version=_P.c.credential_version + 1, last_update_time=now)
    )


def delete_principal(conn: Connection, principal_id: int) -> None:
    """The principal and everything that names it: tokens, grants, role memberships, OAuth state."""
    from runyard.store.identity import oauth

    oauth.delete_for_principal(conn, principal_id)
    conn.execute(delete(schema.access_tokens).where(schema.access_tokens.c.principal_id == principal_id))
    conn.execute(delete(schema.grants).where(schema.grants.c.principal_id == principal_id))
    conn.execute(delete(schema.role_members).where(schema.role_members.c.principal_id == principal_id))
    conn.execute(delete(_P).where(_P.c.id == principal_id))
