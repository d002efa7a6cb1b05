"""Run rows and their narrow children (tags, params, metric points, latest metrics, inputs, outputs).

Reads are set-based: a page of runs costs one query per child table, whatever the page size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select, update

from runyard.domain.entities import Dataset, DatasetInput, Metric, ModelIO, Run, RunInfo
from runyard.store import fastsql, metric_inbox, schema
from runyard.store.dialect import insert

_R = schema.runs
_E = schema.experiments
_K = schema.keys


@dataclass(frozen=True)
class RunRow:
    """A run as the services see it: its surrogate key, its workspace, and its public info."""

    pk: int
    workspace_id: int
    info: RunInfo


def _info(m: Any) -> RunInfo:
    return RunInfo(
        run_uuid=str(m["run_uuid"]),
        experiment_id=int(m["experiment_id"]),
        run_name=m["name"],
        user_id=m["user_id"],
        status=str(m["status"]),
        start_time=m["start_time"],
        end_time=m["end_time"],
        artifact_uri=str(m["artifact_uri"]),
        lifecycle_stage=str(m["lifecycle_stage"]),
    )


RUN_COLUMNS = (
    _R.c.id,
    _R.c.run_uuid,
    _R.c.experiment_id,
    _R.c.name,
    _R.c.user_id,
    _R.c.status,
    _R.c.start_time,
    _R.c.end_time,
    _R.c.artifact_uri,
    _R.c.lifecycle_stage,
    _E.c.workspace_id,
)


def row_to_run_row(row: Any) -> RunRow:
    m = row._mapping
    return RunRow(pk=int(m["id"]), workspace_id=int(m["workspace_id"]), info=_info(m))


_GET_RUN_SQL = (
    "SELECT r.id, r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, "
    "r.artifact_uri, r.lifecycle_stage, e.workspace_id "
    "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id WHERE r.run_uuid"
)


def get(conn: Connection, run_uuid: str, *, hold: bool = False) -> RunRow | None:
    rows = get_many(conn, [run_uuid], hold=hold)
    return rows[0] if rows else None


def get_many(conn: Connection, run_uuids: Sequence[str], *, hold: bool = False) -> list[RunRow]:
    """The runs with these ids (those that exist), in one statement.

    `hold`: for a write into the runs' tables without a foreign key (metric points): on PostgreSQL
    the run rows are locked against deletion until the transaction ends (`FOR KEY SHARE`, what the
    foreign key check of an insert into `params` takes), so a concurrent deletion of their workspace
    (see `workspace_contents.lock`) waits for this write and deletes its points too, or has
    committed and the runs are not found. SQLite serialises writers: nothing to lock."""
    if not run_uuids:
        return []
    test, params = fastsql.one_of(conn, run_uuids)
    sql = f"{_GET_RUN_SQL} {test}"
    if hold and conn.dialect.name == "postgresql":
        sql += " FOR KEY SHARE OF r"
    out = []
    for pk, uuid_, exp_id, name, user_id, status, start, end, uri, stage, workspace_id in fastsql.execute(
        conn, sql, params
    ).fetchall():
        info = RunInfo(uuid_, exp_id, name, user_id, status, start, end, uri, stage)
        out.append(RunRow(pk=pk, workspace_id=workspace_id, info=info))
    return out


_INSERT_RUN_SQL = (
    "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, "
    "artifact_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert_run(conn: Connection, info: RunInfo) -> int:
    """Insert a run and return its surrogate key."""
    values = (
        info.run_uuid,
        info.experiment_id,
        info.run_name,
        info.user_id,
        info.status,
        info.start_time,
        info.end_time,
        info.lifecycle_stage,
        info.artifact_uri,
    )
    if conn.dialect.name == "sqlite":
        cursor = fastsql.execute(conn, _INSERT_RUN_SQL, values)
        pk = cursor.lastrowid
    else:
        pk = fastsql.execute(conn, _INSERT_RUN_SQL + " RETURNING id", values).fetchone()[0]
    return int(pk)


_UPDATABLE = frozenset({"name", "status", "end_time"})


def update_info(conn: Connection, pk: int, **values: object) -> None:
    """Set a run's name, status and/or end time."""
    if not values:
        return
    unknown = set(values) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable run columns: {sorted(unknown)}")
    columns = sorted(values)
    assignments = ", ".join(f"{c} = ?" for c in columns)
    fastsql.execute(conn, f"UPDATE runs SET {assignments} WHERE id = ?", (*(values[c] for c in columns), pk)).close()


# --- tags -------------------------------------------------------------------------------------


def set_tags(conn: Connection, pk: int, tags: Sequence[tuple[int, str]]) -> None:
    """Upsert (key_id, value) pairs: last write wins."""
    fastsql.insert_rows(
        conn,
        "INSERT INTO run_tags (run_id, key_id, value)",
        [(pk, k, v) for k, v in tags],
        "ON CONFLICT (run_id, key_id) DO UPDATE SET value = excluded.value",
    )


def get_tag(conn: Connection, pk: int, key_id: int, *, lock: bool = False) -> str | None:
    """One tag's value (None if the run has no such tag). `lock`: on PostgreSQL, lock the run's
    row first, so that a read-modify-write of the tag in this transaction is not interleaved."""
    if lock and conn.dialect.name == "postgresql":
        conn.execute(select(_R.c.id).where(_R.c.id == pk).with_for_update())
    t = schema.run_tags
    value = conn.execute(select(t.c.value).where(t.c.run_id == pk, t.c.key_id == key_id)).scalar()
    return None if value is None else str(value)


def delete_tag(conn: Connection, pk: int, key_id: int) -> int:
    t = schema.run_tags
    return conn.execute(delete(t).where(t.c.run_id == pk, t.c.key_id == key_id)).rowcount


def find_by_tags(conn: Connection, workspace_id: int, tags: Sequence[tuple[int, str]]) -> RunRow | None:
    """The oldest run of the workspace carrying every one of these (key_id, value) tags, or None.

    Not indexed by tag value (a scan of the workspace's runs with a primary-key probe per tag): for
    rare look-ups only, such as a mirrored run whose source id was taken (`services.mirror_import`)."""
    t = schema.run_tags
    query = select(*RUN_COLUMNS).select_from(_R.join(_E, _E.c.experiment_id == _R.c.experiment_id))
    query = query.where(_E.c.workspace_id == workspace_id)
    for key_id, value in tags:
        query = query.where(
            select(t.c.run_id).where(t.c.run_id == _R.c.id, t.c.key_id == key_id, t.c.value == value).exists()
        )
    row = conn.execute(query.order_by(_R.c.id).limit(1)).first()
    return row_to_run_row(row) if row else None


# --- params -----------------------------------------------------------------------------------


def insert_params(conn: Connection, pk: int, params: Sequence[tuple[int, str]]) -> dict[int, str]:
    """Insert params that are new; return the stored value of every given key (old or new)."""
    if not params:
        return {}
    fastsql.insert_rows(
        conn,
        "INSERT INTO params (run_id, key_id, value)",
        [(pk, k, v) for k, v in params],
        "ON CONFLICT (run_id, key_id) DO NOTHING",
    )
    test, key_ids = fastsql.one_of(conn, [k for k, _ in params])
    rows = fastsql.execute(conn, f"SELECT key_id, value FROM params WHERE run_id = ? AND key_id {test}", (pk, *key_ids))
    return {k: v for k, v in rows}


# --- metrics ----------------------------------------------------------------------------------


_INSERT_POINTS = "INSERT INTO metrics (run_id, key_id, step, timestamp, value, is_nan)"
_POINTS_CONFLICT = "ON CONFLICT (run_id, key_id, step, timestamp, value, is_nan) DO NOTHING"
_LATEST_POINT = ("step", "timestamp", "value", "is_nan")
_UPSERT_LATEST = "INSERT INTO latest_metrics (run_id, key_id, step, timestamp, value, is_nan, stale_from)"
# The newest point per key wins by (step, timestamp, value), as in the reference store; the series'
# rollups are out of date from the lowest step written (`store.metric_rollups`).
_NEWER = (
    "(excluded.step, excluded.timestamp, excluded.value) > "
    "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)"
)
_LATEST_CONFLICT = (
    "ON CONFLICT (run_id, key_id) DO UPDATE SET "
    + ", ".join(f"{c} = CASE WHEN {_NEWER} THEN excluded.{c} ELSE latest_metrics.{c} END" for c in _LATEST_POINT)
    + ", stale_from = CASE WHEN latest_metrics.stale_from <= excluded.stale_from "
    "THEN latest_metrics.stale_from ELSE excluded.stale_from END"
)


@dataclass
class PreparedPoints:
    """Metric points laid out as statement parameters before the write transaction begins.

    Building the rows is pure Python work; doing it before the (single, serialised) SQLite write
    lock is taken keeps that lock's holder short. The run's surrogate key is only known inside the
    transaction: `insert_points` writes it into the run_id slots.
    """

    points: list[Any]  # (run_id, key_id, step, timestamp, value, is_nan) per point, run_id 0
    latest: list[Any]  # the same layout, the newest point per key
    lowest: dict[int, int] = field(default_factory=dict)  # key_id -> the lowest step of its points

    @property
    def count(self) -> int:
        return len(self.points) // _POINT_COLUMNS


_POINT_COLUMNS = 6
_POINT_PG_TYPES = ("integer", "integer", "bigint", "bigint", "double precision", "boolean")
# A latest_metrics row: a point's columns, then stale_from.
_LATEST_COLUMNS = _POINT_COLUMNS + 1
_ALL_STALE = -(2**63)
_LATEST_PG_TYPES = (*_POINT_PG_TYPES, "bigint")


def prepare_points(points: Iterable[tuple[Any, ...]], key_ids: dict[str, int]) -> PreparedPoints:
    """Lay out (key, value, timestamp, step, ...) points with their keys' ids.

    NaN is stored as 0 with is_nan set.
    """
    flat: list[Any] = []
    append = flat.extend
    latest: dict[int, tuple[int, int, float, bool]] = {}
    for key, value, timestamp, step, *_ in points:
        key_id = key_ids[key]
        is_nan = value != value
        stored = 0.0 if is_nan else value
        append((0, key_id, step, timestamp, stored, is_nan))
        current = latest.get(key_id)
        if current is None or (step, timestamp, stored) > current[:3]:
            latest[key_id] = (step, timestamp, stored, is_nan)
    newest = [value for key_id, row in latest.items() for value in (0, key_id, *row)]
    return PreparedPoints(flat, newest, _lowest_steps(flat, latest))


def _lowest_steps(flat: list[Any], keys: dict[int, Any]) -> dict[int, int]:
    """The lowest step of each key's points in `flat` (the layout of `PreparedPoints.points`)."""
    if len(keys) == 1:
        return {key_id: min(flat[2::_POINT_COLUMNS]) for key_id in keys}
    lowest: dict[int, int] = {}
    get = lowest.get
    for key_id, step in zip(flat[1::_POINT_COLUMNS], flat[2::_POINT_COLUMNS], strict=True):
        low = get(key_id)
        if low is None or step < low:
            lowest[key_id] = step
    return lowest


def insert_points(conn: Connection, pk: int, prepared: PreparedPoints) -> None:
    """Append the points to run `pk` (an identical replayed point is ignored); advance latest_metrics."""
    insert_points_of_runs(conn, [(pk, prepared)])


def insert_points_of_runs(
    conn: Connection, batches: Sequence[tuple[int, PreparedPoints]], *, to_inbox: bool = False
) -> None:
    """`insert_points` for several runs' batches at once: one multi-row statement per table and chunk.

    `to_inbox`: append the points to `metric_inbox` rather than `metrics` (SQLite's point writer).
    """
    points: list[Any] = []
    newest: dict[tuple[int, int], tuple[int, int, float, bool]] = {}
    lowest: dict[tuple[int, int], int] = {}
    for pk, prepared in batches:
        values = prepared.points
        values[0::_POINT_COLUMNS] = [pk] * (len(values) // _POINT_COLUMNS)
        points += values
        top = prepared.latest
        for i in range(0, len(top), _POINT_COLUMNS):
            series, row = (pk, top[i + 1]), (top[i + 2], top[i + 3], top[i + 4], top[i + 5])
            current = newest.get(series)
            if current is None or row[:3] > current[:3]:
                newest[series] = row
            # A batch that does not know its lowest steps marks the whole series stale.
            low = prepared.lowest.get(top[i + 1], _ALL_STALE)
            if series not in lowest or low < lowest[series]:
                lowest[series] = low
    # One row per series (PostgreSQL refuses to update a row twice in one statement), in key order,
    # so that concurrent transactions lock latest_metrics rows in the same order and cannot deadlock.
    latest = [value for series, row in sorted(newest.items()) for value in (*series, *row, lowest[series])]
    if to_inbox:
        metric_inbox.append(conn, _POINT_COLUMNS, points)
    else:
        fastsql.insert_flat(conn, _INSERT_POINTS, _POINT_COLUMNS, points, _POINTS_CONFLICT, pg_types=_POINT_PG_TYPES)
    fastsql.insert_flat(conn, _UPSERT_LATEST, _LATEST_COLUMNS, latest, _LATEST_CONFLICT, pg_types=_LATEST_PG_TYPES)


def _metric_value(value: float, is_nan: bool) -> float:
    return math.nan if is_nan else value


# --- inputs / outputs -------------------------------------------------------------------------


def upsert_dataset(conn: Connection, experiment_id: int, ds: Dataset) -> int:
    d = schema.datasets
    conn.execute(
        insert(conn, d).on_conflict_do_nothing(),
        [
            {
                "experiment_id": experiment_id,
                "name": ds.name,
                "digest": ds.digest,
                "source_type": ds.source_type,
                "source": ds.source,
                "schema": ds.schema,
                "profile": ds.profile,
            }
        ],
    )
    return int(
        conn.execute(
            select(d.c.id).where(d.c.experiment_id == experiment_id, d.c.name == ds.name, d.c.digest == ds.digest)
        ).scalar_one()
    )


def link_dataset(
    conn: Connection, pk: int, dataset_id: int, tags: Sequence[tuple[str, str]], context: str | None
) -> None:
    di = schema.dataset_inputs
    conn.execute(
        insert(conn, di).on_conflict_do_nothing(),
        [
            {
                "run_id": pk,
                "dataset_id": dataset_id,
                # Sorted by key: the order the reference answers them in (its input_tags key).
                "tags": json.dumps([{"key": k, "value": v} for k, v in sorted(tags)]),
                "context": context,
            }
        ],
    )


def link_models(conn: Connection, pk: int, direction: str, models: Sequence[ModelIO]) -> None:
    if not models:
        return
    rm = schema.run_models
    conn.execute(
        insert(conn, rm).on_conflict_do_nothing(),
        [{"run_id": pk, "model_id": m.model_id, "direction": direction, "step": m.step} for m in models],
    )


# --- whole runs -------------------------------------------------------------------------------


def _chunks(values: Sequence[int], size: int = 5000) -> list[Sequence[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _rows_for(conn: Connection, sql: str, pks: Sequence[int]) -> list[Any]:
    """Run `sql` (with one `{ids}` membership slot, see `fastsql.one_of`) over `pks` in chunks; rows in chunk order."""
    out: list[Any] = []
    for chunk in _chunks(pks):
        test, params = fastsql.one_of(conn, chunk)
        out.extend(fastsql.execute(conn, sql.format(ids=test), params).fetchall())
    return out


_LATEST_SQL = (
    "SELECT lm.run_id, k.name, lm.step, lm.timestamp, lm.value, lm.is_nan FROM latest_metrics lm "
    "JOIN keys k ON k.key_id = lm.key_id WHERE lm.run_id {ids} ORDER BY lm.run_id, lm.key_id"
)
_PARAMS_SQL = (
    "SELECT p.run_id, k.name, p.value FROM params p JOIN keys k ON k.key_id = p.key_id "
    "WHERE p.run_id {ids} ORDER BY p.run_id, p.key_id"
)
_TAGS_SQL = (
    "SELECT t.run_id, k.name, t.value FROM run_tags t JOIN keys k ON k.key_id = t.key_id "
    "WHERE t.run_id {ids} ORDER BY t.run_id, t.key_id"
)
_INPUTS_SQL = (
    "SELECT di.run_id, di.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile "
    "FROM dataset_inputs di JOIN datasets d ON d.id = di.dataset_id "
    "WHERE di.run_id {ids} ORDER BY di.run_id, di.dataset_id"
)
_MODELS_SQL = "SELECT run_id, model_id, direction, step FROM run_models WHERE run_id {ids} ORDER BY run_id, model_id"


def load_runs(conn: Connection, rows: Sequence[RunRow]) -> list[Run]:
    """Attach metrics (latest), params, tags, inputs and outputs to runs: one query per child table."""
    runs = {r.pk: Run(info=r.info) for r in rows}
    if not runs:
        return []
    pks = list(runs)

    for run_id, name, step, ts, value, is_nan in _rows_for(conn, _LATEST_SQL, pks):
        runs[run_id].metrics.append(Metric(name, _metric_value(value, is_nan), ts, step))
    for run_id, name, value in _rows_for(conn, _PARAMS_SQL, pks):
        runs[run_id].params.append((name, value))
    for run_id, name, value in _rows_for(conn, _TAGS_SQL, pks):
        runs[run_id].tags.append((name, value))
    for run_id, tags_json, name, digest, source_type, source, ds_schema, profile in _rows_for(conn, _INPUTS_SQL, pks):
        tags = [(t["key"], t["value"]) for t in json.loads(tags_json)]
        runs[run_id].dataset_inputs.append(
            DatasetInput(Dataset(name, digest, source_type, source, ds_schema, profile), tags)
        )
    for run_id, model_id, direction, step in _rows_for(conn, _MODELS_SQL, pks):
        io = ModelIO(model_id, step)
        (runs[run_id].model_inputs if direction == "input" else runs[run_id].model_outputs).append(io)
    return [runs[r.pk] for r in rows]


def set_lifecycle(conn: Connection, pk: int, stage: str, deleted_time: int | None) -> None:
    conn.execute(update(_R).where(_R.c.id == pk).values(lifecycle_stage=stage, deleted_time=deleted_time))


def set_lifecycle_for_experiment(conn: Connection, experiment_id: int, stage: str, now: int) -> None:
    deleted_time = now if stage == "deleted" else None
    conn.execute(
        update(_R).where(_R.c.experiment_id == experiment_id).values(lifecycle_stage=stage, deleted_time=deleted_time)
    )
