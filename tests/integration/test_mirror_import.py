"""Dual tracking, the target side, over raw HTTP: `runyard/mirror/info` and the run and logged-model
imports (the source's id kept when free, a new id with back-pointer tags when taken, replays
returning what the first import made), their validation errors, the target's access control with
`--auth on`, and the real mlflow client reading what was imported (`runs:/<id>/...`, a logged model).
One SQLite server for most tests, one `--auth on` server for the access checks, and a PostgreSQL
server with two worker processes for imports racing each other."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.domain.permissions import EDIT, READ
from runyard.services.container import Services
from runyard.services.identity.audit import Actor
from tests.conftest import ServerProcess, auth_server

RUNS_IMPORT = "/api/2.0/runyard/mirror/runs/import"
MODELS_IMPORT = "/api/2.0/runyard/mirror/logged-models/import"
API = "/api/2.0/mlflow"
SOURCE = "https://source.example:5000"
ADMIN_PASSWORD = "admin-pw-for-mirror-tests"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("mirror-import")).start()
    yield proc
    code = proc.stop()
    assert code == 0, proc.log()[-4000:]


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _ok(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _refused(resp: httpx.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_code"] == code, body
    return str(body["message"])


def _headers(workspace: str | None) -> dict[str, str]:
    return {"X-MLFLOW-WORKSPACE": workspace} if workspace else {}


def _experiment(http: httpx.Client, workspace: str | None = None) -> str:
    name = f"mirror-{secrets.token_hex(4)}"
    resp = http.post(f"{API}/experiments/create", json={"name": name}, headers=_headers(workspace))
    return str(_ok(resp)["experiment_id"])


def _workspace(http: httpx.Client) -> str:
    name = f"ws-{secrets.token_hex(4)}"
    assert http.post("/api/3.0/mlflow/workspaces", json={"name": name}).status_code == 201
    return name


def _run_body(experiment_id: str, run_id: str, **more: Any) -> dict[str, Any]:
    return {
        "experiment_id": experiment_id,
        "run_id": run_id,
        "run_name": "copied-run",
        "user_id": "alice",
        "start_time": 1_700_000_000_000,
        "status": "FINISHED",
        "end_time": 1_700_000_060_000,
        "source_url": SOURCE,
        "tags": [{"key": "team", "value": "ml"}, {"key": "mlflow.modelVersions", "value": "[]"}],
        **more,
    }


def _tags(entity: dict[str, Any]) -> dict[str, str]:
    """A run's tags (in `data`) or a logged model's (in `info`)."""
    pairs = entity["data"].get("tags") or entity["info"].get("tags", [])
    return {t["key"]: t["value"] for t in pairs}


def _count_runs(http: httpx.Client, experiment_id: str, workspace: str | None = None) -> int:
    resp = http.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id]}, headers=_headers(workspace))
    return len(_ok(resp).get("runs", []))


def test_info_names_a_runyard_target(http: httpx.Client) -> None:
    assert _ok(http.get("/api/2.0/runyard/mirror/info")) == {"server": "runyard", "import_api": 1}
    assert _ok(http.get("/ajax-api/2.0/runyard/mirror/info"))["server"] == "runyard"


def test_run_import_keeps_the_source_id_and_a_replay_changes_nothing(http: httpx.Client) -> None:
    exp = _experiment(http)
    run_id = secrets.token_hex(16)
    first = _ok(http.post(RUNS_IMPORT, json=_run_body(exp, run_id)))
    assert first["created"] is True
    info = first["run"]["info"]
    assert info["run_id"] == run_id and info["experiment_id"] == exp
    assert (info["run_name"], info["user_id"], info["status"]) == ("copied-run", "alice", "FINISHED")
    assert (info["start_time"], info["end_time"]) == (1_700_000_000_000, 1_700_000_060_000)
    assert info["artifact_uri"].endswith(f"/{exp}/{run_id}/artifacts")
    tags = _tags(first["run"])
    assert tags["runyard.source.run_id"] == run_id and tags["runyard.source.url"] == SOURCE
    assert tags["team"] == "ml" and tags["mlflow.runName"] == "copied-run"
    assert "mlflow.modelVersions" not in tags  # registry bookkeeping: each server keeps its own

    got = _ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))
    assert got["run"] == first["run"]  # rendered as runs/get renders it

    replay = _ok(http.post(RUNS_IMPORT, json=_run_body(exp, run_id, run_name="renamed", status="RUNNING")))
    assert replay["created"] is False
    assert replay["run"] == first["run"]  # unchanged
    assert _count_runs(http, exp) == 1


def test_a_taken_id_gets_a_new_one_with_back_pointers(http: httpx.Client) -> None:
    other = _workspace(http)
    other_exp = _experiment(http, other)
    resp = http.post(f"{API}/runs/create", json={"experiment_id": other_exp}, headers=_headers(other))
    taken = _ok(resp)["run"]["info"]["run_id"]  # a run of another workspace holds the id

    exp = _experiment(http)
    first = _ok(http.post(RUNS_IMPORT, json=_run_body(exp, taken)))
    assert first["created"] is True
    new_id = first["run"]["info"]["run_id"]
    assert new_id != taken and len(new_id) == 32
    assert first["run"]["info"]["artifact_uri"].endswith(f"/{new_id}/artifacts")
    tags = _tags(first["run"])
    assert (tags["runyard.source.run_id"], tags["runyard.source.url"]) == (taken, SOURCE)

    replay = _ok(http.post(RUNS_IMPORT, json=_run_body(exp, taken)))
    assert (replay["created"], replay["run"]["info"]["run_id"]) == (False, new_id)
    assert _count_runs(http, exp) == 1
    # The other workspace's run is untouched.
    held = _ok(http.get(f"{API}/runs/get", params={"run_id": taken}, headers=_headers(other)))["run"]
    assert "runyard.source.run_id" not in _tags(held)
    # Another source with the same id is another mirror.
    elsewhere = _ok(http.post(RUNS_IMPORT, json=_run_body(exp, taken, source_url="https://other.example")))
    assert elsewhere["created"] is True and elsewhere["run"]["info"]["run_id"] not in (taken, new_id)


def test_one_source_run_into_two_workspaces_of_one_server(http: httpx.Client) -> None:
    run_id = secrets.token_hex(16)
    exp = _experiment(http)
    assert _ok(http.post(RUNS_IMPORT, json=_run_body(exp, run_id)))["run"]["info"]["run_id"] == run_id
    other = _workspace(http)
    other_exp = _experiment(http, other)
    second = _ok(http.post(RUNS_IMPORT, json=_run_body(other_exp, run_id), headers=_headers(other)))
    assert second["created"] is True and second["run"]["info"]["run_id"] != run_id
    again = _ok(http.post(RUNS_IMPORT, json=_run_body(other_exp, run_id), headers=_headers(other)))
    assert (again["created"], again["run"]["info"]["run_id"]) == (False, second["run"]["info"]["run_id"])


@pytest.mark.parametrize(
    "run_id",
    ["A" * 32, "a" * 31, "a" * 33, "g" * 32, "a" * 32 + "\n", "-" + "a" * 31, f"m-{'a' * 30}", ""],
)
def test_run_ids_that_are_not_32_lowercase_hex_digits_are_refused(http: httpx.Client, run_id: str) -> None:
    message = _refused(http.post(RUNS_IMPORT, json=_run_body("0", run_id)), 400, "INVALID_PARAMETER_VALUE")
    assert "run_id" in message


def test_run_import_validation_is_mlflow_shaped(http: httpx.Client) -> None:
    run_id = secrets.token_hex(16)
    _refused(http.post(RUNS_IMPORT, json=_run_body("987654", run_id)), 404, "RESOURCE_DOES_NOT_EXIST")
    _refused(http.post(RUNS_IMPORT, json=_run_body("not-a-number", run_id)), 400, "INVALID_PARAMETER_VALUE")
    exp = _experiment(http)
    for bad in (
        {"status": "DONE"},
        {"source_url": ""},
        {"source_url": "x" * 2001},
        {"experiment_id": None},
        {"run_name": "n" * 251},
        {"tags": [{"key": "", "value": "v"}]},
        {"start_time": "soon"},
    ):
        resp = http.post(RUNS_IMPORT, json={**_run_body(exp, run_id), **bad})
        _refused(resp, 400, "INVALID_PARAMETER_VALUE")
    assert http.post(RUNS_IMPORT, content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    _ok(http.post(f"{API}/experiments/delete", json={"experiment_id": exp}))
    message = _refused(http.post(RUNS_IMPORT, json=_run_body(exp, run_id)), 400, "INVALID_PARAMETER_VALUE")
    assert "active" in message
    # Nothing was created by any refused request.
    _refused(http.get(f"{API}/runs/get", params={"run_id": run_id}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_an_imported_run_serves_runs_uris_to_the_real_client(
    server: ServerProcess, http: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    exp = _experiment(http)
    run_id = secrets.token_hex(16)
    info = _ok(http.post(RUNS_IMPORT, json=_run_body(exp, run_id, status="RUNNING")))["run"]["info"]
    # The replicator's upload: to the run's artifact location, under the kept id.
    location = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert http.put(f"/api/2.0/mlflow-artifacts/artifacts/{location}/file.txt", content=b"mirrored").status_code == 200
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    try:
        local = mlflow.artifacts.download_artifacts(f"runs:/{run_id}/file.txt", dst_path=str(tmp_path))
        assert Path(local).read_bytes() == b"mirrored"
        client = mlflow.MlflowClient()
        client.log_metric(run_id, "after", 1.0)  # an imported run is an ordinary run
        assert client.get_run(run_id).data.metrics == {"after": 1.0}
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None


def _model_body(experiment_id: str, model_id: str, **more: Any) -> dict[str, Any]:
    return {
        "experiment_id": experiment_id,
        "model_id": model_id,
        "name": "copied-model",
        "model_type": "sklearn",
        "source_url": SOURCE,
        "params": [{"key": "alpha", "value": "0.1"}],
        "tags": [{"key": "team", "value": "ml"}],
        **more,
    }


def test_logged_model_import_keeps_the_id_and_finalizes_as_usual(
    server: ServerProcess, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    exp = _experiment(http)
    run_id = secrets.token_hex(16)
    _ok(http.post(RUNS_IMPORT, json=_run_body(exp, run_id)))
    model_id = f"m-{secrets.token_hex(16)}"
    first = _ok(http.post(MODELS_IMPORT, json=_model_body(exp, model_id, source_run_id=run_id)))
    assert first["created"] is True
    info = first["model"]["info"]
    assert (info["model_id"], info["experiment_id"], info["name"]) == (model_id, exp, "copied-model")
    assert (info["status"], info["source_run_id"], info["model_type"]) == ("LOGGED_MODEL_PENDING", run_id, "sklearn")
    assert info["artifact_uri"].endswith(f"/{exp}/models/{model_id}/artifacts")
    assert _tags(first["model"])["runyard.source.model_id"] == model_id
    assert first["model"]["data"]["params"] == [{"key": "alpha", "value": "0.1"}]
    assert _ok(http.get(f"{API}/logged-models/{model_id}"))["model"] == first["model"]

    replay = _ok(http.post(MODELS_IMPORT, json=_model_body(exp, model_id, name="other")))
    assert replay == {"model": first["model"], "created": False}

    location = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert http.put(f"/api/2.0/mlflow-artifacts/artifacts/{location}/weights.bin", content=b"w").status_code == 200
    finalize = {"model_id": model_id, "status": "LOGGED_MODEL_READY"}
    assert _ok(http.patch(f"{API}/logged-models/{model_id}", json=finalize))["model"]["info"]["status"] == (
        "LOGGED_MODEL_READY"
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    try:
        model = mlflow.MlflowClient().get_logged_model(model_id)
        assert (model.model_id, model.name, model.source_run_id) == (model_id, "copied-model", run_id)
        assert str(model.status) in ("READY", "LoggedModelStatus.READY")
        assert model.params == {"alpha": "0.1"} and model.tags["team"] == "ml"
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None


def test_logged_model_import_with_a_taken_id_and_bad_requests(http: httpx.Client) -> None:
    other = _workspace(http)
    other_exp = _experiment(http, other)
    resp = http.post(f"{API}/logged-models", json={"experiment_id": other_exp}, headers=_headers(other))
    taken = _ok(resp)["model"]["info"]["model_id"]
    exp = _experiment(http)
    first = _ok(http.post(MODELS_IMPORT, json=_model_body(exp, taken)))
    new_id = first["model"]["info"]["model_id"]
    assert first["created"] is True and new_id != taken and new_id.startswith("m-")
    assert _tags(first["model"])["runyard.source.model_id"] == taken
    replay = _ok(http.post(MODELS_IMPORT, json=_model_body(exp, taken)))
    assert (replay["created"], replay["model"]["info"]["model_id"]) == (False, new_id)

    model_id = f"m-{secrets.token_hex(16)}"
    for bad in ("a" * 32, "m-" + "A" * 32, "m-" + "a" * 31, "M-" + "a" * 32, ""):
        _refused(http.post(MODELS_IMPORT, json=_model_body(exp, bad)), 400, "INVALID_PARAMETER_VALUE")
    for more in ({"name": "a/b"}, {"source_url": None}, {"params": [{"key": "p"}, {"key": "p", "value": "2"}]}):
        resp = http.post(MODELS_IMPORT, json={**_model_body(exp, model_id), **more})
        _refused(resp, 400, "INVALID_PARAMETER_VALUE")
    missing_run = _model_body(exp, model_id, source_run_id=secrets.token_hex(16))
    _refused(http.post(MODELS_IMPORT, json=missing_run), 404, "RESOURCE_DOES_NOT_EXIST")
    _refused(http.post(MODELS_IMPORT, json=_model_body("987654", model_id)), 404, "RESOURCE_DOES_NOT_EXIST")
    _refused(http.get(f"{API}/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Services]]:
    with auth_server(tmp_path_factory.mktemp("mirror-auth"), ADMIN_PASSWORD) as started:
        yield started


def test_imports_need_edit_on_the_experiment(auth: tuple[ServerProcess, Services]) -> None:
    proc, services = auth
    accounts, grants = services.identity.accounts, services.identity.grants
    admin = accounts.create_token(Actor.cli(), "admin", "mirror-admin", None).token
    with httpx.Client(base_url=proc.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as http:
        exp = _experiment(http)
    tokens = {}
    for user, level in (("reader", READ), ("editor", EDIT)):
        accounts.create_user(Actor.cli(), user, f"{user}-password-long")
        grants.put(Actor.cli(), user, "default", "experiment", exp, level)
        tokens[user] = accounts.create_token(Actor.cli(), user, "t", None).token

    def as_user(user: str | None, path: str, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
        return httpx.post(f"{proc.url}{path}", json=body, headers=headers)

    run_id, model_id = secrets.token_hex(16), f"m-{secrets.token_hex(16)}"
    assert httpx.get(f"{proc.url}/api/2.0/runyard/mirror/info").status_code == 200  # public
    _refused(as_user(None, RUNS_IMPORT, _run_body(exp, run_id)), 401, "UNAUTHENTICATED")
    _refused(as_user("reader", RUNS_IMPORT, _run_body(exp, run_id)), 403, "PERMISSION_DENIED")
    _refused(as_user("reader", MODELS_IMPORT, _model_body(exp, model_id)), 403, "PERMISSION_DENIED")
    created = _ok(as_user("editor", RUNS_IMPORT, _run_body(exp, run_id)))
    assert created["created"] is True and created["run"]["info"]["run_id"] == run_id
    # A replay reveals the run only to those who may import it.
    _refused(as_user("reader", RUNS_IMPORT, _run_body(exp, run_id)), 403, "PERMISSION_DENIED")
    assert _ok(as_user("editor", RUNS_IMPORT, _run_body(exp, run_id)))["created"] is False
    model = _ok(as_user("editor", MODELS_IMPORT, _model_body(exp, model_id, source_run_id=run_id)))
    assert model["created"] is True and model["model"]["info"]["model_id"] == model_id


def _race(url: str, path: str, body: dict[str, Any], workspace: str | None = None, n: int = 8) -> list[dict[str, Any]]:
    """`n` identical imports at once, each on a connection of its own."""
    barrier = threading.Barrier(n)

    def one(_: int) -> dict[str, Any]:
        with httpx.Client(base_url=url, timeout=60, headers=_headers(workspace)) as client:
            barrier.wait()
            return _ok(client.post(path, json=body))

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _assert_one_made(results: list[dict[str, Any]], field: str) -> str:
    ids = {str(r[field]["info"][f"{field}_id"]) for r in results}
    assert len(ids) == 1 and sum(r["created"] for r in results) == 1, results
    return ids.pop()


def check_concurrent_imports(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        exp = _experiment(http)
        other = _workspace(http)
        other_exp = _experiment(http, other)
        taken = _ok(http.post(f"{API}/runs/create", json={"experiment_id": other_exp}, headers=_headers(other)))
        free = secrets.token_hex(16)
        assert _assert_one_made(_race(url, RUNS_IMPORT, _run_body(exp, free)), "run") == free
        kept_apart = _assert_one_made(_race(url, RUNS_IMPORT, _run_body(exp, taken["run"]["info"]["run_id"])), "run")
        assert kept_apart != taken["run"]["info"]["run_id"]
        assert _count_runs(http, exp) == 2
        model_id = f"m-{secrets.token_hex(16)}"
        assert _assert_one_made(_race(url, MODELS_IMPORT, _model_body(exp, model_id)), "model") == model_id


def test_concurrent_imports_of_one_id_make_one_object(server: ServerProcess) -> None:
    check_concurrent_imports(server.url)


def test_concurrent_imports_on_postgres(tmp_path: Path, postgres_database_factory: Callable[[], str]) -> None:
    """Two worker processes, so the imports race in separate transactions of separate processes."""
    proc = ServerProcess(data_dir=tmp_path, backend_store_uri=postgres_database_factory(), workers=2).start()
    try:
        check_concurrent_imports(proc.url)
    finally:
        assert proc.stop() == 0, proc.log()[-4000:]
