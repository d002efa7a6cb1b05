"""What the replicator reads from the source workspace: its experiments, runs and logged models in a
stable order (the back-fill walks them by position), a run's whole metric history in bounded pages,
and key names by id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from runyard.store import fastsql, schema

_E = schema.experiments
_R = schema.runs
_LM = schema.logged_models


def experiment_ids(conn: Connection, workspace_id: int) -> list[int]:
    query = select(_E.c.experiment_id).where(_E.c.workspace_id == workspace_id).order_by(_E.c.experiment_id)
    rows = conn.execute(query)
    return [int(r[0]) for r in rows]


def run_ids(conn: Connection, workspace_id: int) -> list[str]:
    """Every run of the workspace, oldest first (parents before the children they started)."""
    query = (
        select(_R.c.run_uuid)
        .join(_E, _E.c.experiment_id == _R.c.experiment_id)
        .where(_E.c.workspace_id == workspace_id)
        .order_by(_R.c.id)
    )
    return [str(r[0]) for r in conn.execute(query)]


def model_ids(conn: Connection, workspace_id: int) -> list[str]:
    query = (
        select(_LM.c.model_id)
        .join(_E, _E.c.experiment_id == _LM.c.experiment_id)
        .where(_E.c.workspace_id == workspace_id)
        .order_by(_LM.c.id)
    )
    return [str(r[0]) for r in conn.execute(query)]


_POINTS_PAGE = (
    "SELECT key_id, step, timestamp, value, is_nan FROM ("
    " SELECT key_id, step, timestamp, value, is_nan FROM metrics WHERE run_id = ?"
    " UNION SELECT key_id, step, timestamp, value, is_nan FROM metric_inbox WHERE run_id = ?"
    ") AS points WHERE (key_id, step, timestamp, value, is_nan) > (?, ?, ?, ?, ?)"
    " ORDER BY key_id, step, timestamp, value, is_nan LIMIT ?"
)


def points_page(
    conn: Connection, run_pk: int, after: tuple[int, int, int, float, bool] | None, limit: int
) -> list[tuple[int, int, int, float, bool]]:
    """Up to `limit` points of run `run_pk` (key id, step, timestamp, value, is_nan) after `after`
    in (key, step, timestamp, value) order — the committed points, whether moved out of SQLite's
    inbox yet or not. Identical points collapse."""
    start = after if after is not None else (-(2**62), -(2**62), -(2**62), float("-inf"), False)
    rows = fastsql.execute(conn, _POINTS_PAGE, (run_pk, run_pk, *start, limit)).fetchall()
    return [(int(k), int(s), int(t), float(v), bool(n)) for k, s, t, v, n in rows]


def key_names(conn: Connection, key_ids: Sequence[int]) -> dict[int, str]:
    if not key_ids:
        return {}
    condition, params = fastsql.one_of(conn, list(set(key_ids)))
    rows = fastsql.execute(conn, f"SELECT key_id, name FROM keys WHERE key_id {condition}", params).fetchall()
    return {int(k): str(n) for k, n in rows}
