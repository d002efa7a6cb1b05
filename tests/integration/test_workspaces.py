"""Workspaces through the real client: `mlflow.set_workspace`, the workspace API, isolation between
workspaces, the `/w/<workspace>` URL form, and the flat/path experiment naming conventions."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import mlflow.pyfunc
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.model import PythonModel

from tests.conftest import ServerProcess


@pytest.fixture
def workspaces(tracking: ServerProcess, unique: str) -> Iterator[tuple[str, str]]:
    a, b = f"team-a-{unique}", f"team-b-{unique}"
    mlflow.create_workspace(a, description="team A")
    mlflow.create_workspace(b)
    yield a, b
    mlflow.set_workspace(None)


def _in(workspace: str | None) -> MlflowClient:
    mlflow.set_workspace(workspace)
    return MlflowClient()


def test_workspace_api(workspaces: tuple[str, str], unique: str) -> None:
    a, b = workspaces
    names = [w.name for w in mlflow.list_workspaces()]
    assert {"default", a, b} <= set(names)
    assert mlflow.get_workspace(a).description == "team A"
    mlflow.update_workspace(a, description="renamed team")
    assert mlflow.get_workspace(a).description == "renamed team"
    with pytest.raises(MlflowException) as err:
        mlflow.create_workspace(a)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as err:
        mlflow.get_workspace(f"nope-{unique}")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    for bad in ("A", "x", "-bad", "has_underscore", "api", "a" * 64):
        with pytest.raises(MlflowException):
            mlflow.create_workspace(bad)


def test_unknown_workspace_header_is_refused(tracking: ServerProcess, unique: str) -> None:
    with httpx.Client(base_url=tracking.url) as http:
        resp = http.get(
            "/api/2.0/mlflow/experiments/get",
            params={"experiment_id": "0"},
            headers={"X-MLFLOW-WORKSPACE": f"ghost-{unique}"},
        )
        assert resp.status_code == 404
        assert resp.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert f"ghost-{unique}" in resp.json()["message"]
        info = http.get("/api/3.0/mlflow/server-info", headers={"X-MLFLOW-WORKSPACE": f"ghost-{unique}"})
        assert info.status_code == 200 and info.json()["workspaces_enabled"] is True


def test_same_names_stay_separate_and_isolated(workspaces: tuple[str, str], tmp_path: Path) -> None:
    a, b = workspaces
    ids = {}
    runs = {}
    for ws in (a, b):
        mlflow.set_workspace(ws)
        exp = mlflow.set_experiment("iris-classifier")
        ids[ws] = exp.experiment_id
        with mlflow.start_run() as run:
            mlflow.log_param("owner", ws)
            mlflow.log_text(f"secret of {ws}", "secret.txt")
        runs[ws] = run.info.run_id
    assert ids[a] != ids[b]

    client_b = _in(b)
    found = client_b.get_experiment_by_name("iris-classifier")
    assert found is not None and found.experiment_id == ids[b]
    assert client_b.get_run(runs[b]).data.params["owner"] == b
    # Every way of reaching workspace A's data from workspace B fails as "does not exist".
    for attempt in (
        lambda: client_b.get_experiment(ids[a]),
        lambda: client_b.get_run(runs[a]),
        lambda: client_b.log_param(runs[a], "x", "y"),
        lambda: client_b.set_tag(runs[a], "x", "y"),
        lambda: client_b.delete_run(runs[a]),
        lambda: client_b.create_run(ids[a]),
        lambda: client_b.delete_experiment(ids[a]),
        lambda: client_b.rename_experiment(ids[a], "stolen"),
    ):
        with pytest.raises(MlflowException) as err:
            attempt()
        assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client_b.search_runs([ids[a]]) == []
    # As for a run that does not exist at all (the reference's answer): an empty history.
    assert client_b.get_metric_history(runs[a], "m") == []
    assert [e.experiment_id for e in client_b.search_experiments(filter_string="name = 'iris-classifier'")] == [ids[b]]
    # Artifacts: B's artifact namespace does not contain A's files even at A's exact path.
    with pytest.raises(Exception):  # noqa: B017 - 404 surfaces as different exception types
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"mlflow-artifacts:/{ids[a]}/{runs[a]}/artifacts/secret.txt", dst_path=str(tmp_path)
        )
    client_a = _in(a)
    assert mlflow.artifacts.load_text(f"runs:/{runs[a]}/secret.txt") == f"secret of {a}"
    assert client_a.get_run(runs[a]).data.params["owner"] == a


def test_url_form_with_the_unmodified_client(
    workspaces: tuple[str, str], tracking: ServerProcess, tmp_path: Path
) -> None:
    a, _ = workspaces
    mlflow.set_workspace(None)
    mlflow.set_tracking_uri(f"{tracking.url}/w/{a}")
    try:
        mlflow.set_experiment("via-url")
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 1.0)
            mlflow.log_text("hello from the url form", "notes/hello.txt")
        client = MlflowClient()
        assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}
        assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt") == "hello from the url form"
        assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["notes"]
    finally:
        mlflow.set_tracking_uri(tracking.url)
    # The header form sees the same data; the default workspace does not.
    assert _in(a).get_run(run.info.run_id).data.metrics == {"m": 1.0}
    with pytest.raises(MlflowException):
        _in(None).get_run(run.info.run_id)
    with httpx.Client(base_url=tracking.url) as http:
        clash = http.get(
            f"/w/{a}/api/2.0/mlflow/runs/get",
            params={"run_id": run.info.run_id},
            headers={"X-MLFLOW-WORKSPACE": "default"},
        )
        assert clash.status_code == 400 and "differ" in clash.json()["message"]
        same = http.get(
            f"/w/{a}/api/2.0/mlflow/runs/get", params={"run_id": run.info.run_id}, headers={"X-MLFLOW-WORKSPACE": a}
        )
        assert same.status_code == 200


def test_flat_naming_refuses_paths(workspaces: tuple[str, str]) -> None:
    a, _ = workspaces
    client = _in(a)
    with pytest.raises(MlflowException) as err:
        client.create_experiment("/Users/alice@contoso.com/iris")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "flat" in err.value.message and "'iris'" in err.value.message
    exp = client.create_experiment("plain-name")
    with pytest.raises(MlflowException):
        client.rename_experiment(exp, "/Shared/plain-name")


@pytest.fixture
def path_workspace(tracking: ServerProcess, unique: str) -> Iterator[str]:
    name = f"dbx-{unique}"
    with httpx.Client(base_url=tracking.url) as http:
        resp = http.post("/api/3.0/mlflow/workspaces", json={"name": name, "naming": "path"})
        assert resp.status_code == 201, resp.text
        assert resp.json()["workspace"]["naming"] == "path"
    yield name
    mlflow.set_workspace(None)


@pytest.mark.parametrize(
    "spelling",
    [
        "/Users/alice@contoso.com/iris",
        "/Workspace/Users/alice@contoso.com/iris",
        "//Users//alice@contoso.com///iris",
        "/Users/alice@contoso.com/iris/",
        "/Workspace//Users/alice@contoso.com/iris//",
    ],
)
def test_path_naming_spellings_are_one_experiment(path_workspace: str, spelling: str) -> None:
    client = _in(path_workspace)
    canonical = "/Users/alice@contoso.com/iris"
    existing = client.get_experiment_by_name(canonical)
    exp_id = existing.experiment_id if existing else client.create_experiment(canonical)
    found = client.get_experiment_by_name(spelling)
    assert found is not None and found.experiment_id == exp_id and found.name == canonical
    assert mlflow.set_experiment(spelling).experiment_id == exp_id
    with pytest.raises(MlflowException) as err:
        client.create_experiment(spelling)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_path_naming_rules_and_folders(path_workspace: str) -> None:
    client = _in(path_workspace)
    with pytest.raises(MlflowException) as err:
        client.create_experiment("iris")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE" and "/Users/" in err.value.message
    with pytest.raises(MlflowException):
        client.create_experiment("/Elsewhere/iris")
    for name in ("/Shared/churn/v1", "/Shared/churn/v2", "/Shared/other", "/Users/bob/x"):
        client.create_experiment(name)
    shared = client.search_experiments(filter_string="name LIKE '/Shared/churn/%'", order_by=["name ASC"])
    assert [e.name for e in shared] == ["/Shared/churn/v1", "/Shared/churn/v2"]
    exp = client.get_experiment_by_name("/Shared/other")
    assert exp is not None
    with pytest.raises(MlflowException):
        client.rename_experiment(exp.experiment_id, "other")
    client.rename_experiment(exp.experiment_id, "/Workspace/Shared/renamed/")
    assert client.get_experiment(exp.experiment_id).name == "/Shared/renamed"


def test_delete_workspace_restrict_and_cascade(tracking: ServerProcess, unique: str) -> None:
    name = f"tmp-{unique}"
    mlflow.create_workspace(name)
    mlflow.set_workspace(name)
    try:
        mlflow.set_experiment("doomed")
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 1)
            mlflow.log_text("bye", "bye.txt")
        client = MlflowClient()
        client.create_registered_model("doomed-model")
        client.create_model_version("doomed-model", f"runs:/{run.info.run_id}/bye.txt", run.info.run_id)
    finally:
        mlflow.set_workspace(None)
    with pytest.raises(MlflowException) as err:
        mlflow.delete_workspace(name)
    assert "experiments" in err.value.message
    with httpx.Client(base_url=tracking.url) as http:
        assert http.delete(f"/api/3.0/mlflow/workspaces/{name}", params={"mode": "CASCADE"}).status_code == 204
    assert name not in [w.name for w in mlflow.list_workspaces()]
    # A new workspace of the same name starts empty: nothing of the old one survived.
    mlflow.create_workspace(name)
    client = _in(name)
    try:
        assert client.search_experiments() == []
        assert client.search_registered_models() == []
        with pytest.raises(MlflowException):
            client.get_run(run.info.run_id)
    finally:
        mlflow.set_workspace(None)
    with pytest.raises(MlflowException):
        mlflow.delete_workspace("default")


def test_cli_administration(tmp_path: Path) -> None:
    data = tmp_path / "cli-data"

    def runyard(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [sys.executable, "-m", "runyard", "workspace", *args, "--data-dir", str(data)],
            capture_output=True,
            text=True,
        )
        assert (out.returncode == 0) == ok, out.stdout + out.stderr
        return out

    created = runyard("create", "research", "--naming", "path", "--description", "R&D", "--path-root", "/Projects/")
    assert "naming:        path (roots: /Projects/)" in created.stdout
    assert "research\tpath\tR&D" in runyard("list").stdout
    assert "R&D" in runyard("show", "research").stdout
    assert "new words" in runyard("update", "research", "--description", "new words").stdout
    assert "already exists" in runyard("create", "research", ok=False).stderr
    assert "must match" in runyard("create", "Bad_Name", ok=False).stderr

    server = ServerProcess(data_dir=data).start()
    try:
        with httpx.Client(base_url=server.url, headers={"X-MLFLOW-WORKSPACE": "research"}) as http:
            made = http.post("/api/2.0/mlflow/experiments/create", json={"name": "/Projects/p1/exp"})
            assert made.status_code == 200, made.text
            refused = http.post("/api/2.0/mlflow/experiments/create", json={"name": "/Users/x/exp"})
            assert refused.status_code == 400
    finally:
        assert server.stop() == 0
    assert "holds 1 experiments" in runyard("delete", "research", ok=False).stderr
    runyard("delete", "research", "--force")
    assert "research" not in runyard("list").stdout


class _Doubler(PythonModel):
    def predict(self, context: object, model_input: list[float], params: object = None) -> list[float]:
        return [2 * x for x in model_input]


def test_url_form_logs_registers_and_loads_models(workspaces: tuple[str, str], tracking: ServerProcess) -> None:
    _, b = workspaces
    mlflow.set_workspace(None)
    mlflow.set_tracking_uri(f"{tracking.url}/w/{b}")
    try:
        mlflow.set_experiment("models-via-url")
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(name="model", python_model=_Doubler(), registered_model_name="doubler")
        assert mlflow.pyfunc.load_model(info.model_uri).predict([1.0, 2.0]) == [2.0, 4.0]
        assert mlflow.pyfunc.load_model("models:/doubler/1").predict([3.0]) == [6.0]
    finally:
        mlflow.set_tracking_uri(tracking.url)
    # The model lives in workspace b only.
    assert [m.name for m in _in(b).search_registered_models(filter_string="name = 'doubler'")] == ["doubler"]
    assert _in(None).search_registered_models(filter_string="name = 'doubler'") == []
