"""Range reads of one series for charts: its extent on an x axis, and its points within an x range.

`metrics` is clustered by (run, key, step, timestamp, value, is_nan): a step range is one index
range, read in series order. Timestamps are not indexed: a time range reads the whole series'
index range, keeps the points within it and sorts them by (timestamp, step, value, is_nan).

Points come back as chart points `(x, step, timestamp, value)` straight from the driver (x is the
step, or the timestamp less an offset); NaN, stored as 0 with is_nan set, is read as NULL and
restored here.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection

from runyard.domain.downsampling import Point
from runyard.store import fastsql
from runyard.store import metric_sampling as sampling

_SERIES = "FROM metrics WHERE run_id = ? AND key_id = ?"
# Aliased: PostgreSQL would name the CASE column `value`, and ORDER BY value would sort by it.
_VALUE = "CASE WHEN is_nan THEN NULL ELSE value END AS v"
_BY_STEP = (
    f"SELECT step, step, timestamp, {_VALUE} {_SERIES} AND step >= ? AND step <= ? "
    "ORDER BY step, timestamp, value, is_nan"
)
_BY_TIME = (
    f"SELECT timestamp, step, timestamp, {_VALUE} {_SERIES} AND timestamp >= ? AND timestamp <= ? "
    "ORDER BY timestamp, step, value, is_nan"
)


def step_extent(conn: Connection, pk: int, key_id: int) -> tuple[int, int] | None:
    """The first and last logged step (two index seeks), or None for an empty series."""
    return sampling.step_bounds(conn, pk, key_id, None, None)


def time_extent(conn: Connection, pk: int, key_id: int) -> tuple[int, int] | None:
    """The earliest and latest timestamp (a scan of the series), or None for an empty series."""
    row = fastsql.execute(conn, f"SELECT MIN(timestamp), MAX(timestamp) {_SERIES}", (pk, key_id)).fetchone()
    return None if row is None or row[0] is None else (int(row[0]), int(row[1]))


def points_by_step(conn: Connection, pk: int, key_id: int, lo: int, hi: int) -> list[Point]:
    """The points with lo <= step <= hi, in series order (x = step)."""
    return _points(fastsql.execute(conn, _BY_STEP, (pk, key_id, lo, hi), binary=True).fetchall())


def points_by_time(conn: Connection, pk: int, key_id: int, lo: int, hi: int, offset: int) -> list[Point]:
    """The points with lo <= timestamp - offset <= hi, by (timestamp, step, value, is_nan), with
    x = timestamp - offset. `lo + offset` and `hi + offset` are clamped to int64."""
    lo_ts, hi_ts = _clamp(lo + offset), _clamp(hi + offset)
    points = _points(fastsql.execute(conn, _BY_TIME, (pk, key_id, lo_ts, hi_ts), binary=True).fetchall())
    if offset:
        # In Python: int64 arithmetic in SQL could overflow for timestamps far from the offset.
        points = [(ts - offset, step, ts, v) for _, step, ts, v in points]
    return points


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _clamp(x: int) -> int:
    return min(max(x, _INT64_MIN), _INT64_MAX)


def _points(rows: list[Any]) -> list[Point]:
    for i, row in enumerate(rows):
        if row[3] is None:
            rows[i] = (row[0], row[1], row[2], math.nan)
    return rows
