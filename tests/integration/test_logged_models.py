"""MLflow 3 logged models through the real client: lifecycle, params, tags, search, linked metrics,
`set_active_model`, `pyfunc.log_model` + `load_model`, and the error contract over raw HTTP."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import mlflow.pyfunc
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.model import PythonModel
from sqlalchemy import insert

import runyard.services.runs
from runyard.config import normalise_database_url
from runyard.store import schema
from runyard.store.database import Database
from tests.conftest import ServerProcess

# Also run against PostgreSQL with artifacts in S3 (a moto server process; see tests/conftest.py).
ALSO_ON_S3 = True

API = "/api/2.0/mlflow"
MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")

# The runs write path links metric points to models by calling LoggedModelService.record_metrics;
# until it does, the tests that need linked metrics are skipped (not failed).
linked_metrics = pytest.mark.skipif(
    "record_metrics" not in inspect.getsource(runyard.services.runs),
    reason="runs write path does not call LoggedModelService.record_metrics yet",
)


class AddN(PythonModel):
    """A tiny model: adds `n` to every input value."""

    def __init__(self, n: int) -> None:
        self.n = n

    def predict(self, context: Any, model_input: list[int], params: Any = None) -> list[int]:
        return [x + self.n for x in model_input]


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def experiment(name: str) -> str:
    return str(mlflow.set_experiment(name).experiment_id)


def assert_error(resp: httpx.Response, status: int, code: str, *needles: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_code"] == code, body
    for needle in needles:
        assert needle in body["message"], body


# --- lifecycle --------------------------------------------------------------------------------


def test_initialize_params_tags_finalize_get(tracking: ServerProcess, unique: str) -> None:
    exp_id = experiment(f"lm-life-{unique}")
    model = mlflow.initialize_logged_model(
        name="my-lm", tags={"t": "1"}, params={"p": "1"}, model_type="agent", experiment_id=exp_id
    )
    assert MODEL_ID.match(model.model_id)
    assert model.status == LoggedModelStatus.PENDING
    assert model.experiment_id == exp_id
    assert model.name == "my-lm" and model.model_type == "agent"
    assert model.artifact_location == f"mlflow-artifacts:/{exp_id}/models/{model.model_id}/artifacts"
    assert model.params == {"p": "1"}
    assert model.tags["t"] == "1" and model.tags["mlflow.source.type"] == "LOCAL"
    assert model.creation_timestamp == model.last_updated_timestamp

    mlflow.log_model_params({"lr": "0.1"}, model_id=model.model_id)
    mlflow.set_logged_model_tags(model.model_id, {"k": "v", "k2": 2})
    mlflow.delete_logged_model_tag(model.model_id, "k")
    ready = mlflow.finalize_logged_model(model.model_id, "READY")
    assert ready.status == LoggedModelStatus.READY
    assert ready.last_updated_timestamp >= model.last_updated_timestamp

    got = mlflow.get_logged_model(model.model_id)
    assert got.status == LoggedModelStatus.READY
    assert got.params == {"lr": "0.1", "p": "1"}
    assert got.tags["k2"] == "2" and "k" not in got.tags
    assert got.metrics == []

    failed = mlflow.finalize_logged_model(mlflow.initialize_logged_model(experiment_id=exp_id).model_id, "FAILED")
    assert failed.status == LoggedModelStatus.FAILED
    # A model without a name gets a generated adjective-noun-number name.
    assert len(failed.name.split("-")) == 3


def test_wire_shape_matches_reference(http: httpx.Client, unique: str) -> None:
    exp_id = http.post(f"{API}/experiments/create", json={"name": f"lm-shape-{unique}"}).json()["experiment_id"]
    resp = http.post(f"{API}/logged-models", json={"experiment_id": exp_id, "name": "client-lm"})
    assert resp.status_code == 200, resp.text
    model = resp.json()["model"]
    info = model["info"]
    assert set(info) == {
        "model_id",
        "experiment_id",
        "name",
        "creation_timestamp_ms",
        "last_updated_timestamp_ms",
        "artifact_uri",
        "status",
        "model_type",
        "source_run_id",
    }
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["model_type"] == "" and info["source_run_id"] == ""
    assert model["data"] == {}
    # Finalize by enum name or number; the body's model_id may be omitted.
    resp = http.patch(f"{API}/logged-models/{info['model_id']}", json={"status": 2})
    assert resp.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    resp = http.patch(f"{API}/logged-models/{info['model_id']}/tags", json={"tags": [{"key": "b", "value": "2"}]})
    assert resp.status_code == 200 and resp.json() == {}
    http.patch(f"{API}/logged-models/{info['model_id']}/tags", json={"tags": [{"key": "a", "value": "1"}]})
    http.post(f"{API}/logged-models/{info['model_id']}/params", json={"params": [{"key": "z", "value": "1"}]})
    got = http.get(f"/ajax-api/2.0/mlflow/logged-models/{info['model_id']}").json()["model"]
    assert got["info"]["tags"] == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert got["data"] == {"params": [{"key": "z", "value": "1"}]}


def test_delete_logged_model(tracking: ServerProcess, unique: str) -> None:
    exp_id = experiment(f"lm-del-{unique}")
    client = MlflowClient()
    model = client.create_logged_model(exp_id, name="gone")
    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as err:
        client.get_logged_model(model.model_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert f"Logged model with ID '{model.model_id}' not found." in err.value.message
    assert client.search_logged_models([exp_id]) == []


# --- search -----------------------------------------------------------------------------------


def test_search_filters_order_and_pagination(tracking: ServerProcess, unique: str) -> None:
    exp_id = experiment(f"lm-search-{unique}")
    created = []
    for i in range(5):
        created.append(
            mlflow.initialize_logged_model(
                name=f"model-{i}",
                params={"lr": str(i / 10), "opt": "adam" if i % 2 else "sgd"},
                tags={"team": "a" if i < 3 else "b"},
                model_type="clf" if i < 4 else "reg",
                experiment_id=exp_id,
            )
        )
    mlflow.finalize_logged_model(created[0].model_id, "READY")
    ids = [m.model_id for m in created]
    client = MlflowClient()

    def search(filter_string: str | None = None, **kwargs: Any) -> list[str]:
        found = mlflow.search_logged_models(
            experiment_ids=[exp_id], filter_string=filter_string, output_format="list", **kwargs
        )
        return [m.model_id for m in found]

    # Default order: newest first.
    assert search() == ids[::-1]
    assert search("name = 'model-3'") == [ids[3]]
    assert search("name LIKE 'model-%' AND tags.team = 'b'") == [ids[4], ids[3]]
    assert search("params.opt = 'adam'") == [ids[3], ids[1]]
    assert search("params.lr IN ('0.1', '0.2')") == [ids[2], ids[1]]
    assert search("model_type != 'clf'") == [ids[4]]
    assert search("status = 'READY'") == [ids[0]]
    assert search("status = 'LOGGED_MODEL_PENDING'") == ids[:0:-1]
    assert (
        search(f"creation_time >= {created[2].creation_timestamp}")
        == [m.model_id for m in created if m.creation_timestamp >= created[2].creation_timestamp][::-1]
    )
    assert search("tags.missing = 'x'") == []
    assert search(order_by=[{"field_name": "name", "ascending": True}]) == ids
    assert search(order_by=[{"field_name": "creation_time", "ascending": True}])[0] == ids[0]

    # Pagination: max_results per page, tokens until exhausted.
    page = client.search_logged_models([exp_id], max_results=2, order_by=[{"field_name": "name"}])
    seen = [m.model_id for m in page]
    while page.token:
        page = client.search_logged_models(
            [exp_id], max_results=2, order_by=[{"field_name": "name"}], page_token=page.token
        )
        assert len(page) <= 2
        seen += [m.model_id for m in page]
    assert seen == ids
    # The fluent API pages through everything itself.
    assert len(mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list", max_results=3)) == 3

    with pytest.raises(MlflowException) as err:
        search("params.lr > 1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        search(order_by=[{"field_name": "params.lr"}])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


@linked_metrics
def test_metrics_logged_with_model_id(tracking: ServerProcess, unique: str) -> None:
    exp_id = experiment(f"lm-metrics-{unique}")
    models = [mlflow.initialize_logged_model(name=f"scored-{i}", experiment_id=exp_id) for i in range(3)]
    with mlflow.start_run() as run:
        for model, score in zip(models, [0.7, 0.9, 0.2], strict=True):
            mlflow.log_metric("score", score, model_id=model.model_id)
        mlflow.log_metric("score", 0.95, step=1, model_id=models[2].model_id)  # latest point wins the sort
        mlflow.log_metrics({"acc": 0.5, "f1": 0.4}, model_id=models[0].model_id)
        eval_ds = from_pandas(pd.DataFrame({"x": [1, 2]}), name="eval-set")
        mlflow.log_metric("acc", 0.8, model_id=models[1].model_id, dataset=eval_ds)

    got = mlflow.get_logged_model(models[0].model_id).metrics
    assert got is not None
    by_key = {m.key: m for m in got}
    assert set(by_key) == {"score", "acc", "f1"}
    assert by_key["score"].value == 0.7 and by_key["score"].run_id == run.info.run_id
    assert by_key["score"].model_id == models[0].model_id
    scored = mlflow.get_logged_model(models[2].model_id).metrics
    assert scored is not None
    assert sorted((m.step, m.value) for m in scored) == [(0, 0.2), (1, 0.95)]
    with_ds = mlflow.get_logged_model(models[1].model_id).metrics
    assert with_ds is not None
    acc = next(m for m in with_ds if m.key == "acc")
    assert acc.dataset_name == "eval-set" and acc.dataset_digest == eval_ds.digest

    ids = [m.model_id for m in models]

    def search(filter_string: str | None = None, **kwargs: Any) -> list[str]:
        found = mlflow.search_logged_models(
            experiment_ids=[exp_id], filter_string=filter_string, output_format="list", **kwargs
        )
        return [m.model_id for m in found]

    # A metric clause matches when any point of the key matches.
    assert search("metrics.score > 0.5") == [ids[2], ids[1], ids[0]]
    assert search("metrics.score < 0.5") == [ids[2]]
    assert search("metrics.score > 0.5 AND metrics.f1 >= 0.4") == [ids[0]]
    assert search("metrics.nothing > 0") == []
    # Ordering uses the latest point; models without the metric come last either way.
    assert search(order_by=[{"field_name": "metrics.score", "ascending": False}]) == [ids[2], ids[1], ids[0]]
    assert search(order_by=[{"field_name": "metrics.score", "ascending": True}]) == [ids[0], ids[1], ids[2]]
    assert search(order_by=[{"field_name": "metrics.acc", "ascending": True}]) == [ids[0], ids[1], ids[2]]
    assert search(order_by=[{"field_name": "metrics.acc", "ascending": True, "dataset_name": "eval-set"}]) == [
        ids[1],
        ids[2],
        ids[0],
    ]
    # `datasets` restricts metric clauses (and, alone, keeps models with metrics on those datasets).
    assert search("metrics.acc > 0", datasets=[{"dataset_name": "eval-set"}]) == [ids[1]]
    assert search(datasets=[{"dataset_name": "eval-set", "dataset_digest": eval_ds.digest}]) == [ids[1]]
    assert search(datasets=[{"dataset_name": "other"}]) == []


@linked_metrics
def test_metric_for_unknown_model_is_refused_and_writes_nothing(http: httpx.Client, unique: str) -> None:
    exp_id = http.post(f"{API}/experiments/create", json={"name": f"lm-unknown-{unique}"}).json()["experiment_id"]
    run_id = http.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()["run"]["info"]["run_id"]
    missing = "m-" + "0" * 32
    resp = http.post(
        f"{API}/runs/log-batch",
        json={
            "run_id": run_id,
            "metrics": [
                {"key": "ok", "value": 1, "timestamp": 1, "step": 0},
                {"key": "lm", "value": 1, "timestamp": 1, "step": 0, "model_id": missing},
            ],
        },
    )
    assert_error(resp, 404, "RESOURCE_DOES_NOT_EXIST", missing)
    run = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    assert "metrics" not in run["data"]


# --- the fluent model APIs --------------------------------------------------------------------


def test_set_active_model(tracking: ServerProcess, unique: str) -> None:
    exp_id = experiment(f"lm-active-{unique}")
    active = mlflow.set_active_model(name="active-lm")
    assert MODEL_ID.match(active.model_id)
    assert mlflow.get_active_model_id() == active.model_id
    model = mlflow.get_logged_model(active.model_id)
    assert model.experiment_id == exp_id and model.tags["mlflow.model.isExternal"] == "true"
    # The second time the client finds the model by name instead of creating one.
    again = mlflow.set_active_model(name="active-lm")
    assert again.model_id == active.model_id
    mlflow.clear_active_model()


def test_pyfunc_log_and_load_model(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    experiment(f"lm-pyfunc-{unique}")
    with mlflow.start_run() as run:
        mlflow.log_param("n", 3)
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(3), pip_requirements=["mlflow"])
        (tmp_path / "notes.txt").write_text("hello")
        mlflow.log_artifact(str(tmp_path / "notes.txt"), "some/dir")
    run_id = run.info.run_id
    assert info.model_uri == f"models:/{info.model_id}"

    model = mlflow.get_logged_model(info.model_id)
    assert model.status == LoggedModelStatus.READY
    assert model.source_run_id == run_id and model.name == "model"
    assert model.params == {"n": "3"}
    outputs = MlflowClient().get_run(run_id).outputs
    assert outputs is not None
    assert [o.model_id for o in outputs.model_outputs] == [info.model_id]

    assert mlflow.pyfunc.load_model(info.model_uri).predict([1, 2]) == [4, 5]
    assert mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict([10]) == [13]

    client = MlflowClient()
    # Listing a run sub-directory also searches logged models named like its first segment.
    assert [f.path for f in client.list_artifacts(run_id, "some/dir")] == ["some/dir/notes.txt"]
    # A run's "model" path lists the files of its logged model.
    listed = {f.path for f in client.list_artifacts(run_id, "model")}
    assert {"model/MLmodel", "model/python_model.pkl"} <= listed
    assert {"MLmodel", "python_model.pkl"} <= {f.path for f in client.list_logged_model_artifacts(info.model_id)}


def test_list_artifact_directories_endpoint(tracking: ServerProcess, http: httpx.Client, unique: str) -> None:
    experiment(f"lm-dirs-{unique}")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(1), pip_requirements=["mlflow"])
    resp = http.get(f"{API}/logged-models/{info.model_id}/artifacts/directories")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["root_uri"] == mlflow.get_logged_model(info.model_id).artifact_location
    files = {f["path"]: f for f in body["files"]}
    assert files["MLmodel"]["is_dir"] is False and files["MLmodel"]["file_size"] > 0
    resp = http.get(
        f"{API}/logged-models/{info.model_id}/artifacts/directories", params={"artifact_directory_path": "nope"}
    )
    assert "files" not in resp.json()
    resp = http.get(
        f"{API}/logged-models/{info.model_id}/artifacts/directories",
        params={"artifact_directory_path": "../../x"},
    )
    assert_error(resp, 400, "INVALID_PARAMETER_VALUE")


# --- errors and isolation ---------------------------------------------------------------------


def test_errors(http: httpx.Client, unique: str) -> None:
    exp_id = http.post(f"{API}/experiments/create", json={"name": f"lm-errors-{unique}"}).json()["experiment_id"]
    missing = "m-" + "f" * 32
    assert_error(
        http.get(f"{API}/logged-models/{missing}"), 404, "RESOURCE_DOES_NOT_EXIST", f"Logged model with ID '{missing}'"
    )
    assert_error(
        http.patch(f"{API}/logged-models/{missing}", json={"status": "LOGGED_MODEL_READY"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert_error(
        http.request("DELETE", f"{API}/logged-models/{missing}", json={"model_id": missing}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert_error(http.post(f"{API}/logged-models", json={}), 400, "INVALID_PARAMETER_VALUE", "experiment_id")
    assert_error(http.post(f"{API}/logged-models", json={"experiment_id": "987654"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(
        http.post(f"{API}/logged-models", json={"experiment_id": exp_id, "name": "a/b"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid model name",
    )
    model_id = http.post(f"{API}/logged-models", json={"experiment_id": exp_id}).json()["model"]["info"]["model_id"]
    assert_error(http.patch(f"{API}/logged-models/{model_id}", json={}), 400, "INVALID_PARAMETER_VALUE", "status")
    assert_error(
        http.patch(f"{API}/logged-models/{model_id}", json={"status": "DONE"}), 400, "INVALID_PARAMETER_VALUE", "status"
    )
    assert_error(
        http.delete(f"{API}/logged-models/{model_id}/tags/nope"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"No tag with key 'nope' found for model with ID '{model_id}'",
    )
    http.post(f"{API}/logged-models/{model_id}/params", json={"params": [{"key": "p", "value": "1"}]})
    resp = http.post(f"{API}/logged-models/{model_id}/params", json={"params": [{"key": "p", "value": "1"}]})
    assert resp.status_code == 200  # the same value again is fine
    resp = http.post(f"{API}/logged-models/{model_id}/params", json={"params": [{"key": "p", "value": "2"}]})
    assert_error(resp, 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed")

    search = f"{API}/logged-models/search"
    assert_error(
        http.post(search, json={"experiment_ids": [exp_id], "filter": "metrics.x >> 1"}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert_error(
        http.post(search, json={"experiment_ids": [exp_id], "filter": "bogus = 'x'"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "bogus",
    )
    assert_error(
        http.post(search, json={"experiment_ids": [exp_id], "order_by": [{"field_name": "bogus"}]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "bogus",
    )
    assert_error(
        http.post(search, json={"experiment_ids": [exp_id], "datasets": [{"dataset_digest": "d"}]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "dataset_name",
    )
    assert_error(
        http.post(search, json={"experiment_ids": [exp_id], "page_token": "%%%"}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert_error(http.post(search, json={"experiment_ids": ["abc"]}), 400, "INVALID_PARAMETER_VALUE")
    assert http.post(search, json={"experiment_ids": [exp_id], "filter": "name = 'nothing'"}).json() == {}


def create_workspace(server: ServerProcess, http: httpx.Client, name: str) -> None:
    """Through the workspaces API when the server has it, else straight into the store."""
    if http.post("/api/3.0/mlflow/workspaces", json={"name": name}).status_code in (200, 201):
        return
    url = server.backend_store_uri or f"sqlite:///{(server.data_dir / 'runyard.db').resolve()}"
    db = Database(normalise_database_url(url), pool=False)
    try:
        with db.write() as conn:
            conn.execute(
                insert(schema.workspaces).values(name=name, naming="flat", creation_time=0, last_update_time=0)
            )
    finally:
        db.dispose()


def test_models_are_isolated_by_workspace(server: ServerProcess, http: httpx.Client, unique: str) -> None:
    workspace = f"lm-ws-{unique}"
    create_workspace(server, http, workspace)
    other = {"X-MLFLOW-WORKSPACE": workspace}
    exp_id = http.post(f"{API}/experiments/create", json={"name": f"lm-iso-{unique}"}, headers=other).json()[
        "experiment_id"
    ]
    resp = http.post(f"{API}/logged-models", json={"experiment_id": exp_id, "name": "hidden"}, headers=other)
    model_id = resp.json()["model"]["info"]["model_id"]
    assert http.get(f"{API}/logged-models/{model_id}", headers=other).status_code == 200

    # From the default workspace the model does not exist, for reads and writes alike.
    assert_error(http.get(f"{API}/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(
        http.patch(f"{API}/logged-models/{model_id}/tags", json={"tags": [{"key": "a", "value": "b"}]}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert_error(http.request("DELETE", f"{API}/logged-models/{model_id}", json={}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert http.post(f"{API}/logged-models/search", json={"experiment_ids": [exp_id]}).json() == {}
    assert (
        len(http.post(f"{API}/logged-models/search", json={"experiment_ids": [exp_id]}, headers=other).json()["models"])
        == 1
    )
