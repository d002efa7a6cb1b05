"""W10 and W11: dual tracking (issue 14 §6: within 15 % of unlinked; ≥ 20k points/s into a Runyard target).

- **W10**, W3 on a linked workspace: W3's load (16 raw-HTTP clients sending `log-batch`) against
  fresh workspaces of the measured Runyard: unlinked and linked to a second Runyard with the link
  paused (the outbox's cost alone) in alternating rounds (U P, P U, U P: the machine's and the
  store's drift fall on both alike), then linked and replicating (the whole cost: the replicator
  runs in the server's process, and on a 2-core machine the target competes for the cores).
  Reported as points/s and as linked/unlinked ratios, with what the mirror delivered meanwhile.
- **W11**, mirror throughput: with both links of a workspace paused (one to a second Runyard, one
  to a plain `mlflow server`), N points are logged (40 runs x 10,000 points); then each link in
  turn is resumed and timed until nothing is pending. Reported as points/s (from the first
  progress the link records to the end, i.e. without the replicator's pickup of up to 2 s) and as
  the seconds from resume to drained; a few runs' metric histories are compared on both sides.

Both run against the `runyard` server only (others show n/a); the targets run on SQLite whatever
the backend, started by the workload in its scratch folder.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import replace
from typing import Any

from benchmarks.api import Api, parallel
from benchmarks.config import Sizes
from benchmarks.seed import BASE_TIME
from benchmarks.servers import ManagedServer
from benchmarks.workloads.base import Figure, Quantity, Target, Workload
from benchmarks.workloads.ingest import Ingest
from benchmarks.workloads.mirror_world import (
    TARGET_WORKSPACE,
    Links,
    MirrorTargets,
    check_mirrored,
    cpu_seconds,
    create_workspace,
    delivered,
    wait_idle,
    workspace_url,
)

KEYS = 10
CHECKED_KEYS = ["m0", f"m{KEYS - 1}"]


class _MirrorWorkload(Workload):
    """Measured on the `runyard` server, with mirror targets of the workload's own."""

    has_floor = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = MirrorTargets(self.scratch / f"mirror-{self.id.lower()}")

    def runs_on(self, server: str) -> bool:
        return server == "runyard"

    def close(self) -> None:
        self.targets.stop()


class LinkedIngest(_MirrorWorkload):
    id = "W10"
    title = "W3 on a linked workspace (Runyard → Runyard)"
    quantities = [
        Quantity("unlinked", "unlinked: throughput", "points/s", "higher"),
        Quantity("paused", "linked, paused: throughput", "points/s", "higher"),
        Quantity("replicating", "linked, replicating: throughput", "points/s", "higher"),
        Quantity("paused_ratio", "paused / unlinked", "x", "higher"),
        Quantity("replicating_ratio", "replicating / unlinked", "x", "higher"),
        Quantity("mirrored", "replicating: mirror delivered", "points/s", "higher"),
        Quantity("errors", "errors (all runs)", "count", "lower"),
    ]

    def seed(self, target: Target) -> None:
        self.targets.start(runyard=True)

    def _ingest(self, target: Target, workspace: str, sizes: Sizes) -> tuple[dict[str, Figure], Ingest]:
        create_workspace(target.api, workspace)
        scoped = Target(target.name, workspace_url(target.url, workspace), target.server, target.authorization)
        ingest = Ingest(sizes, self.scratch)
        try:
            return ingest.measure(scoped), ingest
        finally:
            scoped.close()

    def _alternating(self, target: Target, mirror: ManagedServer) -> tuple[list[float], list[float], list[str], int]:
        """Unlinked and paused in alternating rounds (U P, P U, U P, …): the window throughputs of
        each, the per-round ratios, and the errors."""
        s = self.sizes
        rounds = max(1, s.w10_rounds)
        short = replace(s, w3_seconds=s.w3_seconds / rounds, w3_windows=max(1, s.w3_windows // rounds))
        links = Links(target.api, "bench-w10-paused")
        create_workspace(target.api, links.workspace)
        links.create_idle("bench", mirror.url, TARGET_WORKSPACE, paused=True)
        workspaces = {"unlinked": "bench-w10-unlinked", "paused": links.workspace}
        rates: dict[str, list[float]] = {"unlinked": [], "paused": []}
        per_round, errors = [], 0
        for r in range(rounds):
            medians: dict[str, float] = {}
            for kind in ("unlinked", "paused") if r % 2 == 0 else ("paused", "unlinked"):
                figs, _ = self._ingest(target, workspaces[kind], short)
                rates[kind] += figs["points_per_s"].samples
                medians[kind] = figs["points_per_s"].value or 0.0
                errors += int(figs["errors"].value or 0)
            per_round.append(f"{medians['paused'] / medians['unlinked']:.3f}" if medians["unlinked"] else "-")
        links.unlink("bench")  # its backlog goes with it
        if target.server is not None:
            wait_idle(target.server)
        return rates["unlinked"], rates["paused"], per_round, errors

    def measure(self, target: Target) -> dict[str, Figure]:
        assert target.server is not None and self.targets.runyard is not None
        mirror = self.targets.runyard
        unlinked_rates, paused_rates, per_round, errors = self._alternating(target, mirror)
        unlinked = Figure(statistics.median(unlinked_rates), unlinked_rates)
        paused = Figure(statistics.median(paused_rates), paused_rates, f"paused/unlinked per round: {per_round}")

        links = Links(target.api, "bench-w10-live")
        create_workspace(target.api, links.workspace)
        links.create_idle("bench", mirror.url, TARGET_WORKSPACE, paused=False)
        # (time, points sent, CPU seconds of the source's and of the target's process trees)
        progress: list[tuple[float, int, float, float]] = []
        finished = threading.Event()
        source = target.server

        def watch() -> None:
            while not finished.wait(1.0):
                sent = int(links.status("bench")["sent"]["points"])
                progress.append((time.monotonic(), sent, cpu_seconds(source), cpu_seconds(mirror)))

        start_points = int(links.status("bench")["sent"]["points"])
        watcher = threading.Thread(target=watch, name="bench-mirror-watch", daemon=True)
        watcher.start()
        try:
            live, ingest = self._ingest(target, links.workspace, self.sizes)
        finally:
            finished.set()
            watcher.join()
        end = links.status("bench")
        links.unlink("bench")
        wait_idle(mirror)
        wait_idle(target.server)

        baseline = unlinked.value
        ratios = {}
        for key, figure in (("paused_ratio", paused), ("replicating_ratio", live["points_per_s"])):
            ratios[key] = Figure(figure.value / baseline if figure.value is not None and baseline else None)
        window = ingest.last_window
        inside = [sample for sample in progress if window[0] <= sample[0] <= window[1]]
        rate, cores = None, ""
        if len(inside) > 1:
            (t0, p0, s0, m0), (t1, p1, s1, m1) = inside[0], inside[-1]
            rate = (p1 - p0) / (t1 - t0)
            cores = f"; CPU meanwhile: source {(s1 - s0) / (t1 - t0):.2f} cores, target {(m1 - m0) / (t1 - t0):.2f}"
        backlog = ingest.last_points - (int(end["sent"]["points"]) - start_points)
        mirrored = Figure(rate)
        mirrored.note = (
            f"{ingest.last_points:,} points logged, {backlog:,} not yet mirrored when the load stopped"
            f" ({end['pending_items']} entries, lag {end['lag_seconds']} s), then the link was removed{cores}"
        )
        errors += int(live["errors"].value or 0)
        return {
            "unlinked": unlinked,
            "paused": paused,
            "replicating": live["points_per_s"],
            **ratios,
            "mirrored": mirrored,
            "errors": Figure(float(errors)),
        }


class MirrorThroughput(_MirrorWorkload):
    id = "W11"
    title = "mirror throughput: points logged while paused, delivered on resume"
    quantities = [
        Quantity("runyard_rate", "into Runyard: throughput", "points/s", "higher"),
        Quantity("runyard_drain", "into Runyard: resume to drained", "s", "lower"),
        Quantity("mlflow_rate", "into mlflow server: throughput", "points/s", "higher"),
        Quantity("mlflow_drain", "into mlflow server: resume to drained", "s", "lower"),
    ]
    workspace = "bench-w11"

    def seed(self, target: Target) -> None:
        self.targets.start(runyard=True, mlflow=True)
        assert self.targets.runyard is not None and self.targets.mlflow is not None
        create_workspace(target.api, self.workspace)
        links = Links(target.api, self.workspace)
        links.create_idle("to-runyard", self.targets.runyard.url, TARGET_WORKSPACE, paused=True)
        links.create_idle("to-mlflow", self.targets.mlflow.url, None, paused=True)

    @property
    def points(self) -> int:
        return self.sizes.w11_runs * self.sizes.w11_points_per_run

    def log_points(self, source: Api, experiment_id: str, rep: int) -> list[str]:
        """N points into fresh runs, in log-batch requests of (up to) 1,000 points."""
        s = self.sizes
        run_ids = [source.create_run(experiment_id, f"mirror-{rep}-{i}", BASE_TIME) for i in range(s.w11_runs)]
        steps_per_batch = max(1, min(1000, s.w11_points_per_run) // KEYS)
        steps = s.w11_points_per_run // KEYS
        batches = [(run_id, step0) for run_id in run_ids for step0 in range(0, steps, steps_per_batch)]

        def send(batch: tuple[str, int]) -> None:
            run_id, step0 = batch
            metrics = [
                {"key": f"m{k}", "value": ((step * 31 + k) % 997) / 997.0, "timestamp": BASE_TIME + step, "step": step}
                for step in range(step0, min(steps, step0 + steps_per_batch))
                for k in range(KEYS)
            ]
            source.log_batch(run_id, metrics)

        parallel(send, batches, self.sizes.seed_workers)
        return run_ids

    def _drain(self, links: Links, name: str, source: ManagedServer, sink: ManagedServer) -> tuple[float, float, str]:
        """Resume the link and wait until it is drained: (points/s, seconds, note); paused again after."""
        before = links.status(name)
        base, lag = int(before["sent"]["points"]), before["lag_seconds"]
        cpu = (cpu_seconds(source), cpu_seconds(sink))
        resumed = time.monotonic()
        links.resume(name)
        samples: list[tuple[float, int]] = []
        deadline = resumed + max(120.0, self.points / 1000)
        while True:
            status = links.status(name)
            now = time.monotonic()
            samples.append((now, int(status["sent"]["points"]) - base))
            if delivered(status) and samples[-1][1] >= self.points:
                break
            if status["parked_items"]:
                raise RuntimeError(f"link {name} parked entries: {status['last_error']}")
            if now > deadline:
                raise RuntimeError(f"link {name} not drained within {now - resumed:.0f} s: {status}")
            time.sleep(0.1)
        took = time.monotonic() - resumed
        cores = [(cpu_seconds(server) - used) / took for server, used in zip((source, sink), cpu, strict=True)]
        links.pause(name)
        end, sent = samples[-1]
        first = next(i for i, (_t, p) in enumerate(samples) if p > 0)
        if first < len(samples) - 1:
            rate = (sent - samples[first][1]) / (end - samples[first][0])
        else:
            rate = sent / (end - resumed)
        note = (
            f"lag at resume {lag} s; first progress seen after {samples[first][0] - resumed:.1f} s;"
            f" CPU while draining: source {cores[0]:.2f} cores, target {cores[1]:.2f}"
        )
        if sent != self.points:
            note += f"; the link counted {sent:,} points sent for {self.points:,} logged"
        return rate, end - resumed, note

    def measure(self, target: Target) -> dict[str, Figure]:
        assert self.targets.runyard is not None and self.targets.mlflow is not None and target.server is not None
        servers = {"runyard": self.targets.runyard, "mlflow": self.targets.mlflow}
        source = Api(workspace_url(target.url, self.workspace))
        destinations = {
            "runyard": Api(workspace_url(self.targets.runyard.url, TARGET_WORKSPACE)),
            "mlflow": Api(self.targets.mlflow.url),
        }
        links = Links(target.api, self.workspace)
        rates: dict[str, list[float]] = {name: [] for name in destinations}
        drains: dict[str, list[float]] = {name: [] for name in destinations}
        notes: dict[str, str] = {}
        try:
            experiment_id = source.experiment("bench-mirror")
            for rep in range(self.sizes.w11_reps):
                logged = time.monotonic()
                run_ids = self.log_points(source, experiment_id, rep)
                logged = time.monotonic() - logged
                for name, destination in destinations.items():
                    rate, drain, note = self._drain(links, f"to-{name}", target.server, servers[name])
                    check_mirrored(source, destination, run_ids, CHECKED_KEYS)
                    rates[name].append(rate)
                    drains[name].append(drain)
                    notes[name] = f"{self.points:,} points (logged in {logged:.1f} s); last repetition: {note}"
        finally:
            source.close()
            for api in destinations.values():
                api.close()
        figures: dict[str, Figure] = {}
        for name in destinations:
            figures[f"{name}_rate"] = Figure(statistics.median(rates[name]), rates[name], notes[name])
            figures[f"{name}_drain"] = Figure(statistics.median(drains[name]), drains[name])
        return figures
