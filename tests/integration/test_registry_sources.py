"""Model-version sources can only point inside their own run's or logged model's artifacts (DESIGN §5):
the attack strings of the MLflow source/path-traversal CVEs are refused with 400 and write nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from tests.conftest import ServerProcess


def _api(server: ServerProcess) -> str:
    return f"{server.url}/api/2.0/mlflow"


def _create(server: ServerProcess, name: str, source: str, **fields: str) -> httpx.Response:
    return httpx.post(f"{_api(server)}/model-versions/create", json={"name": name, "source": source, **fields})


def _runs(client: MlflowClient, tmp_path: Path, unique: str) -> tuple[str, str, str]:
    exp_id = client.create_experiment(f"src-{unique}")
    mine, other = (client.create_run(exp_id).info.run_id for _ in range(2))
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    for run_id in (mine, other):
        client.log_artifact(run_id, str(tmp_path / "MLmodel"), "model")
    return exp_id, mine, other


def test_run_source_attacks_are_refused(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    exp, run, other = _runs(client, tmp_path, unique)
    name = f"src-{unique}"
    client.create_registered_model(name)
    root = f"mlflow-artifacts:/{exp}/{run}/artifacts"
    attacks = [
        "/etc/passwd",
        "file:///etc/passwd",
        "file:/etc/passwd",
        "FILE:///etc/passwd",
        f"file://localhost/{tracking.data_dir}/artifacts/{exp}/{run}/artifacts/model",
        str(tracking.data_dir / "artifacts" / exp / run / "artifacts" / "model"),
        str(tracking.data_dir / "artifacts" / "workspaces" / "default" / exp / run / "artifacts" / "model"),
        "model",
        "./model",
        "../../etc",
        "C:\\models\\model",
        "\\\\server\\share\\model",
        f"runs:/{other}/model",
        f"runs:/{run}/../{other}/artifacts/model",
        f"runs:/{run}/model/../../{other}/model",
        f"runs:/{run}/%2e%2e/{other}/model",
        f"runs:/{run}/%252e%252e/{other}/model",
        f"runs:/{run}/model%2f..%2f..%2f{other}",
        f"runs:/{run}/model%00",
        f"runs:/{run}/model\x00",
        f"runs:/{run}/model\\..\\..\\{other}",
        f"runs:/{run}/model;type=a",
        f"runs:/{run}/model?path=../../",
        f"runs:/{run}/model#../../x",
        f"runs:/{run}/./model",
        f"runs:/{run}//model",
        f"runs://evil.example/{run}/model",
        f"runs:{run}/model",
        f"{root}/../../{other}/artifacts/model",
        f"{root}/%2e%2e/%2e%2e/{other}/artifacts/model",
        f"{root}%2F..%2F..%2F{other}%2Fartifacts",
        f"mlflow-artifacts:/{exp}/{other}/artifacts/model",
        f"mlflow-artifacts://evil.example/{exp}/{run}/artifacts/model",
        f"mlflow-artifacts:/{exp}/{run}",
        f"mlflow-artifacts:/{exp}/{run}/artifactsX/model",
        f"mlflow-artifacts:{exp}/{run}/artifacts/model",
        f"{tracking.url}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/model",
        f"{tracking.url}/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/../../{other}",
        "s3://bucket/models/model",
        "hdfs:///models/model",
        "models://evil.example/m-0123456789abcdef0123456789abcdef",
        "models:/m-0123456789abcdef0123456789abcdef",
        f"models:/missing-{unique}/1",
        f"models:/{name}/1",  # no version 1 yet
    ]
    refused = []
    for source in attacks:
        resp = _create(tracking, name, source, run_id=run)
        if resp.status_code != 400 or resp.json()["error_code"] != "INVALID_PARAMETER_VALUE":
            refused.append((source, resp.status_code, resp.text))
    assert refused == []
    # runs:/ without the run_id, and a run_id naming another run
    assert _create(tracking, name, f"runs:/{run}/model").status_code == 400
    assert _create(tracking, name, f"{root}/model", run_id=other).status_code == 400
    assert _create(tracking, name, "").json()["error_code"] == "INVALID_PARAMETER_VALUE"

    # Nothing was written and no version number was spent.
    assert client.search_model_versions(f"name = '{name}'") == []
    assert client.create_model_version(name, f"runs:/{run}/model", run).version == "1"
    assert client.create_model_version(name, f"{root}/model", run).version == "2"
    assert client.create_model_version(name, root, run).version == "3"
    assert client.create_model_version(name, f"models:/{name}/1", run).version == "4"


def test_model_source_attacks_are_refused(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    if httpx.post(f"{_api(tracking)}/logged-models", json={}).status_code == 404:
        pytest.skip("logged models are not served yet")
    client = MlflowClient()
    exp, run, other = _runs(client, tmp_path, unique)
    mine = client.create_logged_model(exp, name="model", source_run_id=run).model_id
    theirs = client.create_logged_model(exp, name="model", source_run_id=other).model_id
    name = f"lm-src-{unique}"
    client.create_registered_model(name)
    attacks = [
        (f"models:/{theirs}", {"model_id": mine}),
        (f"models:/{mine}", {"model_id": theirs}),
        (f"models:/{mine}", {}),  # the model_id must be given, as in MLflow
        (f"models://evil.example/{mine}", {"model_id": mine}),
        (f"models:/{mine}/../{theirs}", {"model_id": mine}),
        (f"mlflow-artifacts:/{exp}/models/{theirs}/artifacts", {"model_id": mine}),
        (f"mlflow-artifacts:/{exp}/models/{mine}/artifacts/../../{theirs}/artifacts", {"model_id": mine}),
        (f"mlflow-artifacts:/{exp}/models/{mine}", {"model_id": mine}),
        (f"runs:/{run}/model", {"model_id": mine}),
        (f"models:/{mine}", {"model_id": mine, "run_id": other}),
        (f"models:/{mine}", {"model_id": "m-0123456789abcdef0123456789abcdef"}),
        ("file:///etc/passwd", {"model_id": mine}),
    ]
    bad = []
    for source, fields in attacks:
        resp = _create(tracking, name, source, **fields)
        if resp.status_code != 400 or resp.json()["error_code"] != "INVALID_PARAMETER_VALUE":
            bad.append((source, fields, resp.status_code, resp.text))
    assert bad == []

    v1 = client.create_model_version(name, f"models:/{mine}", model_id=mine)
    assert (v1.version, v1.run_id) == ("1", run)  # run_id filled from the logged model
    model_root = client.get_logged_model(mine).artifact_location
    assert client.get_model_version_download_uri(name, "1") == model_root
    v2 = client.create_model_version(name, f"{model_root}/sub", model_id=mine, run_id=run)
    assert v2.version == "2"
    assert client.get_model_version_download_uri(name, "2") == f"{model_root}/sub"
    # runs:/<run>/<name> of an MLflow 3 model resolves to the logged model's artifacts.
    v3 = client.create_model_version(name, f"runs:/{other}/model", other)
    assert client.get_model_version_download_uri(name, v3.version) == client.get_logged_model(theirs).artifact_location
    # The reference server also lists the registered versions on the logged model.
    assert '"version": 1' in client.get_logged_model(mine).tags["mlflow.modelVersions"]
