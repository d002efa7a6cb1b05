"""Deterministic data sets, loaded into a server over HTTP (the same requests for both servers).

Seeding never reaches into a server's database: it sends ordinary MLflow REST calls, in parallel
and with large `log-batch` requests, so both servers end up holding exactly the same data.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from benchmarks.api import Api, parallel

BASE_TIME = 1_700_000_000_000  # ms; fixed so that both servers store identical rows
MAX_BATCH_METRICS = 1000  # MLflow's per-request limit

# -- W4: runs to search ---------------------------------------------------------------------------

SEARCH_FILTER = "params.p0 = 'adam' and metrics.m0 > 0.5"
SEARCH_ORDER = ["metrics.m1 DESC"]


@dataclass(frozen=True)
class SearchRun:
    index: int
    params: list[tuple[str, str]]
    metrics: list[tuple[str, float]]
    tags: list[tuple[str, str]]

    def matches(self) -> bool:
        return dict(self.params)["p0"] == "adam" and dict(self.metrics)["m0"] > 0.5


def search_runs_data(n: int) -> list[SearchRun]:
    """`n` runs with 10 params, 10 metrics and 5 tags each; about a quarter match SEARCH_FILTER."""
    out = []
    for i in range(n):
        rng = random.Random(i)
        params = [("p0", "adam" if i % 2 == 0 else "sgd")] + [
            (f"p{k}", f"v{k}-{rng.randrange(10)}") for k in range(1, 10)
        ]
        metrics = [(f"m{k}", round(rng.random(), 6)) for k in range(10)]
        tags = [(f"t{k}", f"tag{k}-{rng.randrange(5)}") for k in range(5)]
        out.append(SearchRun(i, params, metrics, tags))
    return out


def seed_search_runs(api: Api, runs: list[SearchRun], workers: int) -> list[str]:
    """Two experiments, runs alternating between them; returns the experiment ids."""
    experiments = [api.experiment("bench-search-a"), api.experiment("bench-search-b")]

    def one(run: SearchRun) -> None:
        run_id = api.create_run(experiments[run.index % 2], f"search-{run.index}", BASE_TIME + run.index, run.tags)
        api.log_batch(
            run_id,
            metrics=[{"key": k, "value": v, "timestamp": BASE_TIME + run.index, "step": 0} for k, v in run.metrics],
            params=[{"key": k, "value": v} for k, v in run.params],
        )

    parallel(one, runs, workers)
    return experiments


# -- W5/W6: long metric histories -----------------------------------------------------------------

HISTORY_KEY = "loss"
HISTORY_EXPERIMENT = "bench-history"


def history_value(run: int, step: int) -> float:
    return ((step * 7919 + run * 31) % 10007) / 10007.0


def seed_histories(api: Api, runs: Iterable[int], steps: int, workers: int) -> list[str]:
    """Runs number `runs`, each with `steps` points of metric "loss"; returns their ids."""
    experiment = api.experiment(HISTORY_EXPERIMENT)
    numbers = list(runs)
    run_ids = {r: api.create_run(experiment, f"history-{r}", BASE_TIME) for r in numbers}
    chunks = [(r, start) for r in numbers for start in range(0, steps, MAX_BATCH_METRICS)]

    def one(chunk: tuple[int, int]) -> None:
        r, start = chunk
        metrics = [
            {"key": HISTORY_KEY, "value": history_value(r, s), "timestamp": BASE_TIME + s, "step": s}
            for s in range(start, min(start + MAX_BATCH_METRICS, steps))
        ]
        api.log_batch(run_ids[r], metrics=metrics)

    parallel(one, chunks, workers)
    return [run_ids[r] for r in numbers]


# -- W9: the model registry -----------------------------------------------------------------------


def model_name(i: int) -> str:
    return f"bench-model-{i:04d}"


def seed_registry(api: Api, models: int, versions: int, workers: int) -> None:
    """`models` registered models with `versions` versions each; EndpointMissing if unsupported.

    Sources are `runs:/<run>/…` URIs of one seeded run: Runyard refuses sources (such as `s3://…`)
    that no run or logged model of the server contains; `mlflow server` accepts either.
    """
    api.call("POST", "/registered-models/create", json={"name": model_name(0)}, missing_ok=True)
    run_id = api.create_run(api.experiment("bench-registry"), "registry-source", BASE_TIME)

    def one(i: int) -> None:
        if i:
            api.call("POST", "/registered-models/create", json={"name": model_name(i)})
        for v in range(versions):
            body = {"name": model_name(i), "source": f"runs:/{run_id}/models/{i}/{v}", "run_id": run_id}
            api.call("POST", "/model-versions/create", json=body)

    parallel(one, range(models), workers)
