"""Helpers for store-level tests of metric points: a migrated database on either backend, a run row
to write to, and the writer's run check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runyard.config import normalise_database_url
from runyard.domain.entities import ACTIVE, RunInfo
from runyard.domain.errors import not_found
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.migrate import upgrade
from runyard.store.runs import RunRow


def migrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The body of a fixture parametrized over "sqlite" and "postgres": a fresh, migrated database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'points.db'}"
    else:
        factory: Callable[[], str] = request.getfixturevalue("postgres_database_factory")
        url = normalise_database_url(factory())
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def make_run(db: Database, name: str) -> RunRow:
    info = RunInfo(name.ljust(32, "0"), 0, name, None, "RUNNING", 1, None, "mlflow-artifacts:/0", ACTIVE)
    with db.write() as conn:
        run_store.insert_run(conn, info)
        row = run_store.get(conn, info.run_uuid)
    assert row is not None
    return row


def require_run(row: RunRow | None) -> None:
    """The point writer's check: refuse points for a run that does not exist."""
    if row is None:
        raise not_found("Run not found")
