"""What the dual-tracking workloads (W10, W11) need around the measured Runyard: the mirror targets
(a second Runyard with a target workspace, a plain `mlflow server`), started by the workload on
SQLite in its scratch folder; the source's links through its API; and the checks that what a
target holds is what was logged (so a figure is never that of a broken mirror).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.api import Api, ApiError
from benchmarks.servers import ManagedServer, mlflow_server, runyard_server, start_all

RUNYARD_API = "/api/2.0/runyard"
WORKSPACES_API = "/api/3.0/mlflow/workspaces"
TARGET_WORKSPACE = "mirror"  # the workspace on the target Runyard that links point to
SOURCE_RUN_TAG = "runyard.source.run_id"  # the back-pointer tag a mirrored run carries
POLL_SECONDS = 0.2
HISTORY_PAGE = 25_000


class MirrorTargets:
    """The target servers, started on first use (concurrently) and stopped by `stop`."""

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self.runyard: ManagedServer | None = None
        self.mlflow: ManagedServer | None = None

    def start(self, *, runyard: bool = True, mlflow: bool = False) -> None:
        wanted: list[ManagedServer] = []
        if runyard and self.runyard is None:
            self.runyard = runyard_server(self._scratch / "mirror-runyard", None)
            self.runyard.name = "mirror-runyard"
            wanted.append(self.runyard)
        if mlflow and self.mlflow is None:
            workdir = self._scratch / "mirror-mlflow"
            self.mlflow = mlflow_server(workdir, f"sqlite:///{workdir / 'mlflow.db'}")
            self.mlflow.name = "mirror-mlflow"
            wanted.append(self.mlflow)
        start_all(wanted)
        if self.runyard is not None and self.runyard in wanted:
            api = Api(self.runyard.url)
            try:
                create_workspace(api, TARGET_WORKSPACE)
            finally:
                api.close()

    def stop(self) -> None:
        for server in (self.runyard, self.mlflow):
            if server is not None:
                server.stop()


def create_workspace(api: Api, name: str) -> None:
    try:
        api.call("POST", WORKSPACES_API, json={"name": name})
    except ApiError as e:
        if "ALREADY_EXISTS" not in e.body:
            raise


def workspace_url(base: str, workspace: str) -> str:
    """The URL of a Runyard workspace (`/w/<workspace>` before every API path)."""
    return f"{base.rstrip('/')}/w/{workspace}"


class Links:
    """The mirror links of one source workspace, through the source's API (auth off)."""

    def __init__(self, api: Api, workspace: str) -> None:
        self._api = api
        self.workspace = workspace
        self._base = f"{RUNYARD_API}/workspaces/{workspace}/links"

    def create(self, name: str, url: str, target_workspace: str | None = None) -> None:
        body: dict[str, Any] = {"target_url": url, "name": name}
        if target_workspace:
            body["target_workspace"] = target_workspace
        self._api.call("POST", self._base, json=body)

    def status(self, name: str) -> dict[str, Any]:
        link: dict[str, Any] = self._api.call("GET", f"{self._base}/{name}")["link"]
        return link

    def pause(self, name: str) -> None:
        self._api.call("POST", f"{self._base}/{name}/pause")

    def resume(self, name: str) -> None:
        self._api.call("POST", f"{self._base}/{name}/resume")

    def unlink(self, name: str) -> None:
        self._api.call("DELETE", f"{self._base}/{name}")

    def wait(self, name: str, done: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """Poll the link's status until `done(status)`; a link that parks entries fails at once."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(name)
            if done(status):
                return status
            if status["parked_items"]:
                raise RuntimeError(f"link {name} parked {status['parked_items']} entries: {status['last_error']}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"link {name}: not done within {timeout:.0f} s: {status}")
            time.sleep(POLL_SECONDS)

    def create_idle(self, name: str, url: str, target_workspace: str | None = None, *, paused: bool) -> None:
        """A link whose back-fill (of an empty workspace) is over, then paused if asked: from here
        on the link sends only what the outbox receives."""
        self.create(name, url, target_workspace)
        self.wait(name, lambda s: s["backfill"]["state"] == "done" and s["pending_items"] == 0, 60)
        if paused:
            self.pause(name)
            time.sleep(1.0)  # the worker notices within a pass (0.5 s) and stops


def delivered(status: dict[str, Any]) -> bool:
    return bool(status["pending_items"] == 0 and status["backfill"]["state"] == "done")


def cpu_seconds(server: ManagedServer) -> float:
    """User + system CPU time of the server's process tree so far."""
    total = 0
    for pid in server.pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / 100.0  # clock ticks (USER_HZ is 100 on Linux)


def wait_idle(server: ManagedServer, *, quiet: float = 1.0, busy_below: float = 0.05, timeout: float = 120) -> None:
    """Until the server used less than `busy_below` of a core for `quiet` seconds (a worker that
    was unlinked or paused finishes the batch it had started)."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds(server)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(server)
        if now - before < busy_below * quiet:
            return
        before = now


def history_length(api: Api, run_id: str, key: str) -> int:
    """How many points the run's metric history holds (all pages)."""
    count, token = 0, None
    while True:
        params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": HISTORY_PAGE}
        if token:
            params["page_token"] = token
        page = api.call("GET", "/metrics/get-history", params=params)
        count += len(page.get("metrics") or [])
        token = page.get("next_page_token")
        if not token:
            return count


def mirrored_run_id(api: Api, source_run_id: str) -> str:
    """The id of the run on a target that mirrors `source_run_id` (found by its back-pointer tag)."""
    experiments = api.call("POST", "/experiments/search", json={"max_results": 1000, "view_type": "ALL"})
    ids = [e["experiment_id"] for e in experiments.get("experiments") or []]
    found = api.call(
        "POST",
        "/runs/search",
        json={"experiment_ids": ids, "filter": f"tags.`{SOURCE_RUN_TAG}` = '{source_run_id}'", "max_results": 10},
    )
    runs = found.get("runs") or []
    if len(runs) != 1:
        raise RuntimeError(f"{len(runs)} runs on the target mirror source run {source_run_id}")
    return str(runs[0]["info"]["run_id"])


def check_mirrored(source: Api, target: Api, run_ids: list[str], keys: list[str], samples: int = 3) -> None:
    """A few runs (first, middle, last) hold as many points per key on the target as on the source."""
    picked = sorted({run_ids[0], run_ids[len(run_ids) // 2], run_ids[-1]})[:samples]
    for run_id in picked:
        mirrored = mirrored_run_id(target, run_id)
        for key in keys:
            want, got = history_length(source, run_id, key), history_length(target, mirrored, key)
            if want != got or want == 0:
                raise RuntimeError(f"run {run_id} metric {key}: {want} points in the source, {got} on the target")
