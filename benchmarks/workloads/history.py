"""W5: full `get_metric_history` (real client); W6: sampled multi-run history (raw HTTP)."""

from __future__ import annotations

import time

from benchmarks.seed import HISTORY_KEY, seed_histories
from benchmarks.stub import RUN_ID
from benchmarks.workloads.base import Figure, Quantity, Target, Workload, median_of


def _history_runs(workload: Workload, target: Target, count: int) -> list[str]:
    """The first `count` W5/W6 runs (W5 reads run 0 only), seeded on first use."""
    sizes = workload.sizes
    if target.is_stub:
        return [RUN_ID] + [f"{r:032x}" for r in range(1, count)]
    runs: list[str] = target.state.setdefault("history_runs", [])
    if len(runs) < count:
        steps = max(sizes.w5_points, sizes.w6_steps)
        runs += seed_histories(target.api, range(len(runs), count), steps, sizes.seed_workers)
    return runs[:count]


class MetricHistory(Workload):
    id = "W5"
    tracking_api_only = True
    title = "get_metric_history"
    quantities = [
        Quantity("history", "get_metric_history", "ms", "lower"),
        # The same pages over raw keep-alive HTTP: the client builds 100,000 Metric entities.
        Quantity("raw_history", "get-history pages, raw HTTP", "ms", "lower"),
    ]

    def seed(self, target: Target) -> None:
        _history_runs(self, target, 1)

    def measure(self, target: Target) -> dict[str, Figure]:
        client = target.client
        run_id = _history_runs(self, target, 1)[0]
        lengths: list[int] = []

        def one() -> float:
            began = time.perf_counter()
            lengths.append(len(client.get_metric_history(run_id, HISTORY_KEY)))
            return (time.perf_counter() - began) * 1000

        figure = median_of(self.sizes.reps, one)
        expected = max(self.sizes.w5_points, self.sizes.w6_steps)
        if any(n != expected for n in lengths):
            figure.note = f"returned {sorted(set(lengths))} points, expected {expected}"
        return {"history": figure, "raw_history": self._raw(target, run_id, expected)}

    def _raw(self, target: Target, run_id: str, expected: int) -> Figure:
        """The pages the client asks for (25,000 points each, the reference's page size)."""
        lengths: list[int] = []

        def one() -> float:
            began = time.perf_counter()
            got, token = 0, None
            while True:
                params = {"run_id": run_id, "metric_key": HISTORY_KEY, "max_results": "25000"}
                if token:
                    params["page_token"] = token
                body = target.api.call("GET", "/metrics/get-history", params=params)
                got += len(body.get("metrics", []))
                token = body.get("next_page_token")
                if not token:
                    break
            lengths.append(got)
            return (time.perf_counter() - began) * 1000

        figure = median_of(self.sizes.reps, one)
        if any(n != expected for n in lengths):
            figure.note = f"returned {sorted(set(lengths))} points, expected {expected}"
        return figure


class SampledHistory(Workload):
    id = "W6"
    title = "get-history-bulk-interval (sampled)"
    quantities = [Quantity("sampled", "bulk-interval", "ms", "lower")]

    def seed(self, target: Target) -> None:
        _history_runs(self, target, self.sizes.w6_runs)

    def measure(self, target: Target) -> dict[str, Figure]:
        # The client has no call for this endpoint (the UI's charts use it): raw keep-alive HTTP.
        params = {
            "run_ids": _history_runs(self, target, self.sizes.w6_runs),
            "metric_key": HISTORY_KEY,
            "max_results": str(self.sizes.w6_max_results),
        }
        counts: list[int] = []

        def one() -> float:
            began = time.perf_counter()
            body = target.api.call("GET", "/metrics/get-history-bulk-interval", params=params)
            counts.append(len(body.get("metrics", [])))
            return (time.perf_counter() - began) * 1000

        figure = median_of(self.sizes.reps, one)
        figure.note = f"{counts[-1]} points" if counts else ""
        return {"sampled": figure}
