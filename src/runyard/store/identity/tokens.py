"""Personal access token rows: stored by SHA-256 of the token, never the token itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from runyard.domain.identity import AccessToken
from runyard.store import schema

_T = schema.access_tokens
_P = schema.principals
_COLUMNS = (
    _T.c.id,
    _T.c.principal_id,
    _P.c.name.label("principal_name"),
    _T.c.name,
    _T.c.creation_time,
    _T.c.expires_at,
    _T.c.last_used_at,
    _T.c.revoked_at,
)


def _entity(row: Any) -> AccessToken:
    m = row._mapping
    return AccessToken(
        id=m["id"],
        principal_id=m["principal_id"],
        principal_name=m["principal_name"],
        name=m["name"],
        creation_time=m["creation_time"],
        expires_at=m["expires_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )


def _select() -> Any:
    return select(*_COLUMNS).select_from(_T.join(_P, _P.c.id == _T.c.principal_id))


def insert(
    conn: Connection, *, token_id: str, principal_id: int, name: str, token_hash: str, now: int, expires_at: int | None
) -> None:
    conn.execute(
        _T.insert().values(
            id=token_id,
            principal_id=principal_id,
            name=name,
            token_hash=token_hash,
            creation_time=now,
            expires_at=expires_at,
        )
    )


def by_hash(conn: Connection, token_hash: str) -> AccessToken | None:
    row = conn.execute(_select().where(_T.c.token_hash == token_hash)).first()
    return _entity(row) if row else None


def get(conn: Connection, token_id: str) -> AccessToken | None:
    row = conn.execute(_select().where(_T.c.id == token_id)).first()
    return _entity(row) if row else None


def list_tokens(conn: Connection, principal_id: int | None = None) -> list[AccessToken]:
    stmt = _select().order_by(_T.c.creation_time, _T.c.id)
    if principal_id is not None:
        stmt = stmt.where(_T.c.principal_id == principal_id)
    return [_entity(r) for r in conn.execute(stmt)]


def revoke(conn: Connection, token_id: str, now: int) -> bool:
    result = conn.execute(update(_T).where(_T.c.id == token_id, _T.c.revoked_at.is_(None)).values(revoked_at=now))
    return bool(result.rowcount)


def touch(conn: Connection, token_id: str, now: int) -> None:
    conn.execute(update(_T).where(_T.c.id == token_id).values(last_used_at=now))
