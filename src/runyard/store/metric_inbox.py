"""The metric inbox: where the SQLite point writer appends metric points, and how they move on.

`metrics` is clustered by (run, key, step, ...), so a commit that adds points to 160 series dirties
(and writes to the WAL) at least 160 pages, however few points each series gets. Appending to
`metric_inbox` instead touches only its last pages; `move_all` then inserts the inbox into
`metrics` in one sorted statement, and a page of a series is written once per move rather than
once per commit. The points are committed — durable and acknowledged — once they are in the inbox.

Anything that reads points from `metrics` calls `move_all` first if `pending` (see
`MetricHistoryService`); latest values are kept current at append time, so search does not.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from runyard.store import fastsql

_COLUMNS = "run_id, key_id, step, timestamp, value, is_nan"
_APPEND = f"INSERT INTO metric_inbox ({_COLUMNS})"
# `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT; identical points (a
# client's retry) collapse into one, as they do when written to `metrics` directly.
_MOVE = (
    f"INSERT INTO metrics ({_COLUMNS}) SELECT {_COLUMNS} FROM metric_inbox WHERE true "
    f"ORDER BY {_COLUMNS} ON CONFLICT ({_COLUMNS}) DO NOTHING"
)


def append(conn: Connection, columns: int, flat: list[Any]) -> None:
    """Append points laid out as in `runs.PreparedPoints` (run ids filled in)."""
    fastsql.insert_flat(conn, _APPEND, columns, flat)


def pending(conn: Connection) -> bool:
    """Whether any point waits in the inbox."""
    return bool(fastsql.execute(conn, "SELECT EXISTS (SELECT 1 FROM metric_inbox)").fetchone()[0])


def size(conn: Connection) -> int:
    """How many points wait in the inbox (every process's; for the metrics, at scrape time)."""
    return int(fastsql.execute(conn, "SELECT count(*) FROM metric_inbox").fetchone()[0])


def move_all(conn: Connection) -> None:
    """Move every waiting point into `metrics` (in the caller's write transaction)."""
    fastsql.execute(conn, _MOVE)
    fastsql.execute(conn, "DELETE FROM metric_inbox")
