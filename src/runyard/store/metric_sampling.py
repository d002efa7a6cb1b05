"""Sampled metric series for charts (`get-history-bulk-interval`) without reading whole series.

A series is the (step, timestamp, value)-ordered points of one run and key, i.e. the primary-key
order of `metrics`. When the series spans more steps than samples are wanted, samples are taken
evenly in step space: each target step is resolved to the first logged step at or after it by an
index seek inside the database, so a 100,000-point series costs about one seek per sample. When
many points share few steps, the evenly spaced positions of the whole series are used instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from runyard.domain.entities import Metric
from runyard.store import fastsql

_RANGE = "run_id = ? AND key_id = ? AND step >= ? AND step <= ?"
_NO_LOWER = -(2**63)
_NO_UPPER = 2**63 - 1


def _value(value: float, is_nan: bool) -> float:
    return float("nan") if is_nan else value


def step_bounds(conn: Connection, pk: int, key_id: int, lo: int | None, hi: int | None) -> tuple[int, int] | None:
    """The smallest and largest logged step in the range (None when the range is empty).

    Two index seeks: SQLite only turns MIN/MAX into a seek when the query has a single aggregate.
    """
    params = (pk, key_id, _NO_LOWER if lo is None else lo, _NO_UPPER if hi is None else hi)
    first = fastsql.execute(conn, f"SELECT step FROM metrics WHERE {_RANGE} ORDER BY step LIMIT 1", params).fetchone()
    if first is None:
        return None
    last = fastsql.execute(conn, f"SELECT step FROM metrics WHERE {_RANGE} ORDER BY step DESC LIMIT 1", params)
    return int(first[0]), int(last.fetchone()[0])


def points_at_steps(
    conn: Connection, pk: int, key_id: int, key: str, targets: Sequence[int], hi: int, *, only_logged: bool = False
) -> list[Metric] | None:
    """For each target step, the first point at the first logged step at or after it (deduplicated);
    at the last logged step `hi`, the last point, so the series' end is kept. With `only_logged`,
    None when a target step was never logged (the caller then samples otherwise).

    Targets that are logged steps themselves (every target, for a series logged at every step) are
    read in one statement; only the others are first resolved to the next logged step.
    """
    if not targets:
        return []
    rows = _rows_at_steps(conn, pk, key_id, targets)
    found = {row[0] for row in rows}
    missing = [t for t in targets if t not in found]
    if missing and only_logged:
        return None
    if missing:
        values = ", ".join("(?)" for _ in missing)
        next_steps_sql = (
            f"WITH t(s) AS (VALUES {values}) "
            "SELECT DISTINCT (SELECT m.step FROM metrics m WHERE m.run_id = ? AND m.key_id = ? "
            "AND m.step >= t.s AND m.step <= ? ORDER BY m.step LIMIT 1) FROM t"
        )
        params = (*missing, pk, key_id, hi)
        extra = {r[0] for r in fastsql.execute(conn, next_steps_sql, params).fetchall()} - found - {None}
        if extra:
            rows += _rows_at_steps(conn, pk, key_id, sorted(extra))
            rows.sort()
    chosen: dict[int, Metric] = {}
    for step, timestamp, value, is_nan in rows:
        if step not in chosen or step == hi:
            chosen[step] = Metric(key, _value(value, is_nan), timestamp, step)
    return list(chosen.values())


def _rows_at_steps(conn: Connection, pk: int, key_id: int, steps: Sequence[int]) -> list[Any]:
    test, params = fastsql.one_of(conn, steps)
    return list(
        fastsql.execute(
            conn,
            "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_id = ? AND key_id = ? "
            f"AND step {test} ORDER BY step, timestamp, value",
            (pk, key_id, *params),
        ).fetchall()
    )


def count_points(conn: Connection, pk: int, key_id: int, lo: int | None, hi: int | None) -> int:
    row = fastsql.execute(
        conn,
        f"SELECT COUNT(*) FROM metrics WHERE {_RANGE}",
        (pk, key_id, _NO_LOWER if lo is None else lo, _NO_UPPER if hi is None else hi),
    ).fetchone()
    return int(row[0]) if row else 0


def points_at_positions(
    conn: Connection, pk: int, key_id: int, key: str, lo: int | None, hi: int | None, positions: Sequence[int]
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
    return [Metric(key, _value(v, n), ts, s) for s, ts, v, n in fastsql.execute(conn, sql, params).fetchall()]
