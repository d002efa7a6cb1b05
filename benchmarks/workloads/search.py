"""W4: `search_runs` with a params + metrics filter, ordered by a metric, over many runs."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.seed import SEARCH_FILTER, SEARCH_ORDER, search_runs_data, seed_search_runs
from benchmarks.workloads.base import Figure, Quantity, Target, Workload, median_of


def expected_matches(runs: int) -> int:
    return sum(r.matches() for r in search_runs_data(runs))


class SearchRuns(Workload):
    id = "W4"
    tracking_api_only = True
    title = "search_runs (params + metrics filter, order by metric)"
    quantities = [
        Quantity("first_page", "first page", "ms", "lower"),
        Quantity("all_pages", "all pages", "ms", "lower"),
        # The same requests over raw keep-alive HTTP: the client builds 1,000 Run entities per page,
        # which bounds what any server can show through it.
        Quantity("raw_first_page", "first page, raw HTTP", "ms", "lower"),
        Quantity("raw_all_pages", "all pages, raw HTTP", "ms", "lower"),
    ]

    def seed(self, target: Target) -> None:
        runs = search_runs_data(self.sizes.w4_runs)
        target.state["search_experiments"] = seed_search_runs(target.api, runs, self.sizes.seed_workers)

    def measure(self, target: Target) -> dict[str, Figure]:
        client = target.client
        experiments: list[str] = target.state.get("search_experiments", ["1", "2"])
        page = self.sizes.w4_page
        expected = expected_matches(self.sizes.w4_runs)
        counts: list[int] = []

        def search(token: str | None) -> Any:
            return client.search_runs(
                experiments, SEARCH_FILTER, order_by=SEARCH_ORDER, max_results=page, page_token=token
            )

        def first() -> float:
            began = time.perf_counter()
            search(None)
            return (time.perf_counter() - began) * 1000

        def all_pages() -> float:
            began = time.perf_counter()
            got, token = 0, None
            while True:
                result = search(token)
                got += len(result)
                token = result.token
                if not token:
                    break
            counts.append(got)
            return (time.perf_counter() - began) * 1000

        if expected > page:
            figures = {
                "first_page": median_of(self.sizes.reps, first),
                "all_pages": median_of(self.sizes.reps, all_pages),
            }
        else:  # one page holds every match: "all pages" is the same request as "first page"
            figures = {"all_pages": median_of(self.sizes.reps, all_pages)}
            figures["first_page"] = Figure(figures["all_pages"].value, figures["all_pages"].samples)
            figures["all_pages"].note = f"all {expected} matches fit on the first page"
        if any(c != expected for c in counts):
            figures["all_pages"].note = f"returned {sorted(set(counts))} runs, expected {expected}"
        figures.update(self._raw(target, experiments, expected))
        return figures

    def _raw(self, target: Target, experiments: list[str], expected: int) -> dict[str, Figure]:
        request = {"experiment_ids": experiments, "filter": SEARCH_FILTER, "order_by": SEARCH_ORDER}
        page = self.sizes.w4_page
        counts: list[int] = []

        def pages(stop_after_first: bool) -> float:
            began = time.perf_counter()
            got, token = 0, None
            while True:
                paging = {"max_results": page, **({"page_token": token} if token else {})}
                body = target.api.call("POST", "/runs/search", json={**request, **paging})
                got += len(body.get("runs", []))
                token = body.get("next_page_token")
                if stop_after_first or not token:
                    break
            if not stop_after_first:
                counts.append(got)
            return (time.perf_counter() - began) * 1000

        figures = {
            "raw_first_page": median_of(self.sizes.reps, lambda: pages(True)),
            "raw_all_pages": median_of(self.sizes.reps, lambda: pages(False)),
        }
        if any(c != expected for c in counts):
            figures["raw_all_pages"].note = f"returned {sorted(set(counts))} runs, expected {expected}"
        return figures
