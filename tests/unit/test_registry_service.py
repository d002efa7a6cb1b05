"""The registry services against a migrated SQLite store: numbering, cascading deletes, workspace
isolation and source resolution, checked on the rows themselves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Table, func, insert, select

from runyard.domain.errors import MlflowError
from runyard.services.artifacts import ArtifactService
from runyard.services.context import RequestContext
from runyard.services.experiments import ExperimentService
from runyard.services.logged_models import LoggedModelService
from runyard.services.model_versions import ModelVersionService
from runyard.services.registered_models import RegisteredModelService
from runyard.services.runs import RunService
from runyard.store import schema
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry
from runyard.store.migrate import upgrade


@dataclass
class Env:
    db: Database
    models: RegisteredModelService
    versions: ModelVersionService
    runs: RunService
    experiments: ExperimentService
    ctx: RequestContext
    other: RequestContext

    def run(self, ctx: RequestContext | None = None) -> str:
        """A new run (in a new experiment) of the workspace."""
        ctx = ctx or self.ctx
        exp = self.experiments.create(ctx, f"exp-{self.count_rows(schema.experiments)}", None, [])
        run = self.runs.create(ctx, experiment_id=exp, user_id=None, run_name=None, start_time=None, tags=[])
        return run.info.run_uuid

    def version(
        self, name: str, run_id: str, ctx: RequestContext | None = None, tags: Sequence[tuple[str, str]] = ()
    ) -> str:
        created = self.versions.create(
            ctx or self.ctx,
            name=name,
            source=f"runs:/{run_id}/model",
            run_id=run_id,
            model_id=None,
            tags=tags,
            run_link=None,
            description=None,
        )
        return str(created.row.version)

    def count_rows(self, table: Table) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path / 'runyard.db'}"
    upgrade(url)
    db = Database(url)
    keys = KeyRegistry(db)
    with db.write() as conn:
        conn.execute(insert(schema.workspaces).values(name="other", naming="flat", creation_time=0, last_update_time=0))
    with db.read() as conn:
        default, other = ws_store.get_by_name(conn, "default"), ws_store.get_by_name(conn, "other")
    assert default is not None and other is not None
    experiments = ExperimentService(db)
    logged_models = LoggedModelService(db, keys, experiments, ArtifactService(str(tmp_path / "artifacts")))
    yield Env(
        db,
        RegisteredModelService(db),
        ModelVersionService(db, keys),
        RunService(db, keys, experiments, logged_models),
        experiments,
        RequestContext(default),
        RequestContext(other),
    )
    db.dispose()


def test_numbers_are_consecutive_and_never_reused(env: Env) -> None:
    run_id = env.run()
    env.models.create(env.ctx, "m", [("a", "1")], None)
    assert [env.version("m", run_id) for _ in range(3)] == ["1", "2", "3"]
    env.versions.delete(env.ctx, "m", "3")
    assert env.version("m", run_id) == "4"
    with pytest.raises(MlflowError):
        env.versions.create(
            env.ctx,
            name="m",
            source="file:///etc",
            run_id=run_id,
            model_id=None,
            tags=[],
            run_link=None,
            description=None,
        )
    assert env.version("m", run_id) == "5"  # the refused request spent no number


def test_deletes_remove_tags_and_aliases(env: Env) -> None:
    run_id = env.run()
    env.models.create(env.ctx, "m", [("a", "1")], "d")
    env.version("m", run_id, tags=[("t", "1")])
    env.version("m", run_id, tags=[("t", "2")])
    env.models.set_alias(env.ctx, "m", "champion", "1")
    env.models.set_alias(env.ctx, "m", "challenger", "2")

    env.versions.delete(env.ctx, "m", "1")
    assert env.count_rows(schema.model_version_tags) == 1
    assert env.count_rows(schema.registered_model_aliases) == 1
    assert [a for a, _ in env.models.get(env.ctx, "m").aliases] == ["challenger"]

    env.models.delete(env.ctx, "m")
    for table in (
        schema.registered_models,
        schema.registered_model_tags,
        schema.model_versions,
        schema.model_version_tags,
        schema.registered_model_aliases,
    ):
        assert env.count_rows(table) == 0, table.name


def test_rename_keeps_versions_tags_and_aliases(env: Env) -> None:
    run_id = env.run()
    env.models.create(env.ctx, "old", [("a", "1")], None)
    env.version("old", run_id, tags=[("t", "1")])
    env.models.set_alias(env.ctx, "old", "champion", "1")
    renamed = env.models.rename(env.ctx, "old", "new")
    assert renamed.row.name == "new" and renamed.tags == [("a", "1")] and renamed.aliases == [("champion", 1)]
    version = env.models.get_by_alias(env.ctx, "new", "champion")
    assert (version.row.name, version.tags, version.aliases) == ("new", [("t", "1")], ["champion"])
    with pytest.raises(MlflowError) as err:
        env.models.get(env.ctx, "old")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_workspaces_are_isolated(env: Env) -> None:
    run_id = env.run()
    env.models.create(env.ctx, "shared-name", [], None)
    env.version("shared-name", run_id)

    with pytest.raises(MlflowError) as err:
        env.models.get(env.other, "shared-name")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert (
        env.versions.search(env.other, filter_string=None, max_results=None, order_by=[], page_token=None).items == []
    )
    assert env.models.search(env.other, filter_string=None, max_results=None, order_by=[], page_token=None).items == []

    env.models.create(env.other, "shared-name", [], None)  # names are unique per workspace only
    with pytest.raises(MlflowError) as err:
        env.version("shared-name", run_id, ctx=env.other)  # a run of another workspace is no source
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    other_run = env.run(env.other)
    assert env.version("shared-name", other_run, ctx=env.other) == "1"
    assert env.version("shared-name", run_id) == "2"


def test_download_uri_of_a_runs_source_is_the_run_artifact_location(env: Env) -> None:
    run_id = env.run()
    env.models.create(env.ctx, "m", [], None)
    env.version("m", run_id)
    uri = env.versions.download_uri(env.ctx, "m", "1")
    assert uri.startswith("mlflow-artifacts:/") and uri.endswith(f"/{run_id}/artifacts/model")
