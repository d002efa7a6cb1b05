"""Looks at a backend store before anything writes to it: is it reachable, empty, or Runyard's own?

Everything here only reads. A SQLite file is opened read-only by the `sqlite3` module itself (none
of the server's connection pragmas run, so a foreign file keeps its journal mode and bytes), and a
PostgreSQL database is asked for its table names and Alembic revision. A database that holds tables
but is not Runyard's, e.g. an MLflow database, is refused with a message naming what it looks like.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from runyard.config import StartupError, check_database_scheme, mask_password, normalise_database_url

# How long start-up waits for a PostgreSQL server before saying it is unreachable.
CONNECT_TIMEOUT_S = 10


class DatabaseUnavailable(StartupError):
    """The database cannot be opened or reached."""


class ForeignDatabase(StartupError):
    """The database holds tables that Runyard did not create."""


class NoDatabase(StartupError):
    """A command that only reads found no Runyard database to read."""


@dataclass(frozen=True)
class StoreState:
    """What a read-only look at a backend store found."""

    exists: bool  # False: a SQLite file that is not there yet
    tables: frozenset[str]
    revisions: frozenset[str]  # Alembic revisions recorded in `alembic_version`

    @property
    def empty(self) -> bool:
        return not self.tables


def display_url(database_url: str) -> str:
    """The URL as the operator wrote it (without the driver Runyard adds), password masked."""
    return mask_password(database_url.replace("postgresql+psycopg://", "postgresql://", 1))


def inspect_store(database_url: str) -> StoreState:
    """Read-only: the tables and Alembic revision of `database_url` (raises `StartupError`s)."""
    check_database_scheme(database_url)
    from sqlalchemy.engine import make_url

    database_url = normalise_database_url(database_url)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _inspect_sqlite(url.database, database_url)
    return _inspect_postgres(database_url)


def check_store(database_url: str, known_revisions: frozenset[str]) -> StoreState:
    """Refuse a store Runyard must not write to: unreachable, foreign, or from a newer Runyard."""
    state = inspect_store(database_url)
    if state.empty:
        return state
    where = display_url(database_url)
    if state.revisions and state.revisions <= known_revisions and "workspaces" in state.tables:
        return state
    unknown = ", ".join(sorted(state.revisions - known_revisions))
    if state.revisions and all(re.fullmatch(r"\d{4}", r) for r in state.revisions) and "workspaces" in state.tables:
        raise ForeignDatabase(
            f"The database {where} was written by a newer Runyard (schema revision {unknown}); "
            "upgrade Runyard to serve it."
        )
    if {"experiments", "runs"} <= state.tables:
        revision = f" (Alembic revision {unknown})" if unknown else ""
        raise ForeignDatabase(
            f"The database {where} is not a Runyard database: it looks like an MLflow database{revision}.\n"
            "Runyard keeps its own schema and has left it untouched; give --backend-store-uri a new or empty "
            "database (importing MLflow data is planned, issue 17)."
        )
    shown = ", ".join(sorted(state.tables)[:5]) + (", ..." if len(state.tables) > 5 else "")
    raise ForeignDatabase(
        f"The database {where} is not a Runyard database (it holds other tables: {shown}).\n"
        "Runyard has left it untouched; give --backend-store-uri a new or empty database."
    )


def require_existing(database_url: str, known_revisions: frozenset[str]) -> StoreState:
    """For commands that only read: the store must exist and be Runyard's (raises `NoDatabase`)."""
    state = check_store(database_url, known_revisions)
    if state.empty:
        raise NoDatabase(
            f"There is no Runyard database at {display_url(database_url)} (nothing to show); "
            "`runyard server` or `runyard workspace create` creates one."
        )
    return state


def _inspect_sqlite(path: str | None, database_url: str) -> StoreState:
    if not path or path == ":memory:" or path.startswith("file:"):
        return StoreState(exists=False, tables=frozenset(), revisions=frozenset())
    file = Path(path)
    if not file.exists():
        return StoreState(exists=False, tables=frozenset(), revisions=frozenset())
    where = display_url(database_url)
    if file.is_dir():
        raise DatabaseUnavailable(f"The database {where} is a folder, not an SQLite file.")
    try:
        conn = sqlite3.connect(f"file:{quote(str(file.resolve()))}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as e:
        raise DatabaseUnavailable(f"Cannot open the database {where}: {e}.") from None
    try:
        tables = frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        revisions: frozenset[str] = frozenset()
        if "alembic_version" in tables:
            revisions = frozenset(str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.DatabaseError as e:
        # "file is not a database", "database disk image is malformed", a locked file, ...
        raise ForeignDatabase(f"The file {where} cannot be read as an SQLite database ({e}); left untouched.") from None
    finally:
        conn.close()
    return StoreState(exists=True, tables=tables, revisions=revisions)


def _inspect_postgres(database_url: str) -> StoreState:
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as conn:
            tables = frozenset(inspect(conn).get_table_names())
            revisions: frozenset[str] = frozenset()
            if "alembic_version" in tables:
                revisions = frozenset(str(r[0]) for r in conn.execute(text("SELECT version_num FROM alembic_version")))
            conn.rollback()
    except DBAPIError as e:
        raise DatabaseUnavailable(
            f"Cannot connect to the database {display_url(database_url)}: {driver_message(e, database_url)}"
        ) from None
    finally:
        engine.dispose()
    return StoreState(exists=True, tables=tables, revisions=revisions)


def driver_message(error: BaseException, database_url: str) -> str:
    """The first line of a driver error, with the password (should a driver echo it) masked."""
    from sqlalchemy.engine import make_url

    original = getattr(error, "orig", None) or error
    line = (str(original).strip().splitlines() or [type(original).__name__])[0].strip()
    password = make_url(database_url).password
    if password:
        line = line.replace(str(password), "***")
    return line
