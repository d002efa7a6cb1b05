"""search_runs through the real client: every filter form, ordering with NULL/NaN, pagination, view types."""

from __future__ import annotations

import math
from collections.abc import Sequence

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, Run, RunTag, ViewType
from mlflow.exceptions import MlflowException


@pytest.fixture
def corpus(tracking: object, unique: str) -> tuple[str, list[str]]:
    """Ten finished runs with params/metrics/tags and one run missing them."""
    client = MlflowClient()
    exp_id = client.create_experiment(f"search-{unique}")
    ids = []
    for i in range(10):
        run = client.create_run(exp_id, run_name=f"run-{i}", start_time=1_000_000 + i)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("loss", 1.0 / (i + 1), 0, 0), Metric("acc", i / 10, 0, 0)],
            params=[Param("alpha", str(i % 3)), Param("solver", "lbfgs" if i % 2 else "Adam")],
            tags=[RunTag("grp", "even" if i % 2 == 0 else "odd"), RunTag("note", f"Note {i}")],
        )
        client.set_terminated(run.info.run_id, "FINISHED" if i < 8 else "FAILED")
        ids.append(run.info.run_id)
    bare = client.create_run(exp_id, run_name="bare", start_time=999_999)
    ids.append(bare.info.run_id)
    return exp_id, ids


def names(runs: Sequence[Run]) -> list[str]:
    found = []
    for r in runs:
        assert r.info.run_name is not None  # every run these tests create is named
        found.append(r.info.run_name)
    return found


def test_filters(corpus: tuple[str, list[str]]) -> None:
    exp_id, ids = corpus
    c = MlflowClient()

    def search(f: str) -> set[str]:
        return set(names(c.search_runs([exp_id], f)))

    assert search("metrics.loss < 0.2") == {"run-5", "run-6", "run-7", "run-8", "run-9"}
    assert search("metrics.acc >= 0.8 and params.alpha = '2'") == {"run-8"}
    assert search("params.solver = 'Adam' AND tags.grp != 'odd'") == {"run-0", "run-2", "run-4", "run-6", "run-8"}
    assert search("attributes.status = 'FAILED'") == {"run-8", "run-9"}
    assert search("status != 'RUNNING' and metrics.loss > 0.5") == {"run-0"}
    assert search("attributes.run_name LIKE 'run-1%'") == {"run-1"}
    assert search("run_name ILIKE 'RUN-2'") == {"run-2"}
    assert search("tags.note LIKE 'Note %'") == {f"run-{i}" for i in range(10)}
    assert search("tags.note LIKE 'note %'") == set()
    assert search("tags.note ILIKE 'note 1%'") == {"run-1"}
    assert search(f"attributes.run_id IN ('{ids[0]}', '{ids[3]}')") == {"run-0", "run-3"}
    assert search(f"attributes.run_id NOT IN ('{ids[0]}')") == {f"run-{i}" for i in range(1, 10)} | {"bare"}
    assert search("attributes.start_time > 1000007") == {"run-8", "run-9"}
    assert search("attributes.end_time > 0 and attributes.start_time <= 1000001") == {"run-0", "run-1"}
    assert search("tags.grp IS NULL") == {"bare"}
    assert search("params.`solver` = 'lbfgs' and metrics.`loss` <= 0.5") == {
        "run-1",
        "run-3",
        "run-5",
        "run-7",
        "run-9",
    }
    assert search('tags."grp" = "odd" and params.alpha = "1"') == {"run-1", "run-7"}
    assert search("attributes.user_id = 'nobody'") == set()


def test_order_by_and_null_ordering(corpus: tuple[str, list[str]]) -> None:
    exp_id, _ = corpus
    c = MlflowClient()
    asc = names(c.search_runs([exp_id], order_by=["metrics.loss ASC"]))
    assert asc == [f"run-{i}" for i in reversed(range(10))] + ["bare"]
    desc = names(c.search_runs([exp_id], order_by=["metrics.loss DESC"]))
    assert desc == [f"run-{i}" for i in range(10)] + ["bare"]  # missing values last in both directions
    multi = names(c.search_runs([exp_id], order_by=["params.alpha DESC", "attributes.start_time ASC"]))
    assert multi[:3] == ["run-2", "run-5", "run-8"]
    assert multi[-1] == "bare"
    default = names(c.search_runs([exp_id]))
    assert default == [f"run-{i}" for i in reversed(range(10))] + ["bare"]  # start_time DESC
    by_name = names(c.search_runs([exp_id], order_by=["attributes.run_name ASC"]))
    assert by_name == sorted(by_name)


def test_nan_sorts_after_numbers(tracking: object, unique: str) -> None:
    c = MlflowClient()
    exp_id = c.create_experiment(f"nansort-{unique}")
    for i, v in enumerate([2.0, float("nan"), 1.0]):
        run = c.create_run(exp_id, run_name=f"r{i}")
        c.log_metric(run.info.run_id, "m", v)
    c.create_run(exp_id, run_name="none")
    assert names(c.search_runs([exp_id], order_by=["metrics.m ASC"])) == ["r2", "r0", "r1", "none"]
    assert names(c.search_runs([exp_id], order_by=["metrics.m DESC"])) == ["r0", "r2", "r1", "none"]
    assert set(names(c.search_runs([exp_id], "metrics.m != 1"))) == {"r0", "r1"}
    assert set(names(c.search_runs([exp_id], "metrics.m >= 0"))) == {"r0", "r2"}
    assert math.isnan(c.search_runs([exp_id], "attributes.run_name = 'r1'")[0].data.metrics["m"])


def test_pagination(corpus: tuple[str, list[str]]) -> None:
    exp_id, ids = corpus
    c = MlflowClient()
    seen: list[str] = []
    token = None
    while True:
        page = c.search_runs([exp_id], max_results=3, order_by=["attributes.run_name ASC"], page_token=token)
        assert len(page) <= 3
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    everything = mlflow.search_runs(experiment_ids=[exp_id], output_format="list")
    assert len(everything) == len(ids)


def test_view_types_and_multiple_experiments(corpus: tuple[str, list[str]], unique: str) -> None:
    exp_id, ids = corpus
    c = MlflowClient()
    other = c.create_experiment(f"other-{unique}")
    extra = c.create_run(other, run_name="extra")
    c.delete_run(ids[0])
    active = names(c.search_runs([exp_id, other]))
    assert "run-0" not in active and "extra" in active
    assert names(c.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)) == ["run-0"]
    assert len(c.search_runs([exp_id], run_view_type=ViewType.ALL)) == len(ids)
    assert extra.info.run_id in [r.info.run_id for r in c.search_runs([other])]


def test_search_returns_full_runs(corpus: tuple[str, list[str]]) -> None:
    exp_id, _ = corpus
    run = MlflowClient().search_runs([exp_id], "attributes.run_name = 'run-4'")[0]
    assert run.data.params == {"alpha": "1", "solver": "Adam"}
    assert run.data.metrics == {"loss": 0.2, "acc": 0.4}
    assert run.data.tags["grp"] == "even"


@pytest.mark.parametrize(
    "bad",
    [
        "metrics.loss >> 1",
        "params.alpha = 1",
        "metrics.loss < 'abc'",
        "unknown.x = '1'",
        "attributes.nope = 'x'",
        "metrics.loss < 1 OR metrics.loss > 2",
        "params.alpha = 'unterminated",
        "(metrics.loss < 1",
        "params.alpha IN ('0', '1')",
    ],
)
def test_invalid_filters(corpus: tuple[str, list[str]], bad: str) -> None:
    exp_id, _ = corpus
    with pytest.raises(MlflowException) as err:
        MlflowClient().search_runs([exp_id], bad)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_invalid_order_by_and_max_results(corpus: tuple[str, list[str]]) -> None:
    exp_id, _ = corpus
    c = MlflowClient()
    for order in (["metrics.loss SIDEWAYS"], ["nothing.x"], ["metrics.loss ASC", "metrics.loss DESC"]):
        with pytest.raises(MlflowException) as err:
            c.search_runs([exp_id], order_by=order)
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        c.search_runs([exp_id], max_results=50001)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
