"""Audit log rows: append, read (filtered, newest first, paged by id), and purge past retention."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from runyard.domain.identity import AuditEvent
from runyard.store import schema

_A = schema.audit_events


def append(
    conn: Connection,
    *,
    time: int,
    actor: str | None,
    source: str | None,
    action: str,
    resource: str | None,
    outcome: str,
    detail: str | None,
) -> None:
    conn.execute(
        _A.insert().values(
            time=time, actor=actor, source=source, action=action, resource=resource, outcome=outcome, detail=detail
        )
    )


def _entity(row: Any) -> AuditEvent:
    m = row._mapping
    return AuditEvent(
        id=m["id"],
        time=m["time"],
        actor=m["actor"],
        source=m["source"],
        action=m["action"],
        resource=m["resource"],
        outcome=m["outcome"],
        detail=m["detail"],
    )


def query(
    conn: Connection,
    *,
    since: int | None = None,
    until: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Events newest first; `action` matches exactly or, ending in `*`, as a prefix (`user.*`)."""
    stmt = select(_A).order_by(_A.c.id.desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(_A.c.time >= since)
    if until is not None:
        stmt = stmt.where(_A.c.time < until)
    if actor is not None:
        stmt = stmt.where(_A.c.actor == actor)
    if action is not None:
        if action.endswith("*"):
            prefix = action[:-1]
            stmt = stmt.where(_A.c.action.startswith(prefix, autoescape=True))
        else:
            stmt = stmt.where(_A.c.action == action)
    if before_id is not None:
        stmt = stmt.where(_A.c.id < before_id)
    return [_entity(r) for r in conn.execute(stmt)]


def purge_before(conn: Connection, time: int) -> int:
    return int(conn.execute(delete(_A).where(_A.c.time < time)).rowcount)
