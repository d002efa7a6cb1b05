"""Which store failures mean "not processed, try again" (429 + Retry-After), and which do not (issue 11, item 5)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc

from runyard.api.errors import try_again
from runyard.api.http import error_response
from runyard.store.group_commit import GroupCommitFailed
from runyard.store.transient import transient_reason


def _locked_error(tmp_path: Path) -> sa_exc.OperationalError:
    """A real "database is locked": another connection holds the write lock, this one waits 0 s."""
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(sa_exc.OperationalError) as caught, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        return caught.value
    finally:
        engine.dispose()
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_sqlite_database_is_transient_however_it_is_wrapped(tmp_path: Path) -> None:
    error = _locked_error(tmp_path)
    assert transient_reason(error) == "the database is locked by another writer"
    assert error.orig is not None
    assert transient_reason(error.orig) == "the database is locked by another writer"  # raw driver error
    try:
        raise GroupCommitFailed("the write could not be committed") from error
    except GroupCommitFailed as wrapped:
        assert transient_reason(wrapped) == "the database is locked by another writer"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (psycopg.errors.LockNotAvailable("lock timeout"), "a lock timeout"),
        (psycopg.errors.SerializationFailure("could not serialize"), "a serialization failure"),
        (psycopg.errors.DeadlockDetected("deadlock"), "a deadlock"),
        (psycopg.errors.QueryCanceled("statement timeout"), "a statement timeout"),
        (psycopg.errors.TooManyConnections("too many clients"), "too many database connections"),
        (sa_exc.TimeoutError("QueuePool limit reached"), "no database connection was free in time"),
    ],
)
def test_postgres_contention_and_pool_limits_are_transient(error: BaseException, reason: str) -> None:
    assert transient_reason(error) == reason
    wrapped = sa_exc.OperationalError("INSERT ...", {}, error)  # as SQLAlchemy hands it over
    assert transient_reason(wrapped) == reason


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.UniqueViolation("duplicate key"),
        psycopg.errors.ConnectionTimeout("connection lost"),  # a commit may have happened: not resent
        sqlite3.OperationalError("no such table: t"),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        RuntimeError("a bug"),
        ValueError("database is locked"),  # the words alone, not from the store
    ],
)
def test_other_failures_are_not(error: BaseException) -> None:
    assert transient_reason(error) is None
    assert try_again(error) is None


def test_the_answer_is_429_with_retry_after(tmp_path: Path) -> None:
    retry = try_again(_locked_error(tmp_path))
    assert retry is not None
    response = error_response(retry)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert b'"error_code":"TEMPORARILY_UNAVAILABLE"' in response.body
    assert b"nothing was written" in response.body
