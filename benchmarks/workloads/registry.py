"""W9: the model registry — `search_model_versions` and `get_registered_model`."""

from __future__ import annotations

from benchmarks.seed import model_name, seed_registry
from benchmarks.workloads.base import Figure, Quantity, Target, Workload, median_of, per_call_ms


class Registry(Workload):
    id = "W9"
    title = "model registry"
    quantities = [
        Quantity("search_versions", "search_model_versions (by name)", "ms", "lower"),
        Quantity("get_model", "get_registered_model", "ms", "lower"),
    ]

    def seed(self, target: Target) -> None:
        seed_registry(target.api, self.sizes.w9_models, self.sizes.w9_versions, self.sizes.seed_workers)

    def measure(self, target: Target) -> dict[str, Figure]:
        client = target.client
        models, versions = self.sizes.w9_models, self.sizes.w9_versions
        found: list[int] = []

        def search(i: int) -> None:
            found.append(len(client.search_model_versions(f"name='{model_name((i * 37) % models)}'")))

        def get(i: int) -> None:
            client.get_registered_model(model_name((i * 37) % models))

        figures = {
            "search_versions": median_of(self.sizes.reps, per_call_ms(self.sizes.w9_calls, search)),
            "get_model": median_of(self.sizes.reps, per_call_ms(self.sizes.w9_calls, get)),
        }
        if any(n != versions for n in found):
            figures["search_versions"].note = f"returned {sorted(set(found))} versions, expected {versions}"
        return figures
