"""Dual tracking's tables: mirror links, the transactional outbox, parked entries, the source → target
id map and the replicator's lease.

The outbox is written inside the transaction of the write it records (`append`), and only for a
workspace that has a link (`linked`: one index probe); everything else here belongs to the
replicator and the link administration, off the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from runyard.store import fastsql, schema

L = schema.mirror_links
O = schema.mirror_outbox  # noqa: E741
P = schema.mirror_parked
M = schema.mirror_objects


@dataclass(frozen=True)
class LinkRow:
    id: int
    workspace_id: int
    name: str
    target_url: str
    target_workspace: str | None
    auth_kind: str
    secret: str | None
    experiments_filter: str | None
    paused: bool
    creation_time: int
    created_by: str | None
    cursor: int
    backfill: str
    backfill_runs: int
    backfill_models: int
    backfill_total: int
    backfill_done: int
    last_error: str | None
    last_error_time: int | None
    failing_since: int | None
    last_success_time: int | None
    sent_items: int
    sent_runs: int
    sent_points: int
    sent_bytes: int


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    kind: str
    entity: str
    detail: str | None
    payload: bytes | None
    creation_time: int


@dataclass(frozen=True)
class ParkedEntry:
    id: int
    seq: int
    kind: str
    entity: str
    detail: str | None
    payload: bytes | None
    creation_time: int
    parked_time: int
    error: str
    retry: bool


def _link(row: Any) -> LinkRow:
    return LinkRow(**{c.name: row._mapping[c.name] for c in L.columns})


# --- the hot path: recording -------------------------------------------------------------------

_LINKED = "SELECT 1 FROM mirror_links WHERE workspace_id = ? LIMIT 1"
_APPEND = (
    "INSERT INTO mirror_outbox (workspace_id, kind, entity, detail, payload, creation_time) VALUES (?, ?, ?, ?, ?, ?)"
)


def linked(conn: Connection, workspace_id: int) -> bool:
    """Whether the workspace has any mirror link (paused ones included: they catch up later)."""
    return fastsql.execute(conn, _LINKED, (workspace_id,)).fetchone() is not None


def append(conn: Connection, rows: Sequence[tuple[int, str, str, str | None, bytes | None, int]]) -> None:
    """Outbox entries (workspace_id, kind, entity, detail, payload, time), in the caller's transaction."""
    if rows:
        cursor = fastsql.driver_cursor(conn)
        cursor.executemany(fastsql._for_dialect(_APPEND, conn.dialect.paramstyle), list(rows))
        cursor.close()


# --- links -------------------------------------------------------------------------------------


def insert_link(conn: Connection, **values: object) -> int:
    return int(conn.execute(insert(L).values(**values).returning(L.c.id)).scalar_one())


def links_of(conn: Connection, workspace_id: int) -> list[LinkRow]:
    rows = conn.execute(select(L).where(L.c.workspace_id == workspace_id).order_by(L.c.name))
    return [_link(r) for r in rows]


def all_links(conn: Connection) -> list[LinkRow]:
    return [_link(r) for r in conn.execute(select(L).order_by(L.c.id))]


def link(conn: Connection, link_id: int) -> LinkRow | None:
    row = conn.execute(select(L).where(L.c.id == link_id)).first()
    return _link(row) if row is not None else None


def link_named(conn: Connection, workspace_id: int, name: str) -> LinkRow | None:
    row = conn.execute(select(L).where(L.c.workspace_id == workspace_id, L.c.name == name)).first()
    return _link(row) if row is not None else None


def update_link(conn: Connection, link_id: int, **values: object) -> None:
    conn.execute(update(L).where(L.c.id == link_id).values(**values))


def add_counters(conn: Connection, link_id: int, *, items: int, runs: int, points: int, size: int, now: int) -> None:
    conn.execute(
        update(L)
        .where(L.c.id == link_id)
        .values(
            sent_items=L.c.sent_items + items,
            sent_runs=L.c.sent_runs + runs,
            sent_points=L.c.sent_points + points,
            sent_bytes=L.c.sent_bytes + size,
            last_success_time=now,
        )
    )


def delete_link(conn: Connection, link_id: int) -> None:
    conn.execute(delete(P).where(P.c.link_id == link_id))
    conn.execute(delete(M).where(M.c.link_id == link_id))
    conn.execute(delete(L).where(L.c.id == link_id))


def delete_links_of(conn: Connection, workspace_id: int) -> None:
    """Every link of a workspace being deleted, with its outbox."""
    for row in links_of(conn, workspace_id):
        delete_link(conn, row.id)
    conn.execute(delete(O).where(O.c.workspace_id == workspace_id))


# --- the outbox, read by the replicator --------------------------------------------------------


def entries_after(conn: Connection, workspace_id: int, cursor: int, limit: int) -> list[OutboxEntry]:
    rows = conn.execute(
        select(O.c.seq, O.c.kind, O.c.entity, O.c.detail, O.c.payload, O.c.creation_time)
        .where(O.c.workspace_id == workspace_id, O.c.seq > cursor)
        .order_by(O.c.seq)
        .limit(limit)
    )
    return [OutboxEntry(r.seq, r.kind, r.entity, r.detail, r.payload, r.creation_time) for r in rows]


def last_seq(conn: Connection, workspace_id: int) -> int:
    """The newest outbox entry of the workspace (0: none)."""
    value = conn.execute(select(func.max(O.c.seq)).where(O.c.workspace_id == workspace_id)).scalar_one()
    return int(value or 0)


def pending(conn: Connection, workspace_id: int, cursor: int) -> tuple[int, int | None]:
    """How many entries wait after `cursor`, and when the oldest of them was written."""
    row = conn.execute(
        select(func.count(), func.min(O.c.creation_time)).where(O.c.workspace_id == workspace_id, O.c.seq > cursor)
    ).one()
    return int(row[0]), (int(row[1]) if row[1] is not None else None)


def trim(conn: Connection, workspace_id: int) -> int:
    """Delete the entries every link of the workspace has passed; returns how many went."""
    cursors = [r.cursor for r in links_of(conn, workspace_id)]
    condition = O.c.workspace_id == workspace_id
    if cursors:
        condition = and_(condition, O.c.seq <= min(cursors))
    return int(conn.execute(delete(O).where(condition)).rowcount or 0)


# --- parked entries ----------------------------------------------------------------------------


def park(conn: Connection, link_id: int, entry: OutboxEntry, error: str, now: int) -> None:
    """Keep a refused entry with its error; an entry parked already (a pass repeated after a crash
    or a transient failure before its cursor was saved) is only given the newer error."""
    same = and_(
        P.c.link_id == link_id,
        P.c.seq == entry.seq,
        P.c.kind == entry.kind,
        P.c.entity == entry.entity,
        P.c.detail.is_(None) if entry.detail is None else P.c.detail == entry.detail,
    )
    if conn.execute(update(P).where(same).values(error=error[:2000], parked_time=now)).rowcount:
        return
    conn.execute(
        insert(P).values(
            link_id=link_id,
            seq=entry.seq,
            kind=entry.kind,
            entity=entry.entity,
            detail=entry.detail,
            payload=entry.payload,
            creation_time=entry.creation_time,
            parked_time=now,
            error=error[:2000],
            retry=False,
        )
    )


def parked(conn: Connection, link_id: int, *, retry_only: bool = False, limit: int = 1000) -> list[ParkedEntry]:
    query = select(P).where(P.c.link_id == link_id)
    if retry_only:
        query = query.where(P.c.retry.is_(True))
    rows = conn.execute(query.order_by(P.c.id).limit(limit))
    return [
        ParkedEntry(
            r.id, r.seq, r.kind, r.entity, r.detail, r.payload, r.creation_time, r.parked_time, r.error, bool(r.retry)
        )
        for r in rows
    ]


def parked_count(conn: Connection, link_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(P).where(P.c.link_id == link_id)).scalar_one())


def request_retry(conn: Connection, link_id: int) -> int:
    """Mark every parked entry of the link for another attempt; returns how many."""
    return int(conn.execute(update(P).where(P.c.link_id == link_id).values(retry=True)).rowcount or 0)


def unpark(conn: Connection, parked_id: int) -> None:
    conn.execute(delete(P).where(P.c.id == parked_id))


def repark(conn: Connection, parked_id: int, error: str, now: int) -> None:
    conn.execute(update(P).where(P.c.id == parked_id).values(retry=False, error=error[:2000], parked_time=now))


# --- source → target ids -----------------------------------------------------------------------


def target_of(conn: Connection, link_id: int, kind: str, source_id: str) -> tuple[str, str | None] | None:
    """(target id, sent-state digest) of a mirrored object, or None before it was mirrored."""
    where = (M.c.link_id == link_id, M.c.kind == kind, M.c.source_id == source_id)
    row = conn.execute(select(M.c.target_id, M.c.sent_state).where(*where)).first()
    return (str(row[0]), row[1]) if row is not None else None


def remember(conn: Connection, link_id: int, kind: str, source_id: str, target_id: str, sent_state: str | None) -> None:
    """Record (or update) where a source object lives on the link's target."""
    existing = target_of(conn, link_id, kind, source_id)
    if existing is None:
        conn.execute(
            insert(M).values(
                link_id=link_id, kind=kind, source_id=source_id, target_id=target_id, sent_state=sent_state
            )
        )
    else:
        conn.execute(
            update(M)
            .where(M.c.link_id == link_id, M.c.kind == kind, M.c.source_id == source_id)
            .values(target_id=target_id, sent_state=sent_state)
        )


def mapped_count(conn: Connection, link_id: int, kind: str) -> int:
    return int(
        conn.execute(select(func.count()).select_from(M).where(M.c.link_id == link_id, M.c.kind == kind)).scalar_one()
    )


# --- the replicator's lease --------------------------------------------------------------------

_LEASES = schema.mirror_leases


def take_lease(conn: Connection, name: str, holder: str, now: int, ttl_ms: int) -> bool:
    """Hold (or renew) lease `name` until now + ttl if it is free, expired, or already ours."""
    row = conn.execute(select(_LEASES.c.holder, _LEASES.c.expires_at).where(_LEASES.c.name == name)).first()
    if row is None:
        conn.execute(insert(_LEASES).values(name=name, holder=holder, expires_at=now + ttl_ms))
        return True
    if row.holder != holder and row.expires_at > now:
        return False
    result = conn.execute(
        update(_LEASES)
        .where(_LEASES.c.name == name, _LEASES.c.holder == row.holder, _LEASES.c.expires_at == row.expires_at)
        .values(holder=holder, expires_at=now + ttl_ms)
    )
    return bool(result.rowcount)


def release_lease(conn: Connection, name: str, holder: str) -> None:
    conn.execute(delete(_LEASES).where(_LEASES.c.name == name, _LEASES.c.holder == holder))
