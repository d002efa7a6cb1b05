"""The endpoints MLflow's UI calls beside the REST protocol (issue 11, protocol fidelity): file previews
(`/get-artifact`, `/model-versions/get-artifact`, a logged model's `artifacts/files`), listings
(`artifacts/list`, `artifacts/directories`), `upload-artifact`, `get-history-bulk`,
`search-datasets`, the legacy `runs/log-model`, and the download headers they share with
`/mlflow-artifacts/artifacts/<path>`.

Expected values were observed on `mlflow server` 3.17.2 (SQLite, `--artifacts-destination`) with the
same data logged by the same client calls; where Runyard deliberately differs the test says so.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient

from tests.conftest import QueryPairs, ServerProcess

AJAX = "/ajax-api/2.0/mlflow"
API = "/api/2.0/mlflow"
HISTORY = "mlflow.log-model.history"


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


FILES: dict[str, bytes] = {
    "plot.png": _png(),
    "table.csv": b"a,b\n1,2\n",
    "data.json": b'{"x": 1}',
    "conf.yaml": b"a: 1\n",
    "notes.txt": b"hello\n",
    "page.html": b"<script>alert(1)</script>",
    "pic.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "code.js": b"alert(1)",
    "résumé.txt": "café".encode(),
    "日本語": b"jp",
    "with space.txt": b"sp",
    'quote".txt': b"q",
    "noext": b"n",
    "arch.tar.gz": b"tgz",
    "doc.pdf": b"%PDF",
}

# (file, Content-Type, Content-Disposition) as mlflow server 3.17.2 sends them.
REFERENCE_HEADERS = [
    ("plot.png", "image/png", "attachment; filename=plot.png"),
    ("table.csv", "text/plain", "attachment; filename=table.csv"),
    ("data.json", "text/plain", "attachment; filename=data.json"),
    ("conf.yaml", "text/plain", "attachment; filename=conf.yaml"),
    ("notes.txt", "text/plain", "attachment; filename=notes.txt"),
    ("code.js", "text/plain", "attachment; filename=code.js"),
    ("résumé.txt", "text/plain", "attachment; filename=resume.txt; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"),
    (
        "日本語",
        "application/octet-stream",
        "attachment; filename=download; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E",
    ),
    ("with space.txt", "text/plain", 'attachment; filename="with space.txt"'),
    ('quote".txt', "text/plain", 'attachment; filename="quote\\".txt"'),
    ("noext", "application/octet-stream", "attachment; filename=noext"),
    ("arch.tar.gz", "application/x-tar", "attachment; filename=arch.tar.gz"),
    ("doc.pdf", "application/pdf", "attachment; filename=doc.pdf"),
    ("folder/sub/notes.txt", "text/plain", "attachment; filename=notes.txt"),
]


@dataclass
class Logged:
    server: ServerProcess
    run_id: str
    run2_id: str
    exp_id: str
    exp2_id: str
    model_id: str
    model_name: str
    other_workspace: str
    other_run_id: str
    other_exp_id: str

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=60)


@pytest.fixture(scope="module")
def logged(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logged]:
    """One experiment with two runs (params, metrics with steps and a NaN, artifacts, datasets, an
    sklearn model registered by name), a second experiment, and a run in another workspace."""
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas
    from sklearn.linear_model import LinearRegression

    tmp = tmp_path_factory.mktemp("ui-files")
    suffix = tmp.name[-6:].replace("-", "")
    for name, data in FILES.items():
        (tmp / name).write_bytes(data)
    mlflow.set_tracking_uri(server.url)
    try:
        exp = mlflow.set_experiment(f"ui-{suffix}")
        df = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
        train = from_pandas(df, source="s3://bucket/data.csv", name="train-ds", targets="y")
        evaluation = from_pandas(df.head(1), source="s3://bucket/eval.csv", name="eval-ds")
        with mlflow.start_run() as run:
            mlflow.log_param("alpha", "0.5")
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1000 + (5 - step))
            mlflow.log_metric("loss", float("nan"), step=9, timestamp=1)
            for name in FILES:
                mlflow.log_artifact(str(tmp / name))
            mlflow.log_artifact(str(tmp / "notes.txt"), "folder/sub")
            mlflow.log_artifact(str(tmp / "table.csv"), "folder")
            mlflow.log_input(train, context="training", tags={"k": "v"})
            mlflow.log_input(evaluation, context="eval")
            model = LinearRegression().fit(df[["x"]], df["y"])
            info = mlflow.sklearn.log_model(
                model, name="model", registered_model_name=f"ui-model-{suffix}", input_example=df[["x"]]
            )
        with mlflow.start_run() as run2:
            for step in range(3):
                mlflow.log_metric("loss", 10.0 + step, step=step, timestamp=2000 + step)
            mlflow.log_input(train, context="training")
            mlflow.log_input(evaluation)  # no context
        exp2 = mlflow.set_experiment(f"ui-{suffix}-2")
        with mlflow.start_run():
            mlflow.log_input(train, context="other")
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out
    other = f"ui-other-{suffix}"
    headers = {"X-MLFLOW-WORKSPACE": other}
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/api/3.0/mlflow/workspaces", json={"name": other}).status_code == 201
        other_exp = http.post(f"{API}/experiments/create", json={"name": "x"}, headers=headers).json()["experiment_id"]
        other_run = http.post(f"{API}/runs/create", json={"experiment_id": other_exp}, headers=headers).json()["run"]
        rid = other_run["info"]["run_id"]
        put = http.put(
            f"/api/2.0/mlflow-artifacts/artifacts/{other_exp}/{rid}/artifacts/secret.txt", content=b"s", headers=headers
        )
        assert put.status_code == 200
        metric = {"run_id": rid, "key": "loss", "value": 1.0, "timestamp": 1, "step": 0}
        assert http.post(f"{API}/runs/log-metric", json=metric, headers=headers).status_code == 200
        train_input = {
            "run_id": rid,
            "datasets": [
                {"dataset": {"name": "secret-ds", "digest": "d", "source_type": "local", "source": "{}"}, "tags": []}
            ],
        }
        assert http.post(f"{API}/runs/log-inputs", json=train_input, headers=headers).status_code == 200
    yield Logged(
        server=server,
        run_id=run.info.run_id,
        run2_id=run2.info.run_id,
        exp_id=exp.experiment_id,
        exp2_id=exp2.experiment_id,
        model_id=str(info.model_id),
        model_name=f"ui-model-{suffix}",
        other_workspace=other,
        other_run_id=rid,
        other_exp_id=str(other_exp),
    )


def _error(resp: httpx.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_code"] == code, body
    return str(body["message"])


# --- downloads: get-artifact and the shared headers ---------------------------------------------


@pytest.mark.parametrize(("name", "content_type", "disposition"), REFERENCE_HEADERS)
def test_get_artifact_headers_are_the_references(
    logged: Logged, name: str, content_type: str, disposition: str
) -> None:
    with logged.http() as http:
        resp = http.get("/get-artifact", params={"run_id": logged.run_id, "path": name})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == content_type  # exactly: no "; charset=utf-8"
    assert resp.headers["content-disposition"] == disposition
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.content == FILES.get(name, FILES.get(name.rpartition("/")[2], b""))
    assert resp.headers["content-length"] == str(len(resp.content))


def test_active_content_is_served_as_sandboxed_text(logged: Logged) -> None:
    """Deliberate difference (README): the reference sends text/html and image/svg+xml."""
    with logged.http() as http:
        for name in ("page.html", "pic.svg"):
            resp = http.get("/get-artifact", params={"run_uuid": logged.run_id, "path": name})
            assert resp.status_code == 200
            assert resp.headers["content-type"] == "text/plain"
            assert resp.headers["content-security-policy"] == "sandbox"
            assert resp.headers["content-disposition"] == f"attachment; filename={name}"


def test_proxied_download_sends_the_same_headers(logged: Logged) -> None:
    base = f"/api/2.0/mlflow-artifacts/artifacts/{logged.exp_id}/{logged.run_id}/artifacts"
    with logged.http() as http:
        for name, content_type, disposition in REFERENCE_HEADERS:
            resp = http.get(f"{base}/{name}")
            assert resp.status_code == 200, (name, resp.text)
            assert (resp.headers["content-type"], resp.headers["content-disposition"]) == (content_type, disposition)


def test_get_artifact_refusals(logged: Logged) -> None:
    root = f"{logged.exp_id}/{logged.run_id}/artifacts"
    with logged.http() as http:
        for bad in ("../x", "folder/../notes.txt", "/etc/passwd", "%2e%2e%2fx", "..%2f..%2fetc/passwd"):
            message = _error(
                http.get("/get-artifact", params={"run_id": logged.run_id, "path": bad}), 400, "INVALID_PARAMETER_VALUE"
            )
            assert message.startswith("Invalid path"), message  # the reference's message is "Invalid path"
        resp = http.get("/get-artifact", params={"run_id": logged.run_id, "path": "folder"})
        assert _error(resp, 400, "INVALID_PARAMETER_VALUE") == (
            f"Artifact path refers to a directory, not a file: '{root}/folder'"
        )
        resp = http.get("/get-artifact", params={"run_id": logged.run_id, "path": "missing.txt"})
        assert _error(resp, 404, "RESOURCE_DOES_NOT_EXIST") == f"No such artifact: '{root}/missing.txt'"
        resp = http.get("/get-artifact", params={"run_id": "nope", "path": "notes.txt"})
        assert _error(resp, 404, "RESOURCE_DOES_NOT_EXIST") == "Run with id=nope not found"
        _error(http.get("/get-artifact", params={"run_id": logged.run_id}), 400, "INVALID_PARAMETER_VALUE")
        # Mounted at the root only, as the reference: no /ajax-api or /api twin.
        assert (
            http.get(f"{AJAX}/get-artifact", params={"run_id": logged.run_id, "path": "notes.txt"}).status_code == 404
        )


def test_another_workspaces_run_is_not_found(logged: Logged) -> None:
    rid = logged.other_run_id
    headers = {"X-MLFLOW-WORKSPACE": logged.other_workspace}
    with logged.http() as http:
        for url, params in (
            ("/get-artifact", {"run_id": rid, "path": "secret.txt"}),
            (f"{API}/artifacts/list", {"run_id": rid}),
        ):
            assert (
                _error(http.get(url, params=params), 404, "RESOURCE_DOES_NOT_EXIST") == f"Run with id={rid} not found"
            )
            assert http.get(url, params=params, headers=headers).status_code == 200
        upload = http.post(f"{AJAX}/upload-artifact", params={"run_uuid": rid, "path": "x.txt"}, content=b"x")
        _error(upload, 404, "RESOURCE_DOES_NOT_EXIST")
        model = {"artifact_path": "m", "flavors": {}, "utc_time_created": "t", "run_id": rid}
        log_model = http.post(f"{API}/runs/log-model", json={"run_id": rid, "model_json": json.dumps(model)})
        _error(log_model, 404, "RESOURCE_DOES_NOT_EXIST")
        # Bulk history skips runs it cannot see, as the reference skips unknown ids.
        bulk = http.get(f"{AJAX}/metrics/get-history-bulk", params={"run_id": rid, "metric_key": "loss"})
        assert bulk.json() == {"metrics": []}
        assert (
            len(
                http.get(
                    f"{AJAX}/metrics/get-history-bulk", params={"run_id": rid, "metric_key": "loss"}, headers=headers
                ).json()["metrics"]
            )
            == 1
        )
        datasets = http.post(f"{AJAX}/experiments/search-datasets", json={"experiment_ids": [logged.other_exp_id]})
        assert datasets.status_code == 200 and "secret-ds" not in datasets.text
        # The workspace in the URL works for the root-mounted preview too.
        url_form = http.get(f"/w/{logged.other_workspace}/get-artifact", params={"run_id": rid, "path": "secret.txt"})
        assert url_form.status_code == 200 and url_form.content == b"s"


# --- model versions and logged models -----------------------------------------------------------


def test_model_version_artifact(logged: Logged) -> None:
    params = {"name": logged.model_name, "version": "1"}
    with logged.http() as http:
        resp = http.get("/model-versions/get-artifact", params={**params, "path": "MLmodel"})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "text/plain"
        assert resp.headers["content-disposition"] == "attachment; filename=MLmodel"
        assert f"model_id: {logged.model_id}" in resp.text
        resp = http.get("/model-versions/get-artifact", params={**params, "path": "requirements.txt"})
        assert resp.status_code == 200 and "scikit-learn" in resp.text
        resp = http.get("/model-versions/get-artifact", params={**params, "path": "missing"})
        message = _error(resp, 404, "RESOURCE_DOES_NOT_EXIST")
        assert message == f"No such artifact: '{logged.exp_id}/models/{logged.model_id}/artifacts/missing'"
        resp = http.get("/model-versions/get-artifact", params={**params, "version": "7", "path": "MLmodel"})
        message = _error(resp, 404, "RESOURCE_DOES_NOT_EXIST")
        assert message == f"Model Version (name={logged.model_name}, version=7) not found"
        for bad in ("../x", "/etc/passwd"):
            resp = http.get("/model-versions/get-artifact", params={**params, "path": bad})
            assert _error(resp, 400, "INVALID_PARAMETER_VALUE").startswith("Invalid path")
        resp = http.get("/model-versions/get-artifact", params={"version": "1", "path": "MLmodel"})
        assert _error(resp, 400, "INVALID_PARAMETER_VALUE").startswith("Missing value for required parameter 'name'.")
        # The reference answers 500 (int(None)) here; Runyard names the parameter.
        resp = http.get("/model-versions/get-artifact", params={"name": logged.model_name, "path": "MLmodel"})
        missing = _error(resp, 400, "INVALID_PARAMETER_VALUE")
        assert missing.startswith("Missing value for required parameter 'version'.")
        resp = http.get("/model-versions/get-artifact", params={**params, "version": "abc", "path": "MLmodel"})
        assert _error(resp, 400, "INVALID_PARAMETER_VALUE") == "Parameter 'version' must be an integer, got 'abc'."


def test_logged_model_files_and_directories(logged: Logged) -> None:
    files = f"{AJAX}/logged-models/{logged.model_id}/artifacts/files"
    root_uri = f"mlflow-artifacts:/{logged.exp_id}/models/{logged.model_id}/artifacts"
    with logged.http() as http:
        resp = http.get(files, params={"artifact_file_path": "MLmodel"})
        assert resp.status_code == 200
        assert (resp.headers["content-type"], resp.headers["content-disposition"]) == (
            "text/plain",
            "attachment; filename=MLmodel",
        )
        for params in ({}, {"artifact_file_path": ""}):
            message = _error(http.get(files, params=params), 400, "BAD_REQUEST")
            assert message == 'Request must include the "artifact_file_path" query parameter.'
        _error(http.get(files, params={"artifact_file_path": "../x"}), 400, "INVALID_PARAMETER_VALUE")
        resp = http.get(f"{AJAX}/logged-models/m-nope/artifacts/files", params={"artifact_file_path": "MLmodel"})
        assert _error(resp, 404, "RESOURCE_DOES_NOT_EXIST") == "Logged model with ID 'm-nope' not found."
        # `files` exists under /ajax-api only; `directories` under both prefixes.
        assert http.get(files.replace(AJAX, API), params={"artifact_file_path": "MLmodel"}).status_code == 404
        for prefix in (API, AJAX):
            listing = http.get(f"{prefix}/logged-models/{logged.model_id}/artifacts/directories").json()
            assert listing["root_uri"] == root_uri
            entries = {f["path"]: f for f in listing["files"]}
            assert {"MLmodel", "conda.yaml", "requirements.txt", "python_env.yaml"} <= set(entries)
            assert entries["MLmodel"]["is_dir"] is False and entries["MLmodel"]["file_size"] > 0
        directories = f"{API}/logged-models/{logged.model_id}/artifacts/directories"
        assert http.get(directories, params={"artifact_directory_path": "MLmodel"}).json() == {"root_uri": root_uri}
        _error(http.get(directories, params={"artifact_directory_path": "/etc"}), 400, "INVALID_PARAMETER_VALUE")


# --- artifacts/list ---------------------------------------------------------------------------------


def test_artifacts_list(logged: Logged) -> None:
    root_uri = f"mlflow-artifacts:/{logged.exp_id}/{logged.run_id}/artifacts"
    with logged.http() as http:
        for prefix in (API, AJAX):
            resp = http.get(f"{prefix}/artifacts/list", params={"run_id": logged.run_id})
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert list(body) == ["root_uri", "files"] and body["root_uri"] == root_uri
            assert [f["path"] for f in body["files"]] == sorted([*FILES, "folder"])
            assert {"path": "folder", "is_dir": True} in body["files"]
            assert {"path": "notes.txt", "is_dir": False, "file_size": 6} in body["files"]
        expected = {
            "root_uri": root_uri,
            "files": [
                {"path": "folder/sub", "is_dir": True},
                {"path": "folder/table.csv", "is_dir": False, "file_size": 8},
            ],
        }
        for params in ({"run_uuid": logged.run_id, "path": "folder"}, {"run_id": logged.run_id, "path": "folder/"}):
            assert http.get(f"{AJAX}/artifacts/list", params=params).json() == expected
        # The reference ignores page_token and never sends next_page_token.
        paged = http.get(f"{API}/artifacts/list", params={"run_id": logged.run_id, "path": "folder", "page_token": "x"})
        assert paged.json() == expected
        for path in ("notes.txt", "nope"):
            resp = http.get(f"{API}/artifacts/list", params={"run_id": logged.run_id, "path": path})
            assert resp.json() == {"root_uri": root_uri}
        for bad in ("../x", "/etc"):
            resp = http.get(f"{API}/artifacts/list", params={"run_id": logged.run_id, "path": bad})
            assert _error(resp, 400, "INVALID_PARAMETER_VALUE").startswith("Invalid path")
        resp = http.get(f"{API}/artifacts/list")
        assert _error(resp, 400, "INVALID_PARAMETER_VALUE").startswith("Missing value for required parameter 'run_id'")
        assert _error(http.get(f"{API}/artifacts/list", params={"run_id": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")


# --- upload-artifact ----------------------------------------------------------------------------


def test_upload_artifact(logged: Logged, tmp_path: Path) -> None:
    url = f"{AJAX}/upload-artifact"
    rid = logged.run2_id
    with logged.http() as http:
        resp = http.post(url, params={"run_uuid": rid, "path": "up/hello.txt"}, content=b"hello upload")
        assert resp.status_code == 200 and resp.content == b""
        assert resp.headers["content-type"] == "application/json"
        # mlflow 3.18's UI names the run `run_id` (3.17.2 accepts only `run_uuid`).
        resp = http.post(url, params={"run_id": rid, "path": "up/second.json"}, json={"a": 1})
        assert resp.status_code == 200
        got = http.get("/get-artifact", params={"run_id": rid, "path": "up/hello.txt"})
        assert got.content == b"hello upload" and got.headers["content-disposition"] == "attachment; filename=hello.txt"
        listing = http.get(f"{API}/artifacts/list", params={"run_id": rid, "path": "up"}).json()
        assert listing["files"] == [
            {"path": "up/hello.txt", "is_dir": False, "file_size": 12},
            {"path": "up/second.json", "is_dir": False, "file_size": 7},
        ]
        assert http.post(url, params={"run_uuid": rid, "path": "up/hello.txt"}, content=b"again").status_code == 200
        for params, content, message in (
            ({"path": "x.txt"}, b"x", "Request must specify run_uuid."),
            ({"run_uuid": rid}, b"x", "Request must specify path."),
            ({"run_uuid": rid, "path": "x.txt"}, b"", "Request must specify data."),
        ):
            assert _error(http.post(url, params=params, content=content), 400, "INVALID_PARAMETER_VALUE") == message
        for bad in ("../x.txt", "/tmp/x.txt"):
            resp = http.post(url, params={"run_uuid": rid, "path": bad}, content=b"x")
            assert _error(resp, 400, "INVALID_PARAMETER_VALUE").startswith("Invalid path")
        big = http.post(url, params={"run_uuid": rid, "path": "big.bin"}, content=b"x" * (10 * 1024 * 1024 + 1))
        assert _error(big, 400, "INVALID_PARAMETER_VALUE") == "Artifact size is too large. Max size is 10MB."
        resp = http.post(url, params={"run_uuid": "nope", "path": "x.txt"}, content=b"x")
        assert _error(resp, 404, "RESOURCE_DOES_NOT_EXIST") == "Run with id=nope not found"
        # The reference answers 500 for these; Runyard says what is wrong.
        _error(http.post(url, params={"run_uuid": rid, "path": "up"}, content=b"x"), 400, "INVALID_PARAMETER_VALUE")
        assert (
            http.post(f"{API}/upload-artifact", params={"run_uuid": rid, "path": "x"}, content=b"x").status_code == 404
        )
        # A raw-body POST is what a foreign page can send without a preflight: refused cross-origin.
        foreign = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
        resp = http.post(url, params={"run_uuid": rid, "path": "evil.txt"}, content=b"x", headers=foreign)
        assert resp.status_code == 403
        names = {f["path"] for f in http.get(f"{API}/artifacts/list", params={"run_id": rid}).json()["files"]}
        assert names == {"up"}  # nothing refused was written
    mlflow.set_tracking_uri(logged.server.url)
    try:
        out = MlflowClient().download_artifacts(rid, "up/hello.txt", str(tmp_path))
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out
    assert Path(out).read_bytes() == b"again"


# --- get-history-bulk ---------------------------------------------------------------------------


def test_metric_history_bulk(logged: Logged) -> None:
    url = f"{AJAX}/metrics/get-history-bulk"
    first = [
        {"key": "loss", "value": "NaN", "timestamp": 1, "step": 9},
        {"key": "loss", "value": 0.2, "timestamp": 1001, "step": 4},
        {"key": "loss", "value": 0.25, "timestamp": 1002, "step": 3},
        {"key": "loss", "value": 0.3333333333333333, "timestamp": 1003, "step": 2},
        {"key": "loss", "value": 0.5, "timestamp": 1004, "step": 1},
        {"key": "loss", "value": 1.0, "timestamp": 1005, "step": 0},
    ]
    second = [{"key": "loss", "value": 10.0 + s, "timestamp": 2000 + s, "step": s} for s in range(3)]
    by_id = {logged.run_id: [{**m, "run_id": logged.run_id} for m in first]}
    by_id[logged.run2_id] = [{**m, "run_id": logged.run2_id} for m in second]
    ordered = [m for rid in sorted(by_id) for m in by_id[rid]]  # by run id, then timestamp, step, value
    with logged.http() as http:
        both: QueryPairs = [("run_id", logged.run2_id), ("run_id", logged.run_id), ("metric_key", "loss")]
        assert http.get(url, params=both).json() == {"metrics": ordered}
        assert http.get(url, params=[*both, ("max_results", "4")]).json() == {"metrics": ordered[:4]}
        assert http.get(url, params=[*both, ("max_results", "99999999")]).json() == {"metrics": ordered}
        no_points: list[QueryPairs] = [
            [*both, ("max_results", "0")],
            [("run_id", logged.run_id), ("metric_key", "nokey")],
            [("run_id", "nope"), ("metric_key", "loss")],
            [("run_id", logged.run_id), ("metric_key", "")],
        ]
        for params in no_points:
            assert http.get(url, params=params).json() == {"metrics": []}
        mixed = http.get(url, params=[("run_id", "nope"), ("run_id", logged.run2_id), ("metric_key", "loss")])
        assert mixed.json() == {"metrics": by_id[logged.run2_id]}
        twice = http.get(url, params=[("run_id", logged.run2_id), ("run_id", logged.run2_id), ("metric_key", "loss")])
        assert twice.json() == {"metrics": by_id[logged.run2_id]}
        refused: list[tuple[QueryPairs, str]] = [
            ([("metric_key", "loss")], "GetMetricHistoryBulk request must specify at least one run_id."),
            ([("run_id", logged.run_id)], "GetMetricHistoryBulk request must specify a metric_key."),
            (
                [*[("run_id", f"r{i}") for i in range(101)], ("metric_key", "loss")],
                "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids.",
            ),
        ]
        for params, message in refused:
            assert _error(http.get(url, params=params), 400, "INVALID_PARAMETER_VALUE") == message
        # The reference answers 500 for a non-number and an oddly cut list for a negative number.
        for bad in ("abc", "-2"):
            _error(http.get(url, params=[*both, ("max_results", bad)]), 400, "INVALID_PARAMETER_VALUE")
        assert http.get(f"{API}/metrics/get-history-bulk", params=both).status_code == 404  # ajax-api only


# --- search-datasets ----------------------------------------------------------------------------


def test_search_datasets(logged: Logged) -> None:
    url = f"{AJAX}/experiments/search-datasets"
    train_digest, eval_digest = _digests(logged)
    first = [
        {"experiment_id": logged.exp_id, "name": "eval-ds", "digest": eval_digest},  # an input without context
        {"experiment_id": logged.exp_id, "name": "eval-ds", "digest": eval_digest, "context": "eval"},
        {"experiment_id": logged.exp_id, "name": "train-ds", "digest": train_digest, "context": "training"},
    ]
    second = [{"experiment_id": logged.exp2_id, "name": "train-ds", "digest": train_digest, "context": "other"}]
    with logged.http() as http:
        assert http.post(url, json={"experiment_ids": [logged.exp_id]}).json() == {"dataset_summaries": first}
        both = http.post(url, json={"experiment_ids": [logged.exp_id, logged.exp2_id]}).json()
        assert both == {"dataset_summaries": first + second}
        assert http.post(url, json={"experiment_ids": ["999999"]}).json() == {}
        for body, message in (
            ({"experiment_ids": []}, "SearchDatasets request must specify at least one experiment_id."),
            ({}, "SearchDatasets request must specify at least one experiment_id."),
            (
                {"experiment_ids": [str(i) for i in range(1, 22)]},
                "SearchDatasets request cannot specify more than 20 experiment_ids. Received 21 experiment_ids.",
            ),
            ({"experiment_ids": ["abc"]}, "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."),
        ):
            assert _error(http.post(url, json=body), 400, "INVALID_PARAMETER_VALUE") == message
        bare = http.post(url, content=json.dumps({"experiment_ids": [logged.exp_id]}))
        assert _error(bare, 400, "INVALID_PARAMETER_VALUE").startswith("Bad Request. Content-Type header is missing")
        assert (
            http.post(f"{API}/experiments/search-datasets", json={"experiment_ids": [logged.exp_id]}).status_code == 404
        )


def _digests(logged: Logged) -> tuple[str, str]:
    mlflow.set_tracking_uri(logged.server.url)
    try:
        run = MlflowClient().get_run(logged.run_id)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out
    assert run.inputs is not None
    digests = {d.dataset.name: d.dataset.digest for d in run.inputs.dataset_inputs}
    return digests["train-ds"], digests["eval-ds"]


# --- legacy runs/log-model ----------------------------------------------------------------------


def _history(http: httpx.Client, run_id: str) -> str | None:
    tags = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"].get("tags", [])
    return next((t["value"] for t in tags if t["key"] == HISTORY), None)


def test_legacy_log_model_writes_the_references_tag(logged: Logged) -> None:
    with logged.http() as http:
        run = http.post(f"{API}/runs/create", json={"experiment_id": logged.exp_id}).json()["run"]["info"]["run_id"]
        first = {
            "artifact_path": "legacy",
            "flavors": {"python_function": {"loader_module": "x"}},
            "utc_time_created": "2026-12-02 06:00:00.000000",
            "run_id": run,
            "signature": {"inputs": '[{"type": "double"}]'},
            "mlflow_version": "2.9.0",
        }
        second = {
            "artifact_path": "a",
            "flavors": {"f": "str", "g": {"config": {"dropped": 1}, "é": "ü"}},
            "utc_time_created": 12.5,
            "run_id": run,
            "model_uuid": "u",
        }
        third: dict[str, object] = {"artifact_path": None, "flavors": {}, "utc_time_created": "", "run_id": None}
        for prefix, model in ((API, first), (AJAX, second), (API, third)):
            resp = http.post(f"{prefix}/runs/log-model", json={"run_id": run, "model_json": json.dumps(model)})
            assert resp.status_code == 200 and resp.json() == {}, resp.text
        value = _history(http, run)
        # The value mlflow server 3.17.2 stores for the same three calls (the last entry's time is "now").
        expected_prefix = (
            f'[{{"run_id": "{run}", "artifact_path": "legacy", "utc_time_created": "2026-12-02 06:00:00.000000", '
            f'"model_uuid": null, "flavors": {{"python_function": {{"loader_module": "x"}}}}}}, '
            f'{{"run_id": "{run}", "artifact_path": "a", "utc_time_created": "12.5", "model_uuid": "u", '
            f'"flavors": {{"f": "str", "g": {{"\\u00e9": "\\u00fc"}}}}}}, '
        )
        assert value is not None and value.startswith(expected_prefix), value
        rest = value[len(expected_prefix) :]
        now = r'"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?"'
        assert re.fullmatch(r'\{"utc_time_created": ' + now + r', "model_uuid": null, "flavors": \{\}\}\]', rest), rest

        def refused(body: dict[str, object]) -> str:
            return _error(http.post(f"{API}/runs/log-model", json=body), 400, "INVALID_PARAMETER_VALUE")

        assert refused({"run_id": run, "model_json": "not json"}) == (
            "Malformed model info. \n not json \n is not a valid JSON."
        )
        assert refused({"run_id": run, "model_json": json.dumps({"artifact_path": "x"})}) == (
            "Model json is missing mandatory fields: {'flavors', 'run_id', 'utc_time_created'}"
        )
        assert refused({"run_id": run}).startswith("Missing value for required parameter 'model_json'.")
        assert refused({"model_json": json.dumps(first)}).startswith("Missing value for required parameter 'run_id'.")
        refused({"run_id": run, "model_json": "[1, 2]"})  # the reference answers 500
        refused({"run_id": run, "model_json": json.dumps({**first, "flavors": "notadict"})})  # 500 there too
        huge = {**first, "flavors": {"f": {"x": "y" * 9000}}}
        assert "more than the tag value limit of 8000" in refused({"run_id": run, "model_json": json.dumps(huge)})
        assert _history(http, run) == value  # nothing refused was written
        missing = http.post(f"{API}/runs/log-model", json={"run_id": "nope", "model_json": json.dumps(first)})
        assert _error(missing, 404, "RESOURCE_DOES_NOT_EXIST") == "Run with id=nope not found"
        assert http.post(f"{API}/runs/delete", json={"run_id": run}).status_code == 200
        assert refused({"run_id": run, "model_json": json.dumps(first)}) == (
            f"The run {run} must be in the 'active' state. Current state is deleted."
        )


def test_legacy_log_model_through_the_real_client(logged: Logged) -> None:
    """The client's own `record_logged_model` (what MLflow 2.x's `Model.log` called) round-trips."""
    from mlflow.models import Model

    mlflow.set_tracking_uri(logged.server.url)
    try:
        client = MlflowClient()
        run = client.create_run(logged.exp_id)
        model = Model(
            artifact_path="legacy", run_id=run.info.run_id, flavors={"sklearn": {"config": {"a": 1}, "v": "1"}}
        )
        client._tracking_client.store.record_logged_model(run.info.run_id, model)
        client._tracking_client.store.record_logged_model(run.info.run_id, model)
        tag = client.get_run(run.info.run_id).data.tags[HISTORY]
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out
    assert tag == json.dumps([model.get_tags_dict()] * 2)
