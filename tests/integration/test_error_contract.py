"""The error contract over raw HTTP: MLflow-shaped bodies, MLflow's statuses, nothing written on refusal."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess

API = "/api/2.0/mlflow"


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture
def run_id(http: httpx.Client, unique: str) -> str:
    exp = http.post(f"{API}/experiments/create", json={"name": f"errors-{unique}"}).json()["experiment_id"]
    return str(http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"])


def assert_error(resp: httpx.Response, status: int, code: str, *needles: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error_code"] == code, body
    for needle in needles:
        assert needle in body["message"], body


def test_unknown_route_is_endpoint_not_found(http: httpx.Client) -> None:
    assert_error(http.get(f"{API}/nothing/here"), 404, "ENDPOINT_NOT_FOUND")
    assert_error(http.post("/api/2.0/mlflow/runs/frobnicate", json={}), 404, "ENDPOINT_NOT_FOUND")


def test_wrong_method(http: httpx.Client) -> None:
    resp = http.get(f"{API}/runs/create")
    assert resp.status_code == 405
    assert resp.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_ajax_alias_and_probes(http: httpx.Client) -> None:
    assert http.get("/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}).status_code == 200
    assert http.get("/health").text == "OK"
    assert http.get("/version").text == "3.17.2"
    info = http.get("/api/3.0/mlflow/server-info").json()
    assert info["store_type"] == "SqlStore"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "Malformed JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b'"text"', "JSON object"),
    ],
)
def test_malformed_bodies(http: httpx.Client, run_id: str, body: bytes, needle: str) -> None:
    resp = http.post(f"{API}/runs/log-batch", content=body, headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "INVALID_PARAMETER_VALUE", needle)


def test_missing_required_fields(http: httpx.Client, run_id: str) -> None:
    assert_error(http.post(f"{API}/runs/log-metric", json={"run_id": run_id}), 400, "INVALID_PARAMETER_VALUE", "'key'")
    assert_error(http.post(f"{API}/experiments/create", json={}), 400, "INVALID_PARAMETER_VALUE", "'name'")
    assert_error(http.get(f"{API}/runs/get"), 400, "INVALID_PARAMETER_VALUE", "run_id")
    assert_error(http.post(f"{API}/runs/log-batch", json={}), 400, "INVALID_PARAMETER_VALUE", "run_id")


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"key": "m", "value": "abc", "timestamp": 1}, "value"),
        ({"key": "m", "value": True, "timestamp": 1}, "value"),
        ({"key": "m", "value": 1.0, "timestamp": "soon"}, "timestamp"),
        ({"key": "m", "value": 1.0, "timestamp": 1, "step": 1.5}, "step"),
        ({"key": "m", "value": 1.0, "timestamp": 2**70}, "timestamp"),
        ({"key": "m", "value": 1.0, "timestamp": -5}, "timestamp"),
        ({"key": 5, "value": 1.0, "timestamp": 1}, "key"),
        ({"key": "../escape", "value": 1.0, "timestamp": 1}, "key"),
        ({"key": "bad\u00a7char", "value": 1.0, "timestamp": 1}, "key"),
        ({"key": "x" * 251, "value": 1.0, "timestamp": 1}, "250"),
    ],
)
def test_bad_metric_values(http: httpx.Client, run_id: str, payload: dict[str, object], needle: str) -> None:
    resp = http.post(f"{API}/runs/log-metric", json={"run_id": run_id, **payload})
    assert_error(resp, 400, "INVALID_PARAMETER_VALUE", needle)
    assert "metrics" not in http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]


def test_bad_enums(http: httpx.Client, run_id: str) -> None:
    assert_error(
        http.post(f"{API}/runs/update", json={"run_id": run_id, "status": "DONE"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "status",
    )
    assert_error(
        http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "run_view_type": "SOME"}),
        400,
        "INVALID_PARAMETER_VALUE",
        "run_view_type",
    )


def test_batch_limits_write_nothing(http: httpx.Client, run_id: str) -> None:
    metrics = [{"key": f"m{i}", "value": i, "timestamp": 1, "step": 0} for i in range(1001)]
    assert_error(
        http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}),
        400,
        "INVALID_PARAMETER_VALUE",
        "1000",
    )
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    assert_error(
        http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params}),
        400,
        "INVALID_PARAMETER_VALUE",
        "100",
    )
    mixed = {
        "run_id": run_id,
        "metrics": [{"key": f"m{i}", "value": i, "timestamp": 1, "step": 0} for i in range(950)],
        "params": [{"key": f"p{i}", "value": "v"} for i in range(51)],
    }
    assert_error(http.post(f"{API}/runs/log-batch", json=mixed), 400, "INVALID_PARAMETER_VALUE", "1000")
    dupes = {"run_id": run_id, "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}
    assert_error(http.post(f"{API}/runs/log-batch", json=dupes), 400, "INVALID_PARAMETER_VALUE", "Duplicate")
    data = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert "metrics" not in data and "params" not in data


def test_body_over_one_megabyte_is_refused_before_writing(http: httpx.Client, run_id: str) -> None:
    big = {"run_id": run_id, "tags": [{"key": "t", "value": "x" * 1_100_000}]}
    assert_error(http.post(f"{API}/runs/log-batch", json=big), 400, "INVALID_PARAMETER_VALUE", "1000000")
    tags = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"].get("tags", [])
    assert "t" not in [t["key"] for t in tags]


def test_unknown_ids_are_404(http: httpx.Client) -> None:
    assert_error(http.get(f"{API}/runs/get", params={"run_id": "a" * 32}), 404, "RESOURCE_DOES_NOT_EXIST", "a" * 32)
    assert_error(http.get(f"{API}/experiments/get", params={"experiment_id": "424242"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(
        http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "no-such"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert_error(http.get(f"{API}/experiments/get", params={"experiment_id": "abc"}), 400, "INVALID_PARAMETER_VALUE")
    assert_error(
        http.post(f"{API}/runs/log-metric", json={"run_id": "b" * 32, "key": "m", "value": 1, "timestamp": 1}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_invalid_page_token(http: httpx.Client) -> None:
    resp = http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "page_token": "%%%"})
    assert_error(resp, 400, "INVALID_PARAMETER_VALUE", "page token")


def test_filter_error_points_at_token(http: httpx.Client) -> None:
    resp = http.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": "metrics.loss >> 1"})
    assert_error(resp, 400, "INVALID_PARAMETER_VALUE", ">")
    assert "column" in resp.json()["message"].lower()


def test_non_finite_values_are_accepted_in_proto_json_form(http: httpx.Client, run_id: str) -> None:
    for i, value in enumerate(["NaN", "Infinity", "-Infinity"]):
        resp = http.post(
            f"{API}/runs/log-metric", json={"run_id": run_id, "key": "v", "value": value, "timestamp": 1, "step": i}
        )
        assert resp.status_code == 200, resp.text
    history = http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "v"}).json()["metrics"]
    assert [m["value"] for m in history] == ["NaN", "Infinity", "-Infinity"]


def test_metric_writes_with_known_keys_keep_the_error_contract(http: httpx.Client, unique: str) -> None:
    """Once a key is known, metrics-only writes take the grouped SQLite path: same rules, same errors."""
    exp = http.post(f"{API}/experiments/create", json={"name": f"known-keys-{unique}"}).json()["experiment_id"]
    live, gone = (
        http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"] for _ in range(2)
    )
    point = {"key": "known", "value": 1.0, "timestamp": 1, "step": 0}
    assert http.post(f"{API}/runs/log-batch", json={"run_id": live, "metrics": [point]}).status_code == 200
    assert http.post(f"{API}/runs/delete", json={"run_id": gone}).status_code == 200

    assert_error(
        http.post(f"{API}/runs/log-metric", json={"run_id": gone, **point}),
        400,
        "INVALID_PARAMETER_VALUE",
        "must be in the 'active' state",
    )
    assert_error(
        http.post(f"{API}/runs/log-batch", json={"run_id": "f" * 32, "metrics": [point]}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "f" * 32,
    )
    negative = {**point, "timestamp": -5}
    assert_error(
        http.post(f"{API}/runs/log-batch", json={"run_id": live, "metrics": [point, negative]}),
        400,
        "INVALID_PARAMETER_VALUE",
        "metrics[1].timestamp",
    )
    assert_error(
        http.post(f"{API}/runs/log-metric", json={"run_id": live, **negative}),
        400,
        "INVALID_PARAMETER_VALUE",
        "timestamp",
    )
    history = http.get(f"{API}/metrics/get-history", params={"run_id": live, "metric_key": "known"}).json()
    assert [m["timestamp"] for m in history["metrics"]] == [1]  # nothing of the refused requests was written
    other = f"ws-{unique}"[:40].lower()
    assert http.post("/api/3.0/mlflow/workspaces", json={"name": other}).status_code == 201
    assert_error(
        http.post(f"{API}/runs/log-metric", json={"run_id": live, **point}, headers={"X-MLFLOW-WORKSPACE": other}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
