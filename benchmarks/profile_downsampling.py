"""How fast the charts' downsampling endpoint answers: `python -m benchmarks.profile_downsampling
[--backend sqlite|postgres] [--runs 10 --steps 100000 --points 1000 --repeat 15]`.

Starts `runyard server` (one worker) on a fresh store, logs `--runs` runs of `--steps` steps of
one metric over HTTP (log-batch of 1,000 points; a noisy falling curve with one spike up, one
spike down and a few NaN per run), then times `GET /ajax-api/2.0/runyard/metrics/downsampled`
for all the runs at once, end to end through HTTP (min / median / p90 of `--repeat` calls):

- the first call after seeding (nothing cached), then the whole series on the step axis;
- a zoomed refetch (a tenth of the steps, in the middle);
- the whole series on the wall-clock and on the relative axis, and a zoomed wall-clock refetch;
- after one more point is logged to each run, the step axis again (what a live chart refetches).

Every answer is checked: both spikes of every run are in it, and it holds at most `--points`
points per series. `--data-dir DIR` keeps the store (and the run ids) for a later invocation,
which then skips seeding (SQLite only).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from benchmarks.api import Api, parallel
from benchmarks.servers import ManagedServer, backend_uris, runyard_server

ENDPOINT = "/ajax-api/2.0/runyard/metrics/downsampled"
# httpx's `params` as (name, value) pairs (its value union exactly: a list is invariant).
Params = list[tuple[str, str | int | float | bool | None]]
KEY = "loss"
START = 1_700_000_000_000
SPIKE_UP, SPIKE_DOWN = 1e6, -1e6


def _value(run: int, step: int, steps: int) -> float:
    if step == (steps * 37 // 100 + run) % steps:
        return SPIKE_UP
    if step == (steps * 71 // 100 + 7 * run) % steps:
        return SPIKE_DOWN
    if step % 9973 == 5:
        return math.nan
    return 2.0 * math.exp(-step / max(1, steps / 4)) + 0.05 * math.sin(step * 12.9898 + run)


def seed(api: Api, runs: int, steps: int) -> list[str]:
    exp = api.experiment("downsampling-bench")
    ids = [api.create_run(exp, f"run-{r}", START) for r in range(runs)]

    def log(job: tuple[int, int]) -> None:
        r, begin = job
        metrics = [
            {"key": KEY, "value": _number(_value(r, s, steps)), "timestamp": START + 37 * s, "step": s}
            for s in range(begin, min(steps, begin + 1000))
        ]
        api.log_batch(ids[r], metrics=metrics)

    parallel(log, [(r, b) for r in range(runs) for b in range(0, steps, 1000)], workers=2)
    return ids


def _number(v: float) -> float | str:
    return "NaN" if math.isnan(v) else v


def timed(http: httpx.Client, params: Params, repeat: int) -> tuple[list[float], Any, int]:
    times = []
    body: Any = None
    size = 0
    for _ in range(repeat):
        began = time.perf_counter()
        response = http.get(ENDPOINT, params=params)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
        body, size = response.json(), len(response.content)
    return times, body, size


def check(body: Any, points: int, whole: bool) -> None:
    for s in body["series"]:
        assert len(s["value"]) <= points, (s["run_id"], len(s["value"]))
        if whole:
            values = [v for v in s["value"] if isinstance(v, float)]
            assert SPIKE_UP in values and SPIKE_DOWN in values, s["run_id"]


def report(name: str, times: list[float], size: int, body: Any) -> dict[str, Any]:
    kept = sum(len(s["value"]) for s in body["series"])
    row = {
        "case": name,
        "min_ms": round(min(times), 1),
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(sorted(times)[max(0, math.ceil(len(times) * 0.9) - 1)], 1),
        "calls": len(times),
        "points": kept,
        "kib": round(size / 1024, 1),
    }
    print(
        f"{name:<34} min {row['min_ms']:>7} ms  median {row['median_ms']:>7} ms  p90 {row['p90_ms']:>7} ms  "
        f"{kept:>6} points  {row['kib']:>7} KiB"
    )
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_downsampling", description=__doc__)
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--data-dir", type=Path, help="keep the store here (SQLite), reuse it when seeded")
    p.add_argument("--out", type=Path, help="write the figures as JSON")
    args = p.parse_args(argv)

    with ExitStack() as stack:
        workdir = args.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="downsampling-")))
        uris = stack.enter_context(backend_uris(args.backend, workdir))
        server: ManagedServer = runyard_server(workdir, uris.runyard).start()
        stack.callback(server.stop)
        api = Api(server.url)
        stack.callback(api.close)
        marker = workdir / "runs.json"
        if args.backend == "sqlite" and marker.exists():
            ids = json.loads(marker.read_text())
        else:
            began = time.perf_counter()
            ids = seed(api, args.runs, args.steps)
            print(f"seeded {args.runs} runs x {args.steps} steps in {time.perf_counter() - began:.1f} s")
            if args.backend == "sqlite":
                marker.write_text(json.dumps(ids))
        base: Params = [("run_id", r) for r in ids]
        base += [("metric_key", KEY), ("points", args.points)]
        mid, tenth = args.steps // 2, args.steps // 10
        zoom = [("min_x", mid - tenth // 2), ("max_x", mid + tenth // 2)]
        wall_zoom = [("min_x", START + 37 * (mid - tenth // 2)), ("max_x", START + 37 * (mid + tenth // 2))]
        rows = []
        with httpx.Client(base_url=server.url, timeout=600) as http:
            times, body, size = timed(http, base, 1)
            check(body, args.points, whole=True)
            rows.append(report("first call (step)", times, size, body))
            cases: list[tuple[str, Params, bool]] = [
                ("step, whole series", base, True),
                ("step, zoomed to 10%", base + zoom, False),
                ("wall, whole series", [*base, ("x_axis", "wall")], True),
                ("wall, zoomed to 10%", [*base, ("x_axis", "wall"), *wall_zoom], False),
                ("relative, whole series", [*base, ("x_axis", "relative")], True),
            ]
            for name, params, whole in cases:
                http.get(ENDPOINT, params=params)  # warm
                times, body, size = timed(http, params, args.repeat)
                check(body, args.points, whole)
                rows.append(report(name, times, size, body))
            live = []
            for i in range(args.repeat):
                for r in ids:
                    metric = {
                        "key": KEY,
                        "value": 0.5,
                        "timestamp": START + 37 * (args.steps + i),
                        "step": args.steps + i,
                    }
                    api.log_batch(r, metrics=[metric])
                t, body, size = timed(http, base, 1)
                live += t
            check(body, args.points, whole=True)
            rows.append(report("step, after a new point per run", live, size, body))
        if args.out:
            args.out.write_text(
                json.dumps({"backend": args.backend, "runs": args.runs, "steps": args.steps, "rows": rows})
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
