"""Runs through the real client: lifecycle, params, metrics, tags, nested runs, batches, datasets."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


def test_fluent_run_logs_everything(tracking: object, unique: str) -> None:
    mlflow.set_experiment(f"fluent-{unique}")
    with mlflow.start_run(run_name="wf-a") as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"l1_ratio": 0.1, "solver": "lbfgs"})
        for step, loss in enumerate([1.0, 0.5, 0.25]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
        mlflow.set_tag("team", "ml")
        mlflow.set_tags({"a": "1", "b": "2"})
    got = MlflowClient().get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.info.run_name == "wf-a"
    assert got.info.artifact_uri == f"mlflow-artifacts:/{got.info.experiment_id}/{run.info.run_id}/artifacts"
    assert got.data.params == {"alpha": "0.5", "l1_ratio": "0.1", "solver": "lbfgs"}
    assert got.data.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    assert got.data.tags["team"] == "ml" and got.data.tags["a"] == "1"
    assert got.data.tags["mlflow.runName"] == "wf-a"
    assert got.data.tags["mlflow.source.type"] == "LOCAL"


def test_failed_run_and_generated_name(tracking: object, unique: str) -> None:
    mlflow.set_experiment(f"fail-{unique}")
    with pytest.raises(RuntimeError), mlflow.start_run() as run:
        raise RuntimeError("boom")
    got = MlflowClient().get_run(run.info.run_id)
    assert got.info.status == "FAILED"
    # A run without a name gets an adjective-animal-number name, mirrored in the tag.
    name = got.info.run_name
    assert name and len(name.split("-")) == 3 and name.split("-")[2].isdigit()
    assert got.data.tags["mlflow.runName"] == name


def test_nested_runs(tracking: object, unique: str) -> None:
    mlflow.set_experiment(f"nested-{unique}")
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        mlflow.log_metric("c", 1.0)
    client = MlflowClient()
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert [r.info.run_id for r in children] == [child.info.run_id]


def test_param_immutability(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"params-{unique}"))
    client.log_param(run.info.run_id, "alpha", "0.5")
    client.log_param(run.info.run_id, "alpha", "0.5")  # same value again is fine
    with pytest.raises(MlflowException) as err:
        client.log_param(run.info.run_id, "alpha", "0.6")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "alpha" in err.value.message
    with pytest.raises(MlflowException):
        client.log_batch(run.info.run_id, params=[Param("beta", "1"), Param("alpha", "changed")])
    # The rejected batch wrote nothing.
    assert client.get_run(run.info.run_id).data.params == {"alpha": "0.5"}


def test_rejected_batch_writes_nothing(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"atomic-{unique}"))
    good = [Metric("m", float(i), 1000 + i, i) for i in range(10)]
    with pytest.raises(MlflowException) as err:
        client.log_batch(run.info.run_id, metrics=good, tags=[RunTag("bad key!", "x")])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    got = client.get_run(run.info.run_id)
    assert got.data.metrics == {}
    assert "bad key!" not in got.data.tags
    assert client.get_metric_history(run.info.run_id, "m") == []


def test_nan_and_infinities_round_trip(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"nan-{unique}"))
    rid = run.info.run_id
    client.log_metric(rid, "x", float("nan"), step=0)
    client.log_metric(rid, "x", float("inf"), step=1)
    client.log_metric(rid, "x", float("-inf"), step=2)
    client.log_metric(rid, "x", 1e308, step=3)
    client.log_batch(rid, metrics=[Metric("y", float("nan"), 5, 0), Metric("z", float("-inf"), 5, 0)])
    history = client.get_metric_history(rid, "x")
    values = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf, 1e308]
    data = client.get_run(rid).data.metrics
    assert data["x"] == 1e308
    assert math.isnan(data["y"])
    assert data["z"] == -math.inf


def test_tags_last_write_wins_and_delete(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"tags-{unique}"), tags={"t": "1"})
    rid = run.info.run_id
    client.set_tag(rid, "t", "2")
    client.log_batch(rid, tags=[RunTag("t", "3"), RunTag("u", "x")])
    assert client.get_run(rid).data.tags["t"] == "3"
    client.delete_tag(rid, "u")
    assert "u" not in client.get_run(rid).data.tags
    with pytest.raises(MlflowException) as err:
        client.delete_tag(rid, "never-set")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_rename_run_updates_tag(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"rename-{unique}"), run_name="before")
    client.update_run(run.info.run_id, name="after")
    got = client.get_run(run.info.run_id)
    assert got.info.run_name == "after"
    assert got.data.tags["mlflow.runName"] == "after"
    client.set_tag(run.info.run_id, "mlflow.runName", "via-tag")
    assert client.get_run(run.info.run_id).info.run_name == "via-tag"


def test_delete_and_restore_run(tracking: object, unique: str) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment(f"rundel-{unique}")
    run = client.create_run(exp_id)
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp_id]) == []
    with pytest.raises(MlflowException) as err:
        client.log_param(run.info.run_id, "a", "b")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run.info.run_id)
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [run.info.run_id]


def test_unknown_run(tracking: object) -> None:
    with pytest.raises(MlflowException) as err:
        MlflowClient().get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_log_batch_limits(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"limits-{unique}"))
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric(f"m{i}", i, 1, 0) for i in range(1000)])
    assert len(client.get_run(rid).data.metrics) == 1000
    client.log_batch(rid, params=[Param(f"p{i}", str(i)) for i in range(100)])
    assert len(client.get_run(rid).data.params) == 100


def test_long_param_and_tag_values_are_truncated_like_mlflow(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"long-{unique}"))
    client.log_param(run.info.run_id, "p", "x" * 7000)
    client.set_tag(run.info.run_id, "t", "y" * 9000)
    got = client.get_run(run.info.run_id).data
    assert got.params["p"] == "x" * 6000
    assert got.tags["t"] == "y" * 8000


def test_datasets_and_inputs(tracking: object, unique: str) -> None:
    mlflow.set_experiment(f"data-{unique}")
    df = pd.DataFrame({"a": [1, 2, 3], "target": [0, 1, 0]})
    dataset = from_pandas(df, source="s3://bucket/iris.csv", name="iris-train", targets="target")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"version": "1"})
        mlflow.log_input(dataset, context="training")  # the same input twice is recorded once
    got = MlflowClient().get_run(run.info.run_id)
    assert got.inputs is not None
    inputs = got.inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "iris-train"
    assert inputs[0].dataset.digest == dataset.digest
    assert inputs[0].dataset.source_type == "s3"
    assert inputs[0].dataset.schema is not None and "mlflow_colspec" in inputs[0].dataset.schema
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags == {"version": "1", "mlflow.data.context": "training"}

    client = MlflowClient()
    exp_ids = [run.info.experiment_id]
    assert len(client.search_runs(exp_ids, "datasets.name = 'iris-train'")) == 1
    assert len(client.search_runs(exp_ids, "datasets.context = 'training'")) == 1
    assert len(client.search_runs(exp_ids, f"datasets.digest IN ('{dataset.digest}', 'x')")) == 1
    assert client.search_runs(exp_ids, "datasets.name = 'other'") == []
