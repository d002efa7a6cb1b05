"""The web UI's chart data, `GET /ajax-api/2.0/runyard/metrics/downsampled`, over HTTP against a live
server on SQLite and PostgreSQL, with points logged by the real client: spikes survive sampling,
short series come back whole, zoomed ranges, the wall-clock and relative axes, series being
logged to, and the refusals."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric

from runyard.domain.downsampling import downsample
from tests.conftest import QueryPairs, ServerProcess

URL = "/ajax-api/2.0/runyard/metrics/downsampled"
START = 1_700_000_000_000


@pytest.fixture
def http(tracking: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tracking.url, timeout=120) as client:
        yield client


def _value(i: int) -> float:
    """A falling noisy curve with a spike up at 1,111, one down at 777, NaN and infinities now and then."""
    if i == 1111:
        return 1e6
    if i == 777:
        return -1e6
    if i % 1009 == 5:
        return math.nan
    if i % 1499 == 11:
        return math.inf if i % 2 else -math.inf
    return 10.0 / (1 + i / 100) + ((i * 7919) % 13) / 100


def _run(unique: str, n: int, *, key: str = "loss", ts: Any = None, name: str = "") -> str:
    client = MlflowClient()
    exp = client.create_experiment(f"charts-{unique}-{name}-{n}")
    run_id: str = client.create_run(exp, start_time=START).info.run_id
    stamp = ts or (lambda i: START + 10 * i)
    _log(run_id, [Metric(key, _value(i), stamp(i), i) for i in range(n)])
    return run_id


def _log(run_id: str, metrics: list[Metric]) -> None:
    client = MlflowClient()
    for i in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[i : i + 1000])


def _get(http: httpx.Client, params: QueryPairs, status: int = 200) -> dict[str, Any]:
    response = http.get(URL, params=params)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _number(v: float | str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[v] if isinstance(v, str) else float(v)


def _points(series: dict[str, Any]) -> list[tuple[int, int, float]]:
    assert len(series["step"]) == len(series["timestamp"]) == len(series["value"])
    return [(s, t, _number(v)) for s, t, v in zip(series["step"], series["timestamp"], series["value"], strict=True)]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _history(run_id: str, key: str = "loss") -> list[tuple[int, int, float]]:
    return sorted(
        ((m.step, m.timestamp, m.value) for m in MlflowClient().get_metric_history(run_id, key)),
        key=lambda p: (p[0], p[1], 0.0 if math.isnan(p[2]) else p[2], math.isnan(p[2])),
    )


def _check_sampled(series: dict[str, Any], history: list[tuple[int, int, float]], budget: int) -> None:
    """Within the budget, a subset of the history in step order, with its ends and its extremes."""
    kept = _points(series)
    assert series["sampled"] is True and len(kept) <= budget
    keys = {(s, t, "nan" if math.isnan(v) else v) for s, t, v in history}
    assert all((s, t, "nan" if math.isnan(v) else v) in keys for s, t, v in kept)
    assert [p[0] for p in kept] == sorted(p[0] for p in kept)
    assert kept[0][:2] == history[0][:2] and kept[-1][:2] == history[-1][:2]
    finite = [v for _, _, v in history if math.isfinite(v)]
    kept_finite = [v for _, _, v in kept if math.isfinite(v)]
    assert min(kept_finite) == min(finite) and max(kept_finite) == max(finite)
    # `buckets` groups the kept points by bucket; a bucket runs from its first kept point to its last,
    # and its kept points hold its lowest and highest finite values (the chart's exact band).
    sizes = series["buckets"]
    assert sum(sizes) == len(kept) and all(size >= 1 for size in sizes)
    at = 0
    for size in sizes:
        group, at = kept[at : at + size], at + size
        inside = [v for s, _, v in history if group[0][0] <= s <= group[-1][0] and math.isfinite(v)]
        group_finite = [v for _, _, v in group if math.isfinite(v)]
        assert (min(group_finite), max(group_finite)) == (min(inside), max(inside)) if inside else not group_finite


@pytest.mark.parametrize("n", [1500, 6000])
def test_a_long_series_keeps_its_spikes_within_the_budget(http: httpx.Client, unique: str, n: int) -> None:
    """1,500 points (read point by point) and 6,000 (from the series' rollups, where the store has them)."""
    run_id = _run(unique, n)
    history = _history(run_id)
    body = _get(http, [("run_id", run_id), ("metric_key", "loss"), ("points", 100)])
    (series,) = body["series"]
    assert {k: series[k] for k in ("run_id", "metric_key", "x_axis", "count", "x_min", "x_max", "start_time")} == {
        "run_id": run_id,
        "metric_key": "loss",
        "x_axis": "step",
        "count": n,
        "x_min": 0,
        "x_max": n - 1,
        "start_time": START,
    }
    _check_sampled(series, history, 100)
    assert 1e6 in series["value"] and -1e6 in series["value"]
    assert {"NaN", "Infinity", "-Infinity"} & set(v for v in series["value"] if isinstance(v, str))
    if n <= 2048:
        # Read point by point: exactly the domain's M4 of the history.
        expected = downsample([(s, s, t, v) for s, t, v in history], 100).points
        assert [p[:2] for p in _points(series)] == [(s, t) for _, s, t, _ in expected]
    again = _get(http, [("run_id", run_id), ("metric_key", "loss"), ("points", 100)])
    assert again == body


def test_a_short_series_comes_back_whole(http: httpx.Client, unique: str) -> None:
    run_id = _run(unique, 40)
    (series,) = _get(http, [("run_id", run_id), ("metric_key", "loss")])["series"]
    assert series["sampled"] is False and series["count"] == 40
    got = _points(series)
    assert [p[:2] for p in got] == [(i, START + 10 * i) for i in range(40)]
    assert all(_same(v, _value(i)) for i, (_, _, v) in enumerate(got))


def test_several_values_at_one_step(http: httpx.Client, unique: str) -> None:
    client = MlflowClient()
    run_id: str = client.create_run(client.create_experiment(f"same-step-{unique}")).info.run_id
    _log(run_id, [Metric("m", float((t * 37) % 101), START + t, t // 700) for t in range(2800)])
    (series,) = _get(http, [("run_id", run_id), ("metric_key", "m"), ("points", 40)])["series"]
    assert series["count"] == 2800 and series["x_min"] == 0 and series["x_max"] == 3
    kept = _points(series)
    for step in range(4):
        values = [v for s, _, v in kept if s == step]
        assert min(values) == 0.0 and max(values) == 100.0


@pytest.mark.parametrize("n", [1500, 6000])
def test_zooming_refetches_the_visible_range(http: httpx.Client, unique: str, n: int) -> None:
    run_id = _run(unique, n, name="zoom")
    history = _history(run_id)
    base: QueryPairs = [("run_id", run_id), ("metric_key", "loss"), ("points", 50)]
    (series,) = _get(http, [*base, ("min_x", 700), ("max_x", 1399)])["series"]
    inside = [p for p in history if 700 <= p[0] <= 1399]
    assert series["count"] == 700 and (series["x_min"], series["x_max"]) == (0, n - 1)
    _check_sampled(series, inside, 50)
    (close,) = _get(http, [*base, ("min_x", 770), ("max_x", 800)])["series"]
    assert close["sampled"] is False and close["count"] == 31
    assert [p[:2] for p in _points(close)] == [p[:2] for p in history if 770 <= p[0] <= 800]
    (nothing,) = _get(http, [*base, ("min_x", n + 10), ("max_x", n + 20)])["series"]
    assert nothing["count"] == 0 and nothing["step"] == [] and nothing["x_max"] == n - 1


@pytest.mark.parametrize("n", [1500, 6000])
def test_wall_clock_and_relative_axes(http: httpx.Client, unique: str, n: int) -> None:
    run_id = _run(unique, n, ts=lambda i: START + 500 + 10 * i, name="time")
    history = _history(run_id)
    base: QueryPairs = [("run_id", run_id), ("metric_key", "loss"), ("points", 60)]
    (wall,) = _get(http, [*base, ("x_axis", "wall")])["series"]
    assert (wall["x_min"], wall["x_max"], wall["count"]) == (START + 500, START + 500 + 10 * (n - 1), n)
    _check_sampled(wall, history, 60)
    (relative,) = _get(http, [*base, ("x_axis", "relative")])["series"]
    assert (relative["x_min"], relative["x_max"], relative["start_time"]) == (500, 500 + 10 * (n - 1), START)
    assert relative["step"] == wall["step"]
    # 10 ms a step: [1,000 ms, 2,000 ms] since the start holds steps 50..150.
    (zoomed,) = _get(http, [*base, ("x_axis", "relative"), ("min_x", 1000), ("max_x", 2000)])["series"]
    inside = [p for p in history if 1000 <= p[1] - START <= 2000]
    assert zoomed["count"] == len(inside) == 101 and zoomed["sampled"] is True
    _check_sampled(zoomed, inside, 60)
    (wall_zoom,) = _get(http, [*base, ("x_axis", "wall"), ("min_x", START + 1000), ("max_x", START + 2000)])["series"]
    assert _points(wall_zoom) == _points(zoomed)


def test_time_axis_of_timestamps_out_of_step_order(http: httpx.Client, unique: str) -> None:
    """A series whose timestamps go back at some step (a resumed run): in time order all the same."""
    run_id = _run(unique, 5000, ts=lambda i: START + 10 * i - (30_000 if i >= 4000 else 0), name="back")
    history = sorted(_history(run_id), key=lambda p: (p[1], p[0]))
    (wall,) = _get(http, [("run_id", run_id), ("metric_key", "loss"), ("x_axis", "wall"), ("points", 80)])["series"]
    assert (wall["x_min"], wall["x_max"]) == (history[0][1], history[-1][1])
    kept = _points(wall)
    assert [t for _, t, _ in kept] == sorted(t for _, t, _ in kept)
    assert kept[0][:2] == history[0][:2] and kept[-1][:2] == history[-1][:2]
    assert 1e6 in wall["value"] and -1e6 in wall["value"] and len(kept) <= 80


def test_a_series_being_logged_to(http: httpx.Client, unique: str) -> None:
    """Points appended and points logged into the middle show in the next fetch."""
    run_id = _run(unique, 5000, name="live")
    base: QueryPairs = [("run_id", run_id), ("metric_key", "loss"), ("points", 100)]
    assert _get(http, base)["series"][0]["count"] == 5000
    _log(run_id, [Metric("loss", 5e6, START + 10 * 6000, 6000), Metric("loss", -7e6, START, 2500)])
    (series,) = _get(http, base)["series"]
    assert series["count"] == 5002 and series["x_max"] == 6000
    assert 5e6 in series["value"] and -7e6 in series["value"]
    _check_sampled(series, _history(run_id), 100)


def test_several_runs_and_keys(http: httpx.Client, unique: str) -> None:
    a, b = _run(unique, 30, name="a"), _run(unique, 3000, name="b")
    _log(a, [Metric("acc", 0.5, START, 0)])
    params: QueryPairs = [("run_id", b), ("run_id", a), ("run_id", b), ("metric_key", "loss"), ("metric_key", "acc")]
    series = _get(http, params)["series"]
    assert [(s["run_id"], s["metric_key"], s["count"]) for s in series] == [
        (b, "loss", 3000),
        (b, "acc", 0),
        (a, "loss", 30),
        (a, "acc", 1),
    ]
    assert series[1]["x_min"] is None and series[1]["step"] == []


def _error(http: httpx.Client, params: QueryPairs, status: int, code: str, **headers: str) -> str:
    response = http.get(URL, params=params, headers=headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code
    message: str = body["message"]
    return message


def test_refusals(http: httpx.Client, unique: str) -> None:
    run_id = _run(unique, 10, name="err")
    ok: QueryPairs = [("run_id", run_id), ("metric_key", "loss")]
    bad = "INVALID_PARAMETER_VALUE"
    assert "x_axis" in _error(http, [*ok, ("x_axis", "epoch")], 400, bad)
    assert "points" in _error(http, [*ok, ("points", 5001)], 400, bad)
    assert "points" in _error(http, [*ok, ("points", 9)], 400, bad)
    assert "points" in _error(http, [*ok, ("points", "1e3")], 400, bad)
    assert "min_x" in _error(http, [*ok, ("min_x", "1.5")], 400, bad)
    assert "min_x" in _error(http, [*ok, ("min_x", 10), ("max_x", 5)], 400, bad)
    assert "run_id" in _error(http, [("metric_key", "loss")], 400, bad)
    assert "run_id" in _error(http, [("run_id", ""), ("metric_key", "loss")], 400, bad)
    assert "metric_key" in _error(http, [("run_id", run_id)], 400, bad)
    many: QueryPairs = [*(("run_id", f"{i:032x}") for i in range(101)), ("metric_key", "loss")]
    assert "100" in _error(http, many, 400, bad)
    keys: QueryPairs = [*(("run_id", f"{i:032x}") for i in range(21)), *(("metric_key", f"k{i}") for i in range(10))]
    assert "200" in _error(http, keys, 400, bad)
    missing = "0" * 32
    assert missing in _error(
        http, [("run_id", run_id), ("run_id", missing), ("metric_key", "loss")], 404, "RESOURCE_DOES_NOT_EXIST"
    )
    assert http.get("/api/2.0/runyard/metrics/downsampled", params=ok).status_code == 200


def test_runs_of_another_workspace_are_not_found(http: httpx.Client, unique: str) -> None:
    workspace = f"charts-{unique}"
    mlflow.create_workspace(workspace)
    try:
        mlflow.set_workspace(workspace)
        theirs = _run(unique, 10, name="theirs")
    finally:
        mlflow.set_workspace(None)
    params: QueryPairs = [("run_id", theirs), ("metric_key", "loss")]
    assert theirs in _error(http, params, 404, "RESOURCE_DOES_NOT_EXIST")
    inside = http.get(URL, params=params, headers={"X-MLflow-Workspace": workspace})
    assert inside.status_code == 200 and inside.json()["series"][0]["count"] == 10
    assert http.get(f"/w/{workspace}{URL}", params=params).json()["series"][0]["count"] == 10
