"""Experiment rows and their tags: insert, fetch, rename, lifecycle, search."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, delete, func, select, update

from runyard.domain.entities import Experiment
from runyard.store import fastsql, schema
from runyard.store.dialect import insert

_E = schema.experiments
_T = schema.experiment_tags
_W = schema.workspaces
# The columns the access rule reads for a listed experiment (`store.identity.access_sql`).
ID_COLUMN = _E.c.experiment_id
NAME_COLUMN = _E.c.name


def _select() -> Select[Any]:
    return select(_E, _W.c.name.label("workspace_name")).join(_W, _W.c.id == _E.c.workspace_id)


def _attach_tags(conn: Connection, rows: Sequence[Any]) -> list[Experiment]:
    ids = [r._mapping["experiment_id"] for r in rows]
    tags: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if ids:
        for exp_id, key, value in conn.execute(
            select(_T.c.experiment_id, _T.c.key, _T.c.value).where(_T.c.experiment_id.in_(ids))
        ):
            tags[exp_id].append((key, value))
    result = []
    for r in rows:
        m = r._mapping
        result.append(
            Experiment(
                experiment_id=m["experiment_id"],
                name=m["name"],
                artifact_location=m["artifact_location"],
                lifecycle_stage=m["lifecycle_stage"],
                creation_time=m["creation_time"],
                last_update_time=m["last_update_time"],
                workspace=m["workspace_name"],
                tags=tags[m["experiment_id"]],
            )
        )
    return result


_GET_SQL = (
    "SELECT e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, "
    "e.last_update_time, w.name FROM experiments e JOIN workspaces w ON w.id = e.workspace_id "
    "WHERE e.experiment_id = ? AND e.workspace_id = ?"
)


def get(conn: Connection, workspace_id: int, experiment_id: int) -> Experiment | None:
    """One experiment with its tags (plain SQL: every run creation and run search looks one up)."""
    row = fastsql.execute(conn, _GET_SQL, (experiment_id, workspace_id)).fetchone()
    if row is None:
        return None
    exp_id, name, location, stage, created, updated, workspace = row
    tags = fastsql.execute(conn, "SELECT key, value FROM experiment_tags WHERE experiment_id = ?", (exp_id,))
    return Experiment(
        experiment_id=exp_id,
        name=name,
        artifact_location=location,
        lifecycle_stage=stage,
        creation_time=created,
        last_update_time=updated,
        workspace=workspace,
        tags=[(k, v) for k, v in tags.fetchall()],
    )


def get_by_name(conn: Connection, workspace_id: int, name: str) -> Experiment | None:
    rows = conn.execute(_select().where(_E.c.name == name, _E.c.workspace_id == workspace_id)).all()
    found = _attach_tags(conn, rows)
    return found[0] if found else None


def name_taken(conn: Connection, workspace_id: int, name: str) -> bool:
    stmt = select(func.count()).select_from(_E).where(_E.c.workspace_id == workspace_id, _E.c.name == name)
    return bool(conn.execute(stmt).scalar_one())


def insert_experiment(conn: Connection, workspace_id: int, name: str, artifact_location: str | None, now: int) -> int:
    """Insert and return the new id; `artifact_location=None` derives `mlflow-artifacts:/<id>`."""
    result = conn.execute(
        _E.insert().values(
            workspace_id=workspace_id,
            name=name,
            artifact_location=artifact_location or "",
            lifecycle_stage="active",
            creation_time=now,
            last_update_time=now,
        )
    )
    experiment_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    if artifact_location is None:
        conn.execute(
            update(_E)
            .where(_E.c.experiment_id == experiment_id)
            .values(artifact_location=f"mlflow-artifacts:/{experiment_id}")
        )
    return experiment_id


def workspaces_with_location(conn: Connection, locations: Sequence[str]) -> set[int]:
    """The workspaces having an experiment (in any lifecycle stage) whose `artifact_location` is one of
    `locations`."""
    if not locations:
        return set()
    stmt = select(_E.c.workspace_id).where(_E.c.artifact_location.in_(list(locations))).distinct()
    return {row[0] for row in conn.execute(stmt)}


def at_locations(conn: Connection, workspace_id: int, locations: Sequence[str]) -> list[tuple[int, str, str]]:
    """(experiment_id, name, artifact_location) of the workspace's experiments located at one of `locations`."""
    if not locations:
        return []
    stmt = select(_E.c.experiment_id, _E.c.name, _E.c.artifact_location).where(
        _E.c.workspace_id == workspace_id, _E.c.artifact_location.in_(list(locations))
    )
    return [(int(r[0]), str(r[1]), str(r[2])) for r in conn.execute(stmt)]


def set_tags(conn: Connection, experiment_id: int, tags: Sequence[tuple[str, str]]) -> None:
    if not tags:
        return
    stmt = insert(conn, _T)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_T.c.experiment_id, _T.c.key], set_={"value": stmt.excluded.value}
    )
    conn.execute(stmt, [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in tags])


def delete_tag(conn: Connection, experiment_id: int, key: str) -> int:
    return conn.execute(delete(_T).where(_T.c.experiment_id == experiment_id, _T.c.key == key)).rowcount


def rename(conn: Connection, experiment_id: int, new_name: str, now: int) -> None:
    conn.execute(update(_E).where(_E.c.experiment_id == experiment_id).values(name=new_name, last_update_time=now))


def set_lifecycle(conn: Connection, experiment_id: int, stage: str, now: int) -> None:
    conn.execute(
        update(_E).where(_E.c.experiment_id == experiment_id).values(lifecycle_stage=stage, last_update_time=now)
    )


def touch(conn: Connection, experiment_id: int, now: int) -> None:
    conn.execute(update(_E).where(_E.c.experiment_id == experiment_id).values(last_update_time=now))


def fetch_page(conn: Connection, stmt: Select[Any]) -> list[Experiment]:
    """Run a search statement built by `store.search` and attach tags to the page."""
    return _attach_tags(conn, conn.execute(stmt).all())


def base_query(workspace_id: int, stages: Sequence[str]) -> Select[Any]:
    return _select().where(_E.c.workspace_id == workspace_id, _E.c.lifecycle_stage.in_(stages))
