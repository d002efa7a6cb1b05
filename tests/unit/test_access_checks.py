"""The point checks on the hot path (`Access.allows_experiment`, used by the point writer's check
for every metrics-only request): from the per-process caches, with no database read once warm; the
experiment's name is read only where a folder grant or an owned folder could match it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import insert

from runyard.domain.entities import Workspace
from runyard.domain.identity import Principal
from runyard.domain.permissions import EDIT, FOLDER, NO_PERMISSIONS, READ
from runyard.domain.workspaces import NAMING_PATH
from runyard.services.identity.access import Access, PermissionCache
from runyard.store import schema
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.identity import grants as grant_store
from runyard.store.migrate import upgrade


@dataclass
class Env:
    db: Database
    cache: PermissionCache
    access: Access
    workspace: Workspace
    experiment_id: int


class NoDatabase:
    """Stands in for the database once the caches are warm: any read fails the test."""

    def read(self) -> None:
        raise AssertionError("the check read the database")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path / 'runyard.db'}"
    upgrade(url)
    db = Database(url)
    with db.write() as conn:
        principal_id = conn.execute(
            insert(schema.principals).values(
                name="u",
                kind="user",
                is_admin=False,
                enabled=True,
                credential_version=1,
                creation_time=0,
                last_update_time=0,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        workspace = ws_store.get_by_name(conn, "default")
        assert workspace is not None
        experiment_id = conn.execute(
            insert(schema.experiments).values(
                workspace_id=workspace.id,
                name="/Shared/team/e",
                artifact_location="x",
                lifecycle_stage="active",
                creation_time=0,
                last_update_time=0,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        grant_store.put(
            conn,
            workspace_id=workspace.id,
            principal_id=principal_id,
            resource_type="experiment",
            pattern=str(experiment_id),
            level=EDIT,
        )
    principal = Principal(principal_id, "u", "user", False, True, 1, 0, 0)
    cache = PermissionCache(db)
    yield Env(db, cache, Access(principal, EDIT, NO_PERMISSIONS, cache), workspace, int(experiment_id))
    db.dispose()


def test_a_warm_check_reads_nothing(env: Env) -> None:
    assert env.access.allows_experiment(env.workspace, env.experiment_id)
    env.cache._db = NoDatabase()  # type: ignore[assignment]
    env.cache.names._db = NoDatabase()  # type: ignore[assignment]
    for _ in range(1000):
        assert env.access.allows_experiment(env.workspace, env.experiment_id)
        assert env.access.allows_experiment(env.workspace, str(env.experiment_id), level=READ)


def test_the_name_is_read_only_when_a_folder_could_match(env: Env) -> None:
    env.access.allows_experiment(env.workspace, env.experiment_id)
    assert env.cache.names._names == {}
    path_workspace = replace(env.workspace, naming=NAMING_PATH)
    env.access.allows_experiment(path_workspace, env.experiment_id)
    assert env.cache.names._names[env.experiment_id][0] == "/Shared/team/e"


def test_a_folder_grant_applies_through_the_cached_name(env: Env) -> None:
    other = env.experiment_id
    with env.db.write() as conn:
        grant_store.put(
            conn,
            workspace_id=env.workspace.id,
            principal_id=env.access.principal.id,
            resource_type="experiment",
            pattern=str(other),
            level=NO_PERMISSIONS,
        )
    env.cache.forget()
    assert not env.access.allows_experiment(env.workspace, other, level=READ)
    with env.db.write() as conn:
        grant_store.remove(
            conn,
            workspace_id=env.workspace.id,
            principal_id=env.access.principal.id,
            resource_type="experiment",
            pattern=str(other),
        )
        grant_store.put(
            conn,
            workspace_id=env.workspace.id,
            principal_id=env.access.principal.id,
            resource_type=FOLDER,
            pattern="/Shared/team/",
            level=READ,
        )
    env.cache.forget()
    assert env.access.allows_experiment(env.workspace, other, level=READ)
    assert not env.access.allows_experiment(env.workspace, other, level=EDIT)
