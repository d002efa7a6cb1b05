"""Metric history through the real client (paginated) and the sampled bulk-interval endpoint over HTTP."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import httpx
from mlflow import MlflowClient
from mlflow.entities import Metric

from tests.conftest import ServerProcess


def _run_with_points(unique: str, n: int, key: str = "loss") -> str:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"hist-{unique}-{n}"))
    for start in range(0, n, 1000):
        client.log_batch(
            run.info.run_id,
            metrics=[
                Metric(key, float(i) if i % 97 else float("nan"), 1_000 + i, i)
                for i in range(start, min(n, start + 1000))
            ],
        )
    run_id: str = run.info.run_id  # RunInfo.run_id is a property subclass, which mypy reads as Any
    return run_id


def test_history_is_complete_and_ordered(tracking: object, unique: str) -> None:
    rid = _run_with_points(unique, 3000)
    history = MlflowClient().get_metric_history(rid, "loss")
    assert len(history) == 3000
    assert [m.step for m in history] == list(range(3000))
    for m in history:
        if m.step % 97 == 0:
            assert math.isnan(m.value)
        else:
            assert m.value == float(m.step)


def test_history_pages_over_http(tracking: ServerProcess, unique: str) -> None:
    rid = _run_with_points(unique, 250)
    seen: list[int] = []
    token = None
    with httpx.Client(base_url=tracking.url) as http:
        while True:
            params: dict[str, str | int] = {"run_id": rid, "metric_key": "loss", "max_results": 100}
            if token:
                params["page_token"] = token
            body = http.get("/api/2.0/mlflow/metrics/get-history", params=params).json()
            seen.extend(m["step"] for m in body.get("metrics", []))
            token = body.get("next_page_token")
            if not token:
                break
        assert seen == list(range(250))
        missing_key = http.get("/api/2.0/mlflow/metrics/get-history", params={"run_id": rid, "metric_key": "nope"})
        assert missing_key.status_code == 200 and missing_key.json() == {}


def _history_pages(http: httpx.Client, rid: str, key: str, size: int, token: str | None = None) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        params: dict[str, str | int] = {"run_id": rid, "metric_key": key, "max_results": size}
        if token:
            params["page_token"] = token
        response = http.get("/api/2.0/mlflow/metrics/get-history", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        got += body.get("metrics", [])
        token = body.get("next_page_token")
        if not token:
            return got


def test_pages_split_ties_without_losing_or_repeating_points(tracking: ServerProcess, unique: str) -> None:
    """Pages continue from the last point read: points sharing timestamp and step (and a NaN beside
    a stored 0) are each returned once, whatever the page size, in the same order as one full read."""
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"ties-{unique}"))
    rid = run.info.run_id
    values = [0.0, float("nan"), -1.0, float("inf"), float("-inf"), 2.5]
    client.log_batch(rid, metrics=[Metric("t", v, ts, step) for ts in (5, 3) for step in (1, 0) for v in values])
    with httpx.Client(base_url=tracking.url) as http:
        full = http.get("/api/2.0/mlflow/metrics/get-history", params={"run_id": rid, "metric_key": "t"}).json()
        everything = full["metrics"]
        assert len(everything) == 24 and "next_page_token" not in full
        assert [(p["timestamp"], p["step"]) for p in everything] == sorted(
            (p["timestamp"], p["step"]) for p in everything
        )
        for size in (1, 2, 5, 7, 24, 25):
            assert _history_pages(http, rid, "t", size) == everything, size


def test_page_tokens(tracking: ServerProcess, unique: str) -> None:
    rid = _run_with_points(unique, 30)
    url = "/api/2.0/mlflow/metrics/get-history"
    with httpx.Client(base_url=tracking.url) as http:
        everything = _history_pages(http, rid, "loss", 1000)
        # A token that carries only an offset (the form other listings use) still pages.
        offset_only = base64.b64encode(json.dumps({"offset": 10}).encode()).decode()
        assert _history_pages(http, rid, "loss", 7, offset_only) == everything[10:]
        for after in ([1, 2], ["a", 1, 0.0, False], [1, 2, "NaN", False], [1, 2, 0.0, 1], {"x": 1}):
            token = base64.b64encode(json.dumps({"offset": 3, "after": after}).encode()).decode()
            bad = http.get(url, params={"run_id": rid, "metric_key": "loss", "max_results": 5, "page_token": token})
            assert bad.status_code == 400, after
            assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        garbage = http.get(url, params={"run_id": rid, "metric_key": "loss", "page_token": "%%%"})
        assert garbage.status_code == 400 and garbage.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_duplicate_points_are_stored_once(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"dupes-{unique}"))
    for _ in range(3):  # a client retry replays the same point
        client.log_metric(run.info.run_id, "m", 1.5, timestamp=10, step=1)
    client.log_metric(run.info.run_id, "m", 2.5, timestamp=10, step=1)
    assert sorted(m.value for m in client.get_metric_history(run.info.run_id, "m")) == [1.5, 2.5]


def test_latest_value_is_highest_step(tracking: object, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"latest-{unique}"))
    rid = run.info.run_id
    client.log_metric(rid, "m", 5.0, timestamp=100, step=5)
    client.log_metric(rid, "m", 1.0, timestamp=200, step=1)  # later, but an earlier step
    assert client.get_run(rid).data.metrics["m"] == 5.0
    client.log_metric(rid, "m", 7.0, timestamp=50, step=6)
    assert client.get_run(rid).data.metrics["m"] == 7.0


def test_sampled_history(tracking: ServerProcess, unique: str) -> None:
    runs = [_run_with_points(f"{unique}{i}", 5000) for i in range(2)]
    with httpx.Client(base_url=tracking.url) as http:
        url = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
        body = http.get(url, params={"run_ids": runs, "metric_key": "loss", "max_results": 50}).json()
        points = body["metrics"]
        for rid in runs:
            steps = [p["step"] for p in points if p["run_id"] == rid]
            assert len(steps) == 50
            assert steps[0] == 0 and steps[-1] == 4999  # first and last kept
            assert steps == sorted(steps)
        window = http.get(
            url,
            params={"run_ids": runs[0], "metric_key": "loss", "start_step": 100, "end_step": 200, "max_results": 1000},
        ).json()["metrics"]
        assert [p["step"] for p in window] == list(range(100, 201))
        bad = http.get(url, params={"run_ids": runs[0], "metric_key": "loss", "start_step": 5})
        assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        too_many = http.get(url, params={"run_ids": runs[0], "metric_key": "loss", "max_results": 2501})
        assert too_many.status_code == 400
        # As the reference: runs that do not exist contribute nothing (a known run's points still come).
        unknown = http.get(url, params={"run_ids": "f" * 32, "metric_key": "loss"})
        assert unknown.status_code == 200 and unknown.json() == {}
        mixed = http.get(url, params=[("run_ids", "f" * 32), ("run_ids", runs[0]), ("metric_key", "loss")])
        assert mixed.status_code == 200 and {p["run_id"] for p in mixed.json()["metrics"]} == {runs[0]}


def test_sampled_history_when_points_share_steps(tracking: ServerProcess, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"samestep-{unique}"))
    rid = run.info.run_id
    for start in range(0, 3000, 1000):
        client.log_batch(rid, metrics=[Metric("s", float(i), 10_000 + i, 0) for i in range(start, start + 1000)])
    with httpx.Client(base_url=tracking.url) as http:
        url = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
        points = http.get(url, params={"run_ids": rid, "metric_key": "s", "max_results": 100}).json()["metrics"]
    assert len(points) == 100
    assert points[0]["timestamp"] == 10_000 and points[-1]["timestamp"] == 12_999
    assert [p["timestamp"] for p in points] == sorted(p["timestamp"] for p in points)


def test_sampled_history_of_sparse_steps(tracking: ServerProcess, unique: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"sparse-{unique}"))
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric("p", float(i), 1, i * 1000) for i in range(40)])
    with httpx.Client(base_url=tracking.url) as http:
        url = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
        points = http.get(url, params={"run_ids": rid, "metric_key": "p", "max_results": 100}).json()["metrics"]
        assert [p["step"] for p in points] == [i * 1000 for i in range(40)]
        few = http.get(url, params={"run_ids": rid, "metric_key": "p", "max_results": 5}).json()["metrics"]
        steps = [p["step"] for p in few]
        assert len(steps) == 5 and steps[0] == 0 and steps[-1] == 39_000
