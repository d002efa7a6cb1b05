"""Sampled metric series for charts (`get-history-bulk-interval`) without reading whole series.

A series is the (step, timestamp, value)-ordered points of one run and key, i.e. the primary-key
order of `metrics`. When the series spans more steps than samples are wanted, samples are taken
evenly in step space: each target step is resolved to the first logged step at or after it by an
index seek inside the database, so a 100,000-point series costs about one seek per sample. When
many points share few steps, the evenly spaced positions of the whole series are used instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from runyard.domain.entities import Metric
from runyard.store import fastsql

_RANGE = "run_id = ? AND key_id = ? AND step >= ? AND step <= ?"
_NO_LOWER = -(2**63)
_NO_UPPER = 2**63 - 1


def _value(value: float, is_nan: bool) -> float:
    return float("nan") if is_nan else value


def step_bounds(conn: Connection, pk: int, key_id: int, lo: int | None, hi: int | None) -> tuple[int, int] | None:
    """The smallest and largest logged step in the range (None when the range is empty)."""
    row = fastsql.execute(
        conn,
        f"SELECT MIN(step), MAX(step) FROM metrics WHERE {_RANGE}",
        (pk, key_id, _NO_LOWER if lo is None else lo, _NO_UPPER if hi is None else hi),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0]), int(row[1])


def points_at_steps(conn: Connection, pk: int, key_id: int, targets: Sequence[int], hi: int) -> list[Metric]:
    """For each target step, the first point at the first logged step at or after it (deduplicated);
    at the last logged step `hi`, the last point, so the series' end is kept."""
    if not targets:
        return []
    values = ", ".join("(?)" for _ in targets)
    hits_sql = (
        f"WITH t(s) AS (VALUES {values}) "
        "SELECT DISTINCT (SELECT m.step FROM metrics m WHERE m.run_id = ? AND m.key_id = ? "
        "AND m.step >= t.s AND m.step <= ? ORDER BY m.step LIMIT 1) FROM t"
    )
    hits = sorted(
        {r[0] for r in fastsql.execute(conn, hits_sql, (*targets, pk, key_id, hi)).fetchall() if r[0] is not None}
    )
    if not hits:
        return []
    marks = ", ".join("?" * len(hits))
    rows = fastsql.execute(
        conn,
        "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_id = ? AND key_id = ? "
        f"AND step IN ({marks}) ORDER BY step, timestamp, value",
        (pk, key_id, *hits),
    ).fetchall()
    chosen: dict[int, Metric] = {}
    for step, timestamp, value, is_nan in rows:
        if step not in chosen or step == hi:
            chosen[step] = Metric("", _value(value, is_nan), timestamp, step)
    return [chosen[s] for s in hits if s in chosen]


def count_points(conn: Connection, pk: int, key_id: int, lo: int | None, hi: int | None) -> int:
    row = fastsql.execute(
        conn,
        f"SELECT COUNT(*) FROM metrics WHERE {_RANGE}",
        (pk, key_id, _NO_LOWER if lo is None else lo, _NO_UPPER if hi is None else hi),
    ).fetchone()
    return int(row[0]) if row else 0


def points_at_positions(
    conn: Connection, pk: int, key_id: int, lo: int | None, hi: int | None, positions: Sequence[int]
) -> list[Metric]:
    """The points at the given 0-based positions of the ordered series in the range."""
    if not positions:
        return []
    marks = ", ".join("?" * len(positions))
    sql = (
        "SELECT step, timestamp, value, is_nan FROM ("
        "SELECT step, timestamp, value, is_nan, "
        "ROW_NUMBER() OVER (ORDER BY step, timestamp, value, is_nan) - 1 AS pos "
        f"FROM metrics WHERE {_RANGE}) numbered WHERE pos IN ({marks}) ORDER BY pos"
    )
    params = (pk, key_id, _NO_LOWER if lo is None else lo, _NO_UPPER if hi is None else hi, *positions)
    return [Metric("", _value(v, n), ts, s) for s, ts, v, n in fastsql.execute(conn, sql, params).fetchall()]
