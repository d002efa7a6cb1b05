"""Fixtures the unit tests share: a migrated Runyard database in a temporary SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.store import migrate
from runyard.store.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A fresh SQLite store at the current schema (a module may define its own `db` instead)."""
    url = f"sqlite:///{tmp_path / 'runyard.db'}"
    migrate.upgrade(url)
    database = Database(url)
    yield database
    database.dispose()
