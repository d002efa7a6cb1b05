"""Schema migrations: run Alembic's `upgrade head` for a database URL (start-up and `runyard db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from runyard.store.database import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant: serialises concurrent start-ups against one PostgreSQL database.
_PG_MIGRATION_LOCK = 72_410_001


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the schema of `database_url` to `revision`, creating it on an empty database."""
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
