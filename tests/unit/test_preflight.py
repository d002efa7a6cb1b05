"""The read-only look at a store before start-up writes anything: empty stores are initialised, Runyard's
own are migrated, anything else is refused untouched (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard.store.migrate import current_revision, known_revisions, upgrade
from runyard.store.preflight import DatabaseUnavailable, ForeignDatabase, NoDatabase, require_existing


def test_an_empty_file_or_a_missing_one_is_initialised(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (empty, tmp_path / "new" / "fresh.db"):
        url = f"sqlite:///{path}"
        with pytest.raises(NoDatabase):
            require_existing(url, known_revisions())
        upgrade(url)
        assert current_revision(url) in known_revisions()
        require_existing(url, known_revisions())


def test_a_database_from_a_newer_runyard_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ForeignDatabase, match="newer Runyard"):
        upgrade(url)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="folder"):
        upgrade(f"sqlite:///{tmp_path}")


def test_postgres_foreign_tables_are_refused_and_an_empty_database_initialised(
    postgres_database_factory: Callable[[], str],
) -> None:
    import psycopg

    foreign = postgres_database_factory()
    with psycopg.connect(foreign, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(ForeignDatabase, match="invoices"):
        upgrade(foreign)
    with psycopg.connect(foreign) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"invoices"}
    empty = postgres_database_factory()
    upgrade(empty)
    assert current_revision(empty.replace("postgresql://", "postgresql+psycopg://")) in known_revisions()
