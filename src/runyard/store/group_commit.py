"""Group commit: SQLite write transactions from many threads folded into one database transaction.

SQLite has one writer at a time, and a commit costs more than a typical logging call's inserts
(it appends every dirty page to the WAL). So concurrent write units share a transaction:

- A unit takes the connection lock, runs inside its own SAVEPOINT on the shared transaction and
  releases the savepoint (on an exception it rolls back to it, so a refused request writes nothing
  while the other units' work stands).
- If another thread is already queued for the lock, the unit hands the open transaction over and
  waits; the last unit of a burst (or the `max_units`-th) commits and wakes every unit of its group.
- A unit returns only after the commit that holds its writes succeeded: nothing is acknowledged
  before it is durable, and code after the unit (cache updates) sees committed data. If the commit
  fails, every unit of the group raises.

A unit never waits for work that is not already queued, so a lone writer commits at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Engine

from runyard.store import fastsql


class GroupCommitFailed(RuntimeError):
    """The shared transaction holding this unit's writes could not be committed."""


class _Group:
    """The units sharing one transaction, and how it ended."""

    __slots__ = ("conn", "done", "error", "transaction", "units")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.transaction = conn.begin()
        self.units = 0
        self.done = threading.Event()
        self.error: BaseException | None = None


class GroupCommitter:
    """Runs write units on one shared SQLite connection, committing once per burst of units."""

    def __init__(self, engine: Engine, *, max_units: int = 64) -> None:
        self._engine = engine
        self._max_units = max_units
        self._turn = threading.Lock()  # whoever holds it owns the open transaction
        self._count = threading.Lock()  # guards `_queued`
        self._queued = 0  # threads waiting for `_turn`
        self._group: _Group | None = None
        self._conn: Connection | None = None  # kept open between groups: a checkout costs more than a commit

    @contextmanager
    def unit(self) -> Iterator[Connection]:
        """One write unit: all of it is committed (before this returns) or none of it."""
        with self._count:
            self._queued += 1
        self._turn.acquire()
        with self._count:
            self._queued -= 1
        failure: BaseException | None = None
        try:
            group = self._group or self._open()
            cursor = fastsql.driver_cursor(group.conn)
            cursor.execute("SAVEPOINT unit")
            try:
                yield group.conn
            except BaseException as e:
                failure = e
                self._undo(group, cursor)
            else:
                cursor.execute("RELEASE unit")
            group.units += 1
            if group.error is None and self._more_coming(group):
                committed_here = False
            else:
                self._finish(group)
                committed_here = True
        finally:
            self._turn.release()
        if failure is not None:
            raise failure
        if not committed_here:
            group.done.wait()
        if group.error is not None:
            raise GroupCommitFailed("the write could not be committed") from group.error

    def _open(self) -> _Group:
        conn = self._conn or self._engine.connect()
        self._conn = None
        conn.info["immediate"] = True
        try:
            group = _Group(conn)
        except BaseException:
            self._discard(conn)
            raise
        self._group = group
        return group

    def _discard(self, conn: Connection) -> None:
        conn.info["immediate"] = False
        with suppress(Exception):
            conn.close()

    def close(self) -> None:
        """Close the kept connection (the engine is being disposed)."""
        with self._turn:
            if self._conn is not None:
                self._discard(self._conn)
                self._conn = None

    def _more_coming(self, group: _Group) -> bool:
        with self._count:
            return self._queued > 0 and group.units < self._max_units

    def _undo(self, group: _Group, cursor: Any) -> None:
        """Roll one unit back; if SQLite cannot (it aborted the transaction), the group fails."""
        try:
            cursor.execute("ROLLBACK TO unit")
            cursor.execute("RELEASE unit")
        except Exception as e:
            group.error = e

    def _finish(self, group: _Group) -> None:
        """Commit (or, after a failure, roll back) the group's transaction and wake its units."""
        self._group = None
        try:
            if group.error is None:
                group.transaction.commit()
            else:
                group.transaction.rollback()
        except BaseException as e:
            group.error = group.error or e
            with suppress(Exception):
                group.transaction.rollback()
        finally:
            if group.error is None:
                self._conn = group.conn
            else:  # do not reuse a connection whose transaction went wrong
                self._discard(group.conn)
            group.done.set()
