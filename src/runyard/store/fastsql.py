"""Hot-path SQL written once as text and run through the DB-API driver.

Building SQLAlchemy Core statements costs more per call than the database does for a one-row
write, so the statements on the logging path (run lookup, metric/param/tag writes) are plain SQL
that both SQLite and PostgreSQL accept. They are written with `?` placeholders and converted to
the driver's paramstyle once per dialect.

Many-row inserts go out as multi-row `VALUES` statements (`insert_rows`) rather than `executemany`:
the SQLite driver releases the GIL around every row's step, and under load each release can hand
the interpreter to another thread for a whole switch interval while the write lock is held.
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


# Rows per statement: 150 rows of up to 6 columns stay under SQLite's oldest limit of 999 variables.
_MAX_VARIABLES = 999


@lru_cache(maxsize=512)
def _multi_row_sql(head: str, tail: str, columns: int, rows: int, paramstyle: str) -> str:
    row = "(" + ", ".join("?" * columns) + ")"
    sql = f"{head} VALUES {', '.join([row] * rows)}"
    return _for_dialect(f"{sql} {tail}" if tail else sql, paramstyle)


def insert_rows(conn: Connection, head: str, rows: Sequence[Sequence[Any]], tail: str = "") -> None:
    """`{head} VALUES (...), (...) {tail}` for all `rows`, in as few statements as the variable limit allows.

    `head` is `INSERT INTO table (columns)`, `tail` an optional `ON CONFLICT ...` clause; every row
    has the same number of values.
    """
    if rows:
        insert_flat(conn, head, len(rows[0]), [value for row in rows for value in row], tail)


def insert_flat(conn: Connection, head: str, columns: int, values: Sequence[Any], tail: str = "") -> None:
    """`insert_rows` for rows already laid out one after another in `values` (`columns` per row)."""
    if not values:
        return
    per_statement = max(1, _MAX_VARIABLES // columns) * columns
    cursor = _cursor(conn)
    paramstyle = conn.dialect.paramstyle
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        cursor.execute(_multi_row_sql(head, tail, columns, len(chunk) // columns, paramstyle), chunk)
    cursor.close()
