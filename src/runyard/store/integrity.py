"""Which constraint a database refused a write with: a foreign key (the row it names is gone, e.g.
deleted by another process meanwhile) or a unique key (the name is taken).

SQLite says so in the message ("FOREIGN KEY constraint failed", "UNIQUE constraint failed");
PostgreSQL in the SQLSTATE (23503 foreign_key_violation, 23505 unique_violation). The exception may
come wrapped (SQLAlchemy's `IntegrityError`, `GroupCommitFailed`, any `raise ... from`): its whole
cause chain is looked at.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from sqlalchemy import exc as sa_exc

FOREIGN_KEY_SQLSTATE: Final = "23503"
SQLITE_FOREIGN_KEY: Final = "foreign key constraint failed"


def is_foreign_key_violation(error: BaseException) -> bool:
    """Whether `error` (or one of its causes) is a foreign-key violation."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _own(current):
            return True
        if isinstance(current, sa_exc.DBAPIError) and isinstance(current.orig, BaseException) and _own(current.orig):
            return True
        current = current.__cause__ or current.__context__
    return False


def _own(error: BaseException) -> bool:
    if isinstance(error, sqlite3.IntegrityError):
        return SQLITE_FOREIGN_KEY in str(error).lower()
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return sqlstate == FOREIGN_KEY_SQLSTATE
