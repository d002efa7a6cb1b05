"""Workspace rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from runyard.domain.entities import Workspace
from runyard.store import schema

_W = schema.workspaces


def _to_entity(row: Any) -> Workspace:
    m = row._mapping
    return Workspace(
        id=m["id"],
        name=m["name"],
        description=m["description"],
        naming=m["naming"],
        artifact_root=m["artifact_root"],
        creation_time=m["creation_time"],
        last_update_time=m["last_update_time"],
    )


def get_by_name(conn: Connection, name: str) -> Workspace | None:
    row = conn.execute(select(_W).where(_W.c.name == name)).first()
    return _to_entity(row) if row else None


def list_all(conn: Connection) -> list[Workspace]:
    return [_to_entity(r) for r in conn.execute(select(_W).order_by(_W.c.name))]
