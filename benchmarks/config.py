"""Workload sizes for the full benchmark and for ``--quick`` (the CI smoke test)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    """How big each workload is, and how many repetitions every figure is the median of."""

    reps: int = 5  # measured repetitions per figure, after one warm-up repetition
    w1_calls: int = 100  # log_metric / log_param / set_tag calls per repetition
    w2_calls: int = 5  # log_batch calls per repetition
    w2_batch: int = 1000  # metrics per log_batch
    w3_clients: int = 16  # concurrent raw-HTTP connections
    w3_processes: int = 2  # load-generator processes the connections are spread over
    w3_batch: int = 100  # metrics per log-batch request
    w3_seconds: float = 30.0  # measured duration, cut into `reps` windows (or more)
    w3_warmup_seconds: float = 3.0
    w3_windows: int = 6
    w4_runs: int = 20_000  # runs over 2 experiments, 10 params / 10 metrics / 5 tags each
    w4_page: int = 1000
    w5_points: int = 100_000  # points in one metric history (run 0 of the W6 runs)
    w6_runs: int = 10
    w6_steps: int = 100_000
    w6_max_results: int = 1000  # sampled points per run asked from get-history-bulk-interval
    w7_iters: int = 20  # create run + log batch + end run cycles per repetition
    w8_bytes: int = 1024 * MIB
    w8_warmup_bytes: int = 16 * MIB
    w9_models: int = 1000
    w9_versions: int = 10
    w9_calls: int = 20
    w10_rounds: int = 3  # W10: alternating unlinked / paused rounds, W3's duration and windows split over them
    w11_runs: int = 40  # runs logged into the linked workspace while its links are paused
    w11_points_per_run: int = 10_000  # 10 keys x 1,000 steps, in log-batch requests of 1,000 points
    w11_reps: int = 3  # log, then drain into each target: the median of these repetitions (no warm-up)
    w12_runs: int = 10_000  # W12: runs in the table (20 params, 20 metrics, 10 tags each)
    w12_keys: int = 200  # W12: metric keys of one run (its charts page)
    w12_key_steps: int = 1000  # W12: steps of each of those keys
    w12_reps: int = 5  # W12: page loads measured per figure, after one warm-up load
    w12_scroll_reps: int = 3  # W12: scrolls of the table to its end, after one warm-up scroll
    w12_window_s: float = 5.0  # W12: long tasks counted in the first seconds of the many-keys page
    w12_timeout_s: float = 60.0  # W12: a page not ready within this is reported missing
    seed_workers: int = 2  # parallel HTTP connections per server used for seeding (more only adds lock contention)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


FULL = Sizes()

QUICK = Sizes(
    w1_calls=20,
    w2_calls=2,
    w3_seconds=5.0,
    w3_warmup_seconds=1.0,
    w3_windows=5,
    w4_runs=2_000,
    w5_points=10_000,
    w6_steps=10_000,
    w7_iters=5,
    w8_bytes=64 * MIB,
    w8_warmup_bytes=4 * MIB,
    w9_models=100,
    w9_versions=3,
    w9_calls=10,
    w10_rounds=1,
    w11_runs=4,
    w11_points_per_run=1000,
    w11_reps=1,
    w12_runs=1_000,
    w12_keys=50,
    w12_key_steps=100,
    w12_reps=3,
    w12_scroll_reps=1,
    w12_timeout_s=30.0,
)
