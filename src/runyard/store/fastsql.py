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


def _cursor(conn: Connection) -> Any:
    """A DB-API cursor on the connection's current transaction (begun by `Database.write/read`).

    Going straight to the driver skips SQLAlchemy's per-statement execution context, which costs
    more than SQLite does for a small write.
    """
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    """Run one statement; returns the driver cursor (fetch from it directly)."""
    cursor = _cursor(conn)
    cursor.execute(_for_dialect(sql, conn.dialect.paramstyle), tuple(params))
    return cursor


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        cursor = _cursor(conn)
        cursor.executemany(_for_dialect(sql, conn.dialect.paramstyle), rows)
        cursor.close()
