"""Dialect-specific statements: INSERT ... ON CONFLICT for SQLite and PostgreSQL, and a lock that
serializes the transactions about one name."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: Connection, table: Table) -> Any:
    """An INSERT that supports `.on_conflict_do_nothing()` / `.on_conflict_do_update()`."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def lock_for_transaction(conn: Connection, name: str) -> None:
    """Make the other transactions that lock `name` wait until this one ends. On PostgreSQL a
    transaction-scoped advisory lock (a 64-bit key from `name`'s digest); on SQLite nothing: a write
    transaction holds the database's one write lock already."""
    if conn.dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
