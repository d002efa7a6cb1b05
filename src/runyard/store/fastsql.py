"""Hot-path SQL written once as text and run through the DB-API driver.

Building SQLAlchemy Core statements costs more per call than the database does for a one-row
write, so the statements on the logging path (run lookup, metric/param/tag writes) are plain SQL
that both SQLite and PostgreSQL accept. They are written with `?` placeholders and converted to
the driver's paramstyle once per dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection


@lru_cache(maxsize=256)
def _for_dialect(sql: str, paramstyle: str) -> str:
    if paramstyle == "qmark":
        return sql
    if paramstyle in ("format", "pyformat"):
        return sql.replace("%", "%%").replace("?", "%s")
    raise RuntimeError(f"unsupported paramstyle {paramstyle}")


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    """Run one statement; returns the driver cursor (fetch from it directly)."""
    return conn.exec_driver_sql(_for_dialect(sql, conn.dialect.paramstyle), tuple(params))


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        conn.exec_driver_sql(_for_dialect(sql, conn.dialect.paramstyle), [tuple(r) for r in rows])
