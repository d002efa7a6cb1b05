"""Smoke test of the benchmark harness (`python -m benchmarks`): it starts `mlflow server` and
Runyard, runs a few quick workloads against both and writes a JSON table. No timing assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_benchmark_writes_numbers_for_both_servers(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNYARD_", "MLFLOW_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--backends",
            "sqlite",
            "--workloads",
            "W1,W2,W5",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"
    assert "ratio" in proc.stdout  # the table was printed

    report = json.loads(out.read_text())
    rows = report["rows"]
    assert {r["workload"] for r in rows} == {"W1", "W2", "W5"}
    assert {r["quantity"] for r in rows} >= {"log_metric", "log_param", "set_tag", "log_batch", "history"}
    for row in rows:
        for target in ("mlflow", "runyard", "floor"):
            value = row[target]
            assert isinstance(value, (int, float)) and value > 0, f"{row['workload']} {row['quantity']} {target}: {row}"
        assert row["ratio"] is not None and row["runyard_vs_floor"] is not None
        assert row["rss_mlflow"] and row["rss_runyard"], row
        assert len(row["samples"]["runyard"]) >= 5  # medians of at least 5 repetitions
    assert report["meta"]["quick"] is True
    assert report["meta"]["mlflow"].startswith("3.")
