"""Schema migrations: run Alembic's `upgrade head` for a database URL (start-up and `runyard db upgrade`).

Nothing is written, not even a connection pragma, before `preflight` has found the database empty or
Runyard's own; failures to reach or write the database surface as one-line `StartupError`s.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from runyard.store.database import Database
from runyard.store.preflight import DatabaseUnavailable, StoreState, check_store, display_url, driver_message

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant: serialises concurrent start-ups against one PostgreSQL database.
_PG_MIGRATION_LOCK = 72_410_001


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every schema revision this version of Runyard ships."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return frozenset(s.revision for s in script.walk_revisions())


def check(database_url: str) -> StoreState:
    """Read-only: refuse (with a `StartupError`) a database that is unreachable or not Runyard's."""
    return check_store(database_url, known_revisions())


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the schema of `database_url` to `revision`, creating it on an empty database.

    Refuses, untouched, a database that is not Runyard's (see `preflight`)."""
    check(database_url)
    try:
        _upgrade(database_url, revision)
    except DBAPIError as e:
        raise DatabaseUnavailable(
            f"Cannot prepare the database {display_url(database_url)}: {driver_message(e, database_url)}"
        ) from None
    except OSError as e:  # e.g. the SQLite file's folder cannot be created
        raise DatabaseUnavailable(f"Cannot prepare the database {display_url(database_url)}: {e}") from None


def _upgrade(database_url: str, revision: str) -> None:
    # SQLite: foreign keys off while tables are rebuilt (as SQLite's ALTER TABLE procedure requires).
    db = Database(database_url, pool=False, foreign_keys=False)
    try:
        with db.engine.connect() as conn:
            if db.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
            try:
                config = alembic_config(database_url)
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                conn.commit()
            finally:
                if db.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                    conn.commit()
    finally:
        db.dispose()


def current_revision(database_url: str) -> str | None:
    """The applied revision(s), comma-separated (None on an empty database)."""
    from alembic.runtime.migration import MigrationContext

    db = Database(database_url, pool=False)
    try:
        with db.engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
            return ",".join(sorted(heads)) or None
    finally:
        db.dispose()
