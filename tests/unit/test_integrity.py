"""Telling a foreign-key violation (a row named by the write is gone: 404) from a unique-key one (a
name taken: already exists) on both stores, as the services and the error handler do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import exc, insert

from runyard.store import schema
from runyard.store.database import Database
from runyard.store.integrity import is_foreign_key_violation
from tests.unit.point_store import migrated_database


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from migrated_database(request, tmp_path)


def _experiment(workspace_id: int, name: str) -> dict[str, object]:
    return {
        "workspace_id": workspace_id,
        "name": name,
        "artifact_location": "",
        "creation_time": 0,
        "last_update_time": 0,
    }


def test_foreign_key_and_unique_violations_are_told_apart(store: Database) -> None:
    with pytest.raises(exc.IntegrityError) as gone, store.write() as conn:
        conn.execute(insert(schema.experiments).values(**_experiment(987654, "orphan")))
    assert is_foreign_key_violation(gone.value)
    with store.write() as conn:
        default = conn.execute(schema.workspaces.select().where(schema.workspaces.c.name == "default")).one()
        conn.execute(insert(schema.experiments).values(**_experiment(default.id, "taken")))
    with pytest.raises(exc.IntegrityError) as taken, store.write() as conn:
        conn.execute(insert(schema.experiments).values(**_experiment(default.id, "taken")))
    assert not is_foreign_key_violation(taken.value)
    # Wrapped (`raise ... from`), as the group committer and the services re-raise.
    try:
        raise RuntimeError("wrapped") from gone.value
    except RuntimeError as wrapped:
        assert is_foreign_key_violation(wrapped)
    assert not is_foreign_key_violation(ValueError("FOREIGN KEY constraint failed"))
