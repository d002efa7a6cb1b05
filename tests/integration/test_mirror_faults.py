"""Dual tracking under faults, judged by the real mlflow client with exact counts: no metric point
lost, none stored twice, exactly one target run per source run.

1. The target (a second Runyard) is stopped in the middle of a run and started again on the same
   port and data: the link shows `failing` with the error while the writes wait, and delivery resumes
   within a minute of the restart (the backoff is capped at 30 s). Once with the source on SQLite,
   once on PostgreSQL.
2. The source is SIGKILLed while replicating a large batch to a plain `mlflow server` — at the
   moment the target has created a run whose answer the source never got — and restarted on the
   same data: the back-pointer tag finds that run, so no second one is made, and re-sent points are
   stored once.
3. A Runyard target with path-named experiments behind a proxy that answers 500 to everything for
   a while, then 503 to its workspace only (whose naming the source must know before it sends
   anything): failing, nothing lost, then delivered under the right names. Then it answers 400 to
   some items: those are parked (their error shown in `status`) while the rest goes on, and
   `runyard workspace retry` delivers them once the target accepts them.

The faults come from `FaultProxy`, a small forwarding HTTP server between the source and a real
target with switches for each fault.
"""

from __future__ import annotations

import http.server
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from runyard.domain.mirror import SOURCE_RUN_TAG
from tests.conftest import ServerProcess, make_store_uri
from tests.mlflow_server import MlflowServer

LINKS_API = "/api/2.0/runyard/workspaces/{workspace}/links"
Status = dict[str, Any]


# --- a fault-injecting proxy --------------------------------------------------------------------

Rule = Callable[[str, dict[str, Any]], bool]
"""(request path, JSON body or {}) → whether the proxy answers 400 instead of forwarding."""

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"})


@dataclass
class Hold:
    """Forward a matching request, then keep its answer back until `release` is set."""

    matches: Rule
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0
    hold_at: int = 1  # the n-th matching request is the one held


class FaultProxy:
    """A threading HTTP server forwarding every request to `upstream`, with switches: `fail_all`
    (answer that status to everything without forwarding), `fail_paths` (that status for these
    paths only), `refuse` (rules answering 400) and `hold` (forward, then withhold the answer)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.fail_all: int | None = None
        self.fail_paths: dict[str, int] = {}
        self.refuse: list[Rule] = []
        self.hold: Hold | None = None
        self.refused = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=self.upstream, timeout=120)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _answer(self, handler: http.server.BaseHTTPRequestHandler, status: int, body: bytes, headers: Any) -> None:
        try:
            handler.send_response(status)
            for key, value in headers:
                if key.lower() not in _HOP_BY_HOP:
                    handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass  # the client went away (a SIGKILLed source)
        handler.close_connection = True

    def _read_body(self, handler: http.server.BaseHTTPRequestHandler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    handler.rfile.readline()
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = self._read_body(handler)
        path = handler.path.split("?", 1)[0]
        try:
            parsed = json.loads(body) if body and "json" in handler.headers.get("Content-Type", "") else {}
        except ValueError:
            parsed = {}
        parsed = parsed if isinstance(parsed, dict) else {}
        failure = self.fail_all if self.fail_all is not None else self.fail_paths.get(path)
        if failure is not None:
            with self._lock:
                self.failed += 1
            error = {"error_code": "INTERNAL_ERROR", "message": "injected: the target is unwell"}
            self._answer(handler, failure, json.dumps(error).encode(), [("Content-Type", "application/json")])
            return
        if any(rule(path, parsed) for rule in list(self.refuse)):
            with self._lock:
                self.refused += 1
            error = {"error_code": "INVALID_PARAMETER_VALUE", "message": f"injected: {path} refused"}
            self._answer(handler, 400, json.dumps(error).encode(), [("Content-Type", "application/json")])
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        response = self._client.request(handler.command, handler.path, content=body, headers=headers)
        hold = self.hold
        if hold is not None and hold.matches(path, parsed):
            with self._lock:
                hold.seen += 1
                mine = hold.seen == hold.hold_at
            if mine:
                hold.held.set()
                hold.release.wait(120)
        self._answer(handler, response.status_code, response.content, response.headers.multi_items())


def log_batch_with_tag(key: str) -> Rule:
    def rule(path: str, body: dict[str, Any]) -> bool:
        return path.endswith("/runs/log-batch") and any(t.get("key") == key for t in body.get("tags") or [])

    return rule


def log_batch_metrics_of(run_id: str) -> Rule:
    def rule(path: str, body: dict[str, Any]) -> bool:
        return path.endswith("/runs/log-batch") and body.get("run_id") == run_id and bool(body.get("metrics"))

    return rule


def runs_create(path: str, body: dict[str, Any]) -> bool:
    return path.endswith("/runs/create")


# --- the source, its links and their status -----------------------------------------------------


def cli(source: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    store = ["--backend-store-uri", source.backend_store_uri] if source.backend_store_uri else []
    done = subprocess.run(
        [sys.executable, "-m", "runyard", *args, "--data-dir", str(source.data_dir), *store],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, f"runyard {' '.join(args)}: {done.stderr}"
    return done


def link(source: ServerProcess, name: str, url: str, target_workspace: str | None = None, *extra: str) -> None:
    if target_workspace:
        extra = ("--target-workspace", target_workspace, *extra)
    cli(source, "workspace", "link", "default", "--to", url, "--name", name, *extra)


def status_cli(source: ServerProcess, name: str) -> Status:
    """`runyard workspace status default NAME --json` (what an operator sees)."""
    found: list[Status] = json.loads(cli(source, "workspace", "status", "default", name, "--json").stdout)
    assert len(found) == 1
    return found[0]


def status_api(source: ServerProcess, name: str) -> Status:
    """The same document from the running server (no process start: for polling)."""
    answer = httpx.get(f"{source.url}{LINKS_API.format(workspace='default')}/{name}", timeout=30)
    answer.raise_for_status()
    found: Status = answer.json()["link"]
    return found


def wait_status(
    source: ServerProcess, name: str, until: Callable[[Status], bool], timeout: float, what: str
) -> tuple[Status, float]:
    """Poll the link's status until `until` holds; (that status, seconds it took)."""
    started = time.monotonic()
    status = status_api(source, name)
    while not until(status):
        if time.monotonic() - started > timeout:
            shown = json.dumps(status, indent=1)
            raise AssertionError(f"{what}: not within {timeout} s: {shown}\n{source.log()[-3000:]}")
        time.sleep(0.25)
        status = status_api(source, name)
    return status, time.monotonic() - started


def delivered(status: Status) -> bool:
    return bool(status["pending_items"] == 0 and status["backfill"]["state"] == "done")


def wait_delivered(source: ServerProcess, name: str, timeout: float = 90) -> Status:
    status, _ = wait_status(source, name, delivered, timeout, "delivery")
    return status


# --- exact comparison ---------------------------------------------------------------------------


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, int, float]]:
    points = [(m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)]
    return sorted(points, key=lambda p: (p[0], p[1], -math.inf if math.isnan(p[2]) else p[2]))


def assert_same_run(source: MlflowClient, target: MlflowClient, source_id: str, target_id: str) -> None:
    """Params, tags, status, end time and every metric history equal (each point exactly once)."""
    want, got = source.get_run(source_id), target.get_run(target_id)
    assert got.data.params == want.data.params
    assert want.data.tags.items() <= got.data.tags.items()
    assert got.data.tags[SOURCE_RUN_TAG] == source_id
    assert (got.info.status, got.info.end_time) == (want.info.status, want.info.end_time)
    assert set(got.data.metrics) == set(want.data.metrics)
    for key in want.data.metrics:
        expected, mirrored = history(source, source_id, key), history(target, target_id, key)
        assert len(mirrored) == len(expected), f"{key}: {len(mirrored)} points on the target, {len(expected)} here"
        assert mirrored == expected, key


def target_runs(target: MlflowClient, experiment_name: str) -> dict[str, list[str]]:
    """Source run id → the ids of the target runs pointing back at it."""
    experiment = target.get_experiment_by_name(experiment_name)
    assert experiment is not None
    found: dict[str, list[str]] = {}
    token: str | None = None
    while True:
        page = target.search_runs([experiment.experiment_id], max_results=1000, page_token=token)
        for run in page:
            found.setdefault(run.data.tags.get(SOURCE_RUN_TAG, ""), []).append(run.info.run_id)
        token = page.token
        if not token:
            return found


def create_workspace(server: ServerProcess, name: str, naming: str = "flat") -> None:
    made = httpx.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": name, "naming": naming}, timeout=30)
    assert made.status_code in (200, 201), made.text


# --- servers ------------------------------------------------------------------------------------


@dataclass
class Targets:
    runyard: ServerProcess
    mlflow: MlflowServer

    def runyard_client(self, workspace: str) -> MlflowClient:
        return MlflowClient(f"{self.runyard.url}/w/{workspace}")

    def restart_runyard(self) -> None:
        """The Runyard target again, on its port and data (a no-op while it runs)."""
        if self.runyard.process is None or self.runyard.process.poll() is not None:
            self.runyard = ServerProcess(data_dir=self.runyard.data_dir, port=self.runyard.port).start()


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    """A Runyard target (tests may stop and restart it: `Targets.runyard` is then the new process)
    and a plain `mlflow server`, for the whole module."""
    with ExitStack() as stack:
        reference = MlflowServer(tmp_path_factory.mktemp("faults-mlflow")).start()
        stack.callback(reference.stop)
        runyard = ServerProcess(data_dir=tmp_path_factory.mktemp("faults-target")).start()
        world = Targets(runyard, reference)
        stack.callback(lambda: world.runyard.stop())
        reference.wait()
        yield world


@pytest.fixture
def source_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str | None], ServerProcess]]:
    """Starts source servers (a data dir of their own, the store given) stopped after the test."""
    started: list[ServerProcess] = []

    def start(store_uri: str | None) -> ServerProcess:
        server = ServerProcess(data_dir=tmp_path_factory.mktemp("faults-source"), backend_store_uri=store_uri).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def proxies() -> Iterator[Callable[[str], FaultProxy]]:
    made: list[FaultProxy] = []

    def start(upstream: str) -> FaultProxy:
        proxy = FaultProxy(upstream).start()
        made.append(proxy)
        return proxy

    yield start
    for proxy in made:
        proxy.stop()


# --- 1. the target stops in the middle of a run ---------------------------------------------------

STEPS = 300
KEYS = ("loss", "accuracy", "lr")
# How long the target stays down at least: long enough, once, for the backoff to grow to 8-16 s.
OUTAGE_SECONDS = {"sqlite": 20.0, "postgres": 5.0}


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_target_stopped_mid_run_and_restarted(
    store: str,
    targets: Targets,
    source_factory: Callable[[str | None], ServerProcess],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    factory = request.getfixturevalue("postgres_database_factory") if store == "postgres" else None
    source = source_factory(make_store_uri(store, tmp_path, factory))
    workspace = f"stopped-{store}"
    create_workspace(targets.runyard, workspace)
    link(source, "b", targets.runyard.url, workspace)

    mlflow.set_tracking_uri(source.url)
    try:
        _log_through_an_outage(store, targets, source, workspace)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None
        targets.restart_runyard()  # for the tests after this one, whatever happened here


def _log_through_an_outage(store: str, targets: Targets, source: ServerProcess, workspace: str) -> None:
    """A run logged while the target stops and (after the outage) starts again, compared exactly."""
    mlflow.set_experiment("target-stops")
    with mlflow.start_run(run_name="through-an-outage") as run:
        mlflow.log_params({"alpha": "0.5", "layers": "3"})
        mlflow.set_tags({"team": "vision"})
        for step in range(STEPS):
            if step == STEPS // 3:
                wait_status(source, "b", delivered, 30, "delivery before the outage")
                assert targets.runyard.stop() == 0
                stopped = time.monotonic()
            if step == STEPS // 2:
                failing, _ = wait_status(source, "b", lambda s: s["state"] == "failing", 30, "failing")
            mlflow.log_metrics({k: (step + 1) / (i + 1 + step) for i, k in enumerate(KEYS)}, step=step)
        mlflow.set_tag("phase", "after the outage")

    during = status_cli(source, "b")
    assert during["state"] == "failing" and failing["last_error"]
    assert during["last_error"] and "could not reach the target" in during["last_error"]
    assert during["pending_items"] > 0 and during["lag_seconds"] > 0

    time.sleep(max(0.0, stopped + OUTAGE_SECONDS[store] - time.monotonic()))
    restarted = time.monotonic()
    targets.restart_runyard()
    wait_status(source, "b", delivered, 60, "delivery after the target came back")
    took = time.monotonic() - restarted
    assert took < 60
    print(f"[{store}] target down {restarted - stopped:.1f} s, delivered {took:.1f} s after its restart began")

    after = status_cli(source, "b")
    assert after["state"] == "active" and after["pending_items"] == 0 and after["parked_items"] == 0
    assert after["sent"]["points"] >= STEPS * len(KEYS)
    target = targets.runyard_client(workspace)
    assert target_runs(target, "target-stops") == {run.info.run_id: [run.info.run_id]}
    assert_same_run(MlflowClient(source.url), target, run.info.run_id, run.info.run_id)


# --- 2. the source is SIGKILLed while replicating ---------------------------------------------------

RUNS = 20
POINTS_PER_RUN = 2000
KILL_AT_RUN = 12  # the target creates this run, the source is killed before it hears back


def _log_many(client: MlflowClient, experiment_id: str) -> list[str]:
    run_ids = []
    for r in range(RUNS):
        run = client.create_run(experiment_id, run_name=f"bulk-{r}", tags={"batch": "kill"})
        run_id = run.info.run_id
        base = 1_700_000_000_000 + r * 10_000_000
        for start in range(0, POINTS_PER_RUN, 1000):
            metrics = [
                Metric(key=("loss", "acc")[i % 2], value=(i * 7919 % 1000) / 7.0, timestamp=base + i, step=i // 2)
                for i in range(start, start + 1000)
            ]
            params = [Param("run", str(r))] if start == 0 else []
            client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("part", str(start))])
        client.set_terminated(run_id)
        run_ids.append(run_id)
    return run_ids


def test_source_killed_mid_replication_and_restarted(
    targets: Targets,
    source_factory: Callable[[str | None], ServerProcess],
    proxies: Callable[[str], FaultProxy],
) -> None:
    proxy = proxies(targets.mlflow.url)
    source = source_factory(None)
    link(source, "reference", proxy.url)
    # The proxy forwards the KILL_AT_RUN-th runs/create to mlflow (which creates the run) and keeps
    # the answer back: the source dies without knowing the target run's id.
    proxy.hold = Hold(runs_create, hold_at=KILL_AT_RUN)

    client = MlflowClient(source.url)
    experiment_id = client.create_experiment("killed-source")
    run_ids = _log_many(client, experiment_id)
    assert proxy.hold.held.wait(60), "the source did not get to the run where it is to be killed"
    pending = status_api(source, "reference")["pending_items"]
    assert pending > 0
    source.kill()
    proxy.hold.release.set()

    started = time.monotonic()
    restarted = ServerProcess(data_dir=source.data_dir, port=source.port).start()
    source.process = restarted.process  # stopped by the fixture
    status = wait_delivered(source, "reference", timeout=120)
    print(f"killed with {pending} item(s) pending; delivered {time.monotonic() - started:.1f} s after the restart")
    assert status["state"] == "active" and status["parked_items"] == 0

    target = MlflowClient(targets.mlflow.url)
    mirrored = target_runs(target, "killed-source")
    assert set(mirrored) == set(run_ids)
    assert all(len(found) == 1 for found in mirrored.values()), {k: v for k, v in mirrored.items() if len(v) > 1}
    for run_id in run_ids:
        assert_same_run(client, target, run_id, mirrored[run_id][0])
        for key in ("loss", "acc"):
            assert len(target.get_metric_history(mirrored[run_id][0], key)) == POINTS_PER_RUN // 2


# --- 3. a target answering 500, then 400 for some items ------------------------------------------------


def _log_run(
    client: MlflowClient, experiment_id: str, name: str, points: int, tags: dict[str, str] | None = None
) -> str:
    run_id: str = client.create_run(experiment_id, run_name=name).info.run_id
    client.log_batch(run_id, params=[Param("name", name)], tags=[RunTag(k, v) for k, v in (tags or {}).items()])
    for start in range(0, points, 500):
        metrics = [Metric("m", float(i) / 3, 1_700_000_000_000 + i, i) for i in range(start, min(points, start + 500))]
        client.log_batch(run_id, metrics=metrics)
    client.set_terminated(run_id)
    return run_id


def test_target_answering_500_then_400_for_some_items(
    targets: Targets,
    source_factory: Callable[[str | None], ServerProcess],
    proxies: Callable[[str], FaultProxy],
) -> None:
    # The target workspace names experiments by path: a flat source's `unwell-target` is
    # `/Shared/default/unwell-target` there.
    workspace, mapped = "unwell", "/Shared/default/unwell-target"
    create_workspace(targets.runyard, workspace, naming="path")
    proxy = proxies(targets.runyard.url)
    source = source_factory(None)
    client = MlflowClient(source.url)
    target = targets.runyard_client(workspace)
    experiment_id = client.create_experiment("unwell-target")

    # 500 to everything from the start (the link is made without contacting the target): failing,
    # kept, then delivered once the target recovers.
    proxy.fail_all = 500
    link(source, "unwell", proxy.url, workspace, "--no-check")
    first = _log_run(client, experiment_id, "during-500s", 1500, {"phase": "500"})
    failing, _ = wait_status(source, "unwell", lambda s: s["state"] == "failing", 30, "failing on 500s")
    assert "HTTP 500" in (failing["last_error"] or "")
    # Then only the target's workspace answers 503: its naming is unknown, so nothing may be sent.
    proxy.fail_paths[f"/api/3.0/mlflow/workspaces/{workspace}"] = 503
    proxy.fail_all = None
    wait_status(source, "unwell", lambda s: proxy.failed >= 4, 40, "retries refused")  # backoff 1, 2, 4 s
    during = status_cli(source, "unwell")
    assert during["state"] == "failing" and during["pending_items"] > 0 and during["parked_items"] == 0
    assert "HTTP 503" in during["last_error"] and f"workspaces/{workspace}" in during["last_error"]
    assert target.search_experiments() == []  # nothing got through
    proxy.fail_paths.clear()
    recovered, took = wait_status(source, "unwell", delivered, 60, "delivery after the 5xx")
    print(f"delivered {took:.1f} s after the 5xx stopped ({proxy.failed} request(s) answered 5xx)")
    assert recovered["state"] == "active" and recovered["parked_items"] == 0, json.dumps(recovered)
    names = {e.name for e in target.search_experiments()}
    assert names == {mapped, "/Shared/default/Default"}  # the source's Default too (the back-fill)
    assert_same_run(client, target, first, first)

    # 400 for two items: a tag the target refuses, and one run's metric points.
    proxy.refuse = [log_batch_with_tag("poison")]
    poisoned = _log_run(client, experiment_id, "poisoned-tag", 1200, {"poison": "yes", "kept": "no"})
    refused_points = client.create_run(experiment_id, run_name="points-refused").info.run_id
    proxy.refuse.append(log_batch_metrics_of(refused_points))
    client.log_batch(refused_points, params=[Param("name", "points-refused")], tags=[RunTag("fine", "yes")])
    client.log_batch(refused_points, metrics=[Metric("m", i * 0.5, 1_700_000_000_000 + i, i) for i in range(800)])
    client.set_terminated(refused_points)
    healthy = _log_run(client, experiment_id, "healthy", 1000)

    parked, _ = wait_status(source, "unwell", lambda s: delivered(s) and s["parked_items"] >= 2, 60, "parking")
    assert parked["state"] == "active", parked
    shown = status_cli(source, "unwell")
    assert shown["parked_items"] == parked["parked_items"] >= 2
    assert "HTTP 400" in (shown["last_error"] or "") and "injected" in shown["last_error"]
    # The rest arrived: a healthy run in full, the poisoned run's points, the other run's state.
    assert_same_run(client, target, healthy, healthy)
    assert history(target, poisoned, "m") == history(client, poisoned, "m")
    assert "poison" not in target.get_run(poisoned).data.tags
    other = target.get_run(refused_points)
    assert other.data.tags["fine"] == "yes" and other.info.status == "FINISHED" and not other.data.metrics

    proxy.refuse = []
    retried = cli(source, "workspace", "retry", "default", "unwell")
    assert f"{parked['parked_items']} parked item(s)" in retried.stdout
    _, took = wait_status(source, "unwell", lambda s: delivered(s) and s["parked_items"] == 0, 60, "retry")
    print(f"parked items delivered {took:.1f} s after the retry")
    assert status_cli(source, "unwell")["parked_items"] == 0
    for run_id in (first, poisoned, refused_points, healthy):
        assert_same_run(client, target, run_id, run_id)
    assert len(target_runs(target, mapped)) == 4
