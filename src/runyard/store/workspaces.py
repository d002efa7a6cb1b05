"""Workspace rows: lookup, create, update, delete, and what each workspace still holds."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from runyard.domain.entities import Workspace
from runyard.store import schema

_W = schema.workspaces


def _to_entity(row: Any) -> Workspace:
    m = row._mapping
    roots = tuple(json.loads(m["path_roots"])) if m["path_roots"] else ()
    return Workspace(
        id=m["id"],
        name=m["name"],
        description=m["description"],
        naming=m["naming"],
        artifact_root=m["artifact_root"],
        creation_time=m["creation_time"],
        last_update_time=m["last_update_time"],
        path_roots=roots,
    )


def get_by_name(conn: Connection, name: str) -> Workspace | None:
    row = conn.execute(select(_W).where(_W.c.name == name)).first()
    return _to_entity(row) if row else None


def get(conn: Connection, workspace_id: int) -> Workspace | None:
    row = conn.execute(select(_W).where(_W.c.id == workspace_id)).first()
    return _to_entity(row) if row is not None else None


def list_all(conn: Connection) -> list[Workspace]:
    return [_to_entity(r) for r in conn.execute(select(_W).order_by(_W.c.name))]


def list_among(conn: Connection, member_ids: Any, always: str) -> list[Workspace]:
    """The workspaces whose id is in the subquery `member_ids`, and the one named `always`."""
    stmt = select(_W).where(or_(_W.c.id.in_(member_ids), _W.c.name == always)).order_by(_W.c.name)
    return [_to_entity(r) for r in conn.execute(stmt)]


def insert(
    conn: Connection,
    *,
    name: str,
    description: str | None,
    naming: str,
    artifact_root: str | None,
    path_roots: tuple[str, ...],
    now: int,
) -> None:
    conn.execute(
        _W.insert().values(
            name=name,
            description=description,
            naming=naming,
            artifact_root=artifact_root,
            path_roots=json.dumps(list(path_roots)) if path_roots else None,
            creation_time=now,
            last_update_time=now,
        )
    )


def update_fields(conn: Connection, workspace_id: int, now: int, **values: object) -> None:
    conn.execute(update(_W).where(_W.c.id == workspace_id).values(last_update_time=now, **values))


def count_experiments(conn: Connection, workspace_id: int) -> int:
    e = schema.experiments
    return int(conn.execute(select(func.count()).select_from(e).where(e.c.workspace_id == workspace_id)).scalar_one())


def delete_row(conn: Connection, workspace_id: int) -> None:
    conn.execute(_W.delete().where(_W.c.id == workspace_id))


def exists(conn: Connection, workspace_id: int, *, hold: bool = False) -> bool:
    """Whether the workspace row is still there (a primary-key probe). `hold`: on PostgreSQL, lock
    the row against deletion until the transaction ends (`FOR KEY SHARE`; SQLite's writers are
    serialised anyway)."""
    stmt = select(_W.c.id).where(_W.c.id == workspace_id)
    if hold and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=True, key_share=True)
    return conn.execute(stmt).first() is not None
