"""Observability against live servers: `/metrics` (off, on, across worker processes, behind sign-in),
request ids and JSON log lines, and the start-up lines."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess, make_store_uri
from tests.integration.auth_world import auth_world

REQUESTS = "runyard_http_request_duration_seconds"
GET_EXPERIMENT = "/api/2.0/mlflow/experiments/get"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by (name, sorted labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


def scrape(server: ServerProcess, **kwargs: Any) -> str:
    response = httpx.get(f"{server.url}/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def test_metrics_are_off_by_default_and_404_like_any_unknown_route(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "d").start()
    try:
        with httpx.Client(base_url=server.url) as http:
            got = http.get("/metrics")
            unknown = http.get("/no-such-route")
        assert got.status_code == unknown.status_code == 404
        assert got.json()["error_code"] == unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"
        assert len(got.headers["x-request-id"]) == 16  # every response, errors included
    finally:
        assert server.stop() == 0
    assert "Runyard metrics: off" in server.log()


def test_counters_move_with_real_client_calls_by_route_template(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    from mlflow import MlflowClient

    pg = request.getfixturevalue("postgres_database_factory") if backend == "postgres" else None
    server = ServerProcess(
        data_dir=tmp_path / "d", backend_store_uri=make_store_uri(backend, tmp_path, pg), extra_args=["--metrics"]
    ).start()
    try:
        client = MlflowClient(tracking_uri=server.url)
        exp = client.create_experiment("observed")
        run = client.create_run(exp).info.run_id
        for step in range(3):
            client.log_metric(run, "loss", 1.0 / (step + 1), step=step)
        payload = tmp_path / "weights.bin"
        payload.write_bytes(os.urandom(5000))
        client.log_artifact(run, str(payload))
        fetched = client.download_artifacts(run, "weights.bin", str(tmp_path))
        assert Path(fetched).read_bytes() == payload.read_bytes()
        client.get_run(run)
        assert httpx.get(f"{server.url}/api/2.0/mlflow/runs/get", params={"run_id": "f" * 32}).status_code == 404
        assert httpx.get(f"{server.url}/nothing/{run}").status_code == 404
        text = scrape(server)
    finally:
        assert server.stop() == 0

    def count(method: str, route: str, status: str = "2xx") -> float | None:
        return value(text, f"{REQUESTS}_count", method=method, route=route, status=status)

    assert count("POST", "/api/2.0/mlflow/runs/log-metric") == 3
    assert count("POST", "/api/2.0/mlflow/runs/create") == 1
    assert (count("GET", "/api/2.0/mlflow/runs/get") or 0) >= 1  # the client also reads the run itself
    assert count("GET", "/api/2.0/mlflow/runs/get", "4xx") == 1
    assert count("PUT", "/api/2.0/mlflow-artifacts/artifacts/{artifact_path}") == 1
    assert count("GET", "/api/2.0/mlflow-artifacts/artifacts/{artifact_path}") == 1
    assert count("GET", "unmatched", "4xx") == 1
    routes = {dict(labels).get("route") for name, labels in samples(text) if name == f"{REQUESTS}_count"}
    assert not any(run in route or exp in route.split("/") for route in routes if route)  # templates, never ids
    assert (value(text, "runyard_artifact_upload_bytes_total") or 0) >= 5000
    assert (value(text, "runyard_artifact_download_bytes_total") or 0) >= 5000
    groups = value(text, "runyard_point_writer_group_requests_count")
    assert groups is not None
    if backend == "postgres":  # on an idle SQLite store short writes skip the writer (see `inline_now`)
        assert groups >= 1 and (value(text, "runyard_point_writer_group_points_sum") or 0) >= 2
    assert value(text, "runyard_http_requests_in_flight") == 1  # the scrape itself
    assert (value(text, "runyard_db_pool_size") or 0) > 0
    assert value(text, "runyard_point_writer_queue_requests") == 0
    assert value(text, "runyard_db_pool_checked_out") is not None
    inbox = value(text, "runyard_metric_inbox_points")
    assert (inbox is not None) == (backend == "sqlite")


def _per_process_counts(folder: Path) -> dict[int, float]:
    """How many GET experiments/get requests each worker's own file holds."""
    out = {}
    for path in folder.glob("histogram_*.db"):
        pid = int(path.stem.rpartition("_")[2])
        total = 0.0
        for family in MultiProcessCollector.merge([str(path)]):  # type: ignore[no-untyped-call]
            for s in family.samples:
                if s.name == f"{REQUESTS}_count" and s.labels.get("route") == GET_EXPERIMENT:
                    total += s.value
        out[pid] = total
    return out


def test_counts_add_up_across_worker_processes(tmp_path: Path) -> None:
    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left over by an earlier run")
    server = ServerProcess(
        data_dir=tmp_path / "d", workers=2, extra_args=["--expose-prometheus", str(folder), "--access-log"]
    ).start()
    try:
        sent = 0
        deadline = time.monotonic() + 60
        # A new connection per request: the kernel hands each to whichever worker accepts first.
        while time.monotonic() < deadline:
            response = httpx.get(f"{server.url}{GET_EXPERIMENT}", params={"experiment_id": "0"})
            assert response.status_code == 200
            sent += 1
            counts = _per_process_counts(folder)
            if len(counts) == 2 and all(counts.values()) and sent >= 20:
                break
        counts = _per_process_counts(folder)
        assert len(counts) == 2 and all(counts.values()), counts  # both workers served some
        assert sum(counts.values()) == sent
        for _ in range(6):  # whichever worker answers the scrape counts everyone's requests
            assert value(scrape(server), f"{REQUESTS}_count", method="GET", route=GET_EXPERIMENT, status="2xx") == sent
        # A worker that dies: the supervisor replaces it and its live gauges stop counting; its
        # requests still do.
        victim = min(counts)
        os.kill(victim, signal.SIGKILL)
        gone = folder / f"gauge_livesum_{victim}.db"
        deadline = time.monotonic() + 30
        while gone.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not gone.exists()
        for _ in range(4):
            assert value(scrape(server), f"{REQUESTS}_count", method="GET", route=GET_EXPERIMENT, status="2xx") == sent
    finally:
        assert server.stop() == 0
    assert not (folder / "counter_1.db").exists()  # cleared at start-up
    assert list(folder.glob("gauge_livesum_*.db")) == []  # every worker marked gone at the end
    assert "worker files in " + str(folder.resolve()) in server.log()


def test_metrics_are_for_administrators_when_auth_is_on(tmp_path: Path) -> None:
    with auth_world(tmp_path) as world:
        world.user("scraper-user")
        anonymous = httpx.get(f"{world.url}/metrics")
        assert anonymous.status_code == 401
        assert "x-request-id" in anonymous.headers
        with world.bearer(world.token("scraper-user")) as http:
            assert http.get("/metrics").status_code == 403
        with world.bearer(world.token("admin")) as http:
            allowed = http.get("/metrics")
        assert allowed.status_code == 200 and "runyard_build_info" in allowed.text


def _json_lines(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def _cut_off_request(server: ServerProcess, request_id: str) -> None:
    """A JSON request whose body never arrives: the handler logs the disconnect."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n"
            b"X-Request-Id: " + request_id.encode() + b'\r\n\r\n{"name":'
        )
        time.sleep(0.3)


def test_request_ids_are_echoed_and_in_every_json_line(tmp_path: Path) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "d", extra_args=["--log-format", "json", "--access-log", "--log-level", "info"]
    ).start()
    try:
        with httpx.Client(base_url=server.url) as http:
            ok = http.get("/health", headers={"X-Request-Id": "trace-42"})
            missing = http.get(
                "/api/2.0/mlflow/runs/get",
                params={"run_id": "nope", "access_token": "SECRET-IN-QUERY"},
                headers={"X-Request-Id": "trace-43", "Authorization": "Bearer SECRET-IN-HEADER"},
            )
            bad = http.get("/health", headers={"X-Request-Id": "has space"})
            long = http.get("/health", headers={"X-Request-Id": "a" * 129})
        assert ok.headers["x-request-id"] == "trace-42"
        assert missing.status_code == 404 and missing.headers["x-request-id"] == "trace-43"
        for refused in (bad, long):
            assert re.fullmatch("[0-9a-f]{16}", refused.headers["x-request-id"])
        _cut_off_request(server, "cut-7")
        time.sleep(0.5)
    finally:
        assert server.stop() == 0
    log = server.log()
    assert "SECRET-IN-QUERY" not in log and "SECRET-IN-HEADER" not in log
    lines = _json_lines(log)
    assert lines and all({"timestamp", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    access = {line["request_id"]: line for line in lines if line["logger"] == "runyard.access"}
    assert access["trace-42"]["path"] == "/health" and access["trace-42"]["status"] == 200
    assert access["trace-43"]["method"] == "GET" and access["trace-43"]["status"] == 404
    assert access["trace-43"]["path"] == "/api/2.0/mlflow/runs/get?run_id=nope&access_token=***"
    assert all(isinstance(line["duration_ms"], float) for line in access.values())
    assert bad.headers["x-request-id"] in access and long.headers["x-request-id"] in access
    # A record emitted while handling a request carries its id.
    handler_lines = [line for line in lines if line["logger"] != "runyard.access" and line["request_id"] == "cut-7"]
    assert handler_lines and "disconnected" in handler_lines[0]["message"]
    outside = [line for line in lines if "startup complete" in line["message"]]
    assert outside and outside[0]["request_id"] is None


def test_text_lines_carry_the_request_id(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "d", extra_args=["--access-log"]).start()
    try:
        assert httpx.get(f"{server.url}/version", headers={"X-Request-Id": "text-1"}).status_code == 200
        time.sleep(0.2)
    finally:
        assert server.stop() == 0
    assert re.search(
        r' runyard\.access: 127\.0\.0\.1:\d+ - "GET /version HTTP/1\.1" 200 [\d.]+ms request_id=text-1$',
        server.log(),
        re.M,
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_startup_lines_name_the_database_with_its_password_masked(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    uri: str | None = None
    if kind == "postgres":
        plain: Callable[[], str] = request.getfixturevalue("postgres_database_factory")
        # Trust authentication on the test server: the password is sent and ignored.
        uri = plain().replace("postgresql://postgres@", "postgresql://postgres:Sup3r-Secret@", 1)
    server = ServerProcess(data_dir=tmp_path / "d", backend_store_uri=uri, extra_args=["--metrics"]).start()
    assert server.stop() == 0
    log = server.log()
    first = log.splitlines()[0]
    if kind == "postgres":
        assert uri is not None
        assert first.endswith(f"database {uri.replace(':Sup3r-Secret@', ':***@')} (PostgreSQL)"), first
        assert "Sup3r-Secret" not in log
    else:
        assert first.endswith(f"database sqlite:///{(tmp_path / 'd' / 'runyard.db').resolve()} (SQLite)"), first
    assert f"Runyard artifacts: local folder {(tmp_path / 'd' / 'artifacts').resolve()}" in log
    assert "Runyard logs: info and above, text lines on stderr; access log off" in log
    assert f"Runyard metrics: {server.url}/metrics (Prometheus, open)" in log
