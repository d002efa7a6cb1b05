"""Database failures that mean "not done, try again": the transaction was rolled back before it
committed anything, because of contention or a limit, and the same request may simply be resent.

* SQLite: "database is locked" / "database table is locked" / busy (`SQLITE_BUSY`, `SQLITE_LOCKED`):
  the busy timeout ran out while another process held the write lock.
* PostgreSQL, by SQLSTATE: serialization failure (40001), deadlock (40P01), lock not available
  (55P03, `lock_timeout`), query cancelled (57014, `statement_timeout`), too many connections (53300).
* SQLAlchemy's pool could not hand out a connection in time (`sqlalchemy.exc.TimeoutError`).

The exception may come wrapped (SQLAlchemy's `DBAPIError`, `GroupCommitFailed`, any `raise ... from`):
its whole cause chain is looked at. Anything else (a lost connection, whose commit may or may not
have happened, a constraint, a bug) is not transient.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from sqlalchemy import exc as sa_exc

SQLITE_MESSAGES: Final = ("database is locked", "database table is locked", "database is busy")
SQLITE_CODES: Final = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes' low byte)
POSTGRES_SQLSTATES: Final = {
    "40001": "a serialization failure",
    "40P01": "a deadlock",
    "55P03": "a lock timeout",
    "57014": "a statement timeout",
    "53300": "too many database connections",
}


def transient_reason(error: BaseException) -> str | None:
    """Why `error` (or one of its causes) means "try again", in a few words; None if it does not."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _own_reason(current)
        if reason:
            return reason
        if isinstance(current, sa_exc.DBAPIError) and isinstance(current.orig, BaseException):
            reason = _own_reason(current.orig)
            if reason:
                return reason
        current = current.__cause__ or current.__context__
    return None


def _own_reason(error: BaseException) -> str | None:
    if isinstance(error, sa_exc.TimeoutError):
        return "no database connection was free in time"
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        text = str(error).lower()
        if (isinstance(code, int) and code & 0xFF in SQLITE_CODES) or any(m in text for m in SQLITE_MESSAGES):
            return "the database is locked by another writer"
        return None
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate in POSTGRES_SQLSTATES:
        return POSTGRES_SQLSTATES[sqlstate]
    return None
