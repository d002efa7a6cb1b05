"""One run's full series of one metric, read page by page in the reference order.

Points come back as plain driver rows — a history holds 100,000 of them, and every object built
per point shows in the response time. Pages continue from the position of the last point read
(keyset paging), so a later page does not sort and skip every point before it.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection

from runyard.domain.entities import SeriesPoint
from runyard.store import fastsql

# (timestamp, step, stored value, is_nan) of a point: the full sort key, unique within a series.
Position = tuple[int, int, float, bool]

_COLUMNS = "SELECT value, timestamp, step, is_nan FROM metrics WHERE run_id = ? AND key_id = ?"
_ORDER = "ORDER BY timestamp, step, value, is_nan LIMIT ?"
_FROM_START = f"{_COLUMNS} {_ORDER} OFFSET ?"
_AFTER = f"{_COLUMNS} AND (timestamp, step, value, is_nan) > (?, ?, ?, ?) {_ORDER}"
_NO_LIMIT = 2**62


def read_page(
    conn: Connection, pk: int, key_id: int, *, after: Position | None, offset: int, limit: int | None
) -> list[SeriesPoint]:
    """Up to `limit` points of run `pk`'s series `key_id`: those after `after` if given, else from
    the `offset`-th point on. Order: timestamp, step, value (NaN ranks as its stored 0), NaN last."""
    limit = _NO_LIMIT if limit is None else limit
    if after is None:
        rows = fastsql.execute(conn, _FROM_START, (pk, key_id, limit, offset)).fetchall()
    else:
        rows = fastsql.execute(conn, _AFTER, (pk, key_id, *after, limit)).fetchall()
    if any(row[3] for row in rows):
        # NaN is stored as 0 with is_nan set (SQLite has no NaN); restore it.
        rows = [(math.nan, ts, step, True) if nan else (v, ts, step, False) for v, ts, step, nan in rows]
    return rows  # type: ignore[no-any-return]


def position_of(point: SeriesPoint) -> Position:
    value, timestamp, step, is_nan = point
    return (timestamp, step, 0.0 if is_nan else value, bool(is_nan))


def parse_position(data: Any) -> Position | None:
    """A position as carried in a page token (a JSON list), or None if it is not one: two int64s,
    a number that is not NaN (metric values may be infinite) and a boolean (a forged token may
    hold anything)."""
    if not isinstance(data, list) or len(data) != 4:
        return None
    timestamp, step, value, is_nan = data
    if not (_is_int64(timestamp) and _is_int64(step) and isinstance(is_nan, bool)):
        return None
    if _is_int64(value):
        value = float(value)
    if not isinstance(value, float) or math.isnan(value):
        return None
    return (timestamp, step, value, is_nan)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _is_int64(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and _INT64_MIN <= x <= _INT64_MAX
