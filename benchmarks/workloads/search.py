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
    title = "search_runs (params + metrics filter, order by metric)"
    quantities = [
        Quantity("first_page", "first page", "ms", "lower"),
        Quantity("all_pages", "all pages", "ms", "lower"),
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
        return figures
