"""LoggedModelService against a migrated SQLite store: metric links, search semantics, isolation."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from runyard.domain.errors import MlflowError
from runyard.services.artifacts import ArtifactService
from runyard.services.context import RequestContext
from runyard.services.experiments import ExperimentService
from runyard.services.logged_models import DatasetFilterIn, LoggedModelService, ModelMetricIn, OrderByIn
from runyard.services.runs import RunService
from runyard.store import runs as run_store
from runyard.store import schema
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry
from runyard.store.migrate import upgrade


@dataclass
class Env:
    db: Database
    keys: KeyRegistry
    models: LoggedModelService
    runs: RunService
    experiments: ExperimentService
    ctx: RequestContext
    exp_id: str

    def run_pk(self) -> int:
        run = self.runs.create(
            self.ctx, experiment_id=self.exp_id, user_id=None, run_name=None, start_time=None, tags=[]
        )
        with self.db.read() as conn:
            row = run_store.get(conn, run.info.run_uuid)
        assert row is not None
        return row.pk

    def link(self, run_pk: int, *points: ModelMetricIn) -> None:
        """Link points in one write transaction (their keys are interned before it, by `point`)."""
        with self.db.write() as conn:
            self.models.record_metrics(conn, self.ctx, run_pk, points)

    def point(self, model_id: str, key: str, value: float, ts: int = 1, step: int = 0, **kw: str) -> ModelMetricIn:
        return ModelMetricIn(model_id, self.keys.ids_for([key])[key], value, ts, step, **kw)

    def new_model(self, name: str, params: Sequence[tuple[str, str]] = (), tags: Sequence[tuple[str, str]] = ()) -> str:
        model = self.models.create(
            self.ctx,
            experiment_id=self.exp_id,
            name=name,
            model_type=None,
            source_run_id=None,
            params=params,
            tags=tags,
        )
        return model.info.model_id

    def search(
        self,
        filter_string: str | None = None,
        datasets: Sequence[DatasetFilterIn] = (),
        max_results: int | None = None,
        order_by: Sequence[OrderByIn] = (),
        page_token: str | None = None,
    ) -> list[str]:
        page = self.models.search(
            self.ctx,
            experiment_ids=[self.exp_id],
            filter_string=filter_string,
            datasets=datasets,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )
        return [m.info.model_id for m in page.items]


def context(db: Database, workspace: str) -> RequestContext:
    with db.read() as conn:
        found = ws_store.get_by_name(conn, workspace)
    assert found is not None
    return RequestContext(found)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path / 'runyard.db'}"
    upgrade(url)
    db = Database(url)
    keys = KeyRegistry(db)
    experiments = ExperimentService(db)
    ctx = context(db, "default")
    exp_id = experiments.create(ctx, "models", None, [])
    logged_models = LoggedModelService(db, keys, experiments, ArtifactService(str(tmp_path / "artifacts")))
    yield Env(db, keys, logged_models, RunService(db, keys, experiments, logged_models), experiments, ctx, exp_id)
    db.dispose()


def test_create_and_get(env: Env) -> None:
    model_id = env.new_model("m", params=[("p", "1")], tags=[("b", "2"), ("a", "1"), ("a", "3")])
    got = env.models.get(env.ctx, model_id)
    assert got.info.status == "PENDING" and got.info.model_type == "" and got.info.source_run_id == ""
    assert got.info.artifact_uri == f"mlflow-artifacts:/{env.exp_id}/models/{model_id}/artifacts"
    assert got.tags == [("a", "3"), ("b", "2")]  # sorted by key, last write wins
    assert got.params == [("p", "1")]
    with pytest.raises(MlflowError, match="Duplicate parameter keys"):
        env.new_model("dup", params=[("p", "1"), ("p", "1")])
    env.experiments.delete(env.ctx, env.exp_id)
    with pytest.raises(MlflowError, match="must be in the 'active' state"):
        env.new_model("late")


def test_record_metrics_links_points_with_nan_and_datasets(env: Env) -> None:
    model_id = env.new_model("scored")
    run_pk = env.run_pk()
    env.link(
        run_pk,
        env.point(model_id, "loss", 0.5, ts=1),
        env.point(model_id, "loss", math.nan, ts=2, step=1),
        env.point(model_id, "acc", 0.9, ts=1, dataset_name="eval", dataset_digest="abc"),
        env.point(model_id, "acc", 0.8, ts=1, dataset_name="train", dataset_digest="def"),
    )
    env.link(run_pk, env.point(model_id, "loss", 0.5, ts=1))  # a replayed point is ignored
    metrics = env.models.get(env.ctx, model_id).metrics
    assert [(m.key, m.step, m.dataset_name) for m in metrics] == [
        ("acc", 0, "eval"),
        ("acc", 0, "train"),
        ("loss", 0, None),
        ("loss", 1, None),
    ]
    assert math.isnan(metrics[3].value) and metrics[2].value == 0.5
    assert {m.run_id for m in metrics} == {metrics[0].run_id} and len(metrics[0].run_id) == 32


def test_record_metrics_for_unknown_or_foreign_model_rolls_back(env: Env) -> None:
    model_id = env.new_model("mine")
    run_pk = env.run_pk()
    with env.db.write() as conn:
        conn.execute(insert(schema.workspaces).values(name="other", naming="flat", creation_time=0, last_update_time=0))
    other_ctx = context(env.db, "other")
    point = env.point(model_id, "x", 1.0)  # interns "x" before the write transaction
    with pytest.raises(MlflowError) as err, env.db.write() as conn:
        env.models.record_metrics(conn, other_ctx, run_pk, [point])
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowError, match="m-nope"):
        env.link(run_pk, point, env.point("m-nope", "x", 1.0))
    with env.db.read() as conn:
        assert conn.execute(select(schema.logged_model_metrics)).all() == []
    with pytest.raises(MlflowError) as err:
        env.models.get(other_ctx, model_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowError, match="dataset_name"):
        env.link(run_pk, env.point(model_id, "x", 1.0, dataset_name="d" * 501))


def test_metric_search_semantics(env: Env) -> None:
    a, b, c, d = (env.new_model(n) for n in "abcd")
    run_pk = env.run_pk()
    env.link(
        run_pk,
        env.point(a, "score", 0.1, ts=1),
        env.point(a, "score", 0.9, ts=2),  # latest point of a
        env.point(b, "score", 0.5, ts=5),
        env.point(c, "score", math.nan, ts=5),
        env.point(d, "other", 1.0),
    )
    # Any point matching is enough for a filter; NaN only satisfies "!=".
    assert env.search("metrics.score < 0.2") == [a]
    assert env.search("metrics.score > 0.4") == [b, a]
    assert env.search("metrics.score != 0.5") == [c, a]
    desc = [OrderByIn("metrics.score", ascending=False)]
    asc = [OrderByIn("metrics.score", ascending=True)]
    # Latest value per model; NaN and missing sort last in both directions.
    assert env.search(order_by=desc)[:2] == [a, b]
    assert set(env.search(order_by=desc)[2:]) == {c, d}
    assert env.search(order_by=asc)[:2] == [b, a]
    assert set(env.search(order_by=asc)[2:]) == {c, d}
    assert env.search(datasets=[DatasetFilterIn("nothing")]) == []


def test_pagination_and_deleted(env: Env) -> None:
    ids = [env.new_model(f"n{i}") for i in range(5)]
    order = [OrderByIn("name")]
    page = env.models.search(
        env.ctx,
        experiment_ids=[env.exp_id],
        filter_string=None,
        datasets=[],
        max_results=2,
        order_by=order,
        page_token=None,
    )
    seen = [m.info.model_id for m in page.items]
    while page.next_page_token:
        page = env.models.search(
            env.ctx,
            experiment_ids=[env.exp_id],
            filter_string=None,
            datasets=[],
            max_results=2,
            order_by=order,
            page_token=page.next_page_token,
        )
        seen += [m.info.model_id for m in page.items]
    assert seen == ids
    env.models.delete(env.ctx, ids[0])
    assert ids[0] not in env.search()
    assert env.models.get(env.ctx, ids[0], allow_deleted=True).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowError, match="max_results"):
        env.search(max_results=-1)
    assert (
        env.models.search(
            env.ctx, experiment_ids=[], filter_string=None, datasets=[], max_results=None, order_by=[], page_token=None
        ).items
        == []
    )
