"""W12, the web-UI workload, without a browser: where it runs, its URLs, how far a scroll got, and
that the harness imports it without Playwright."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.config import FULL, QUICK
from benchmarks.workloads import ALL
from benchmarks.workloads.ui import MLFLOW, RUNYARD, WebUi, run_name, runyard_chart_url

ROOT = Path(__file__).resolve().parents[2]


def test_w12_measures_the_two_uis_only(tmp_path: Path) -> None:
    workload = ALL["W12"](QUICK, tmp_path)
    assert isinstance(workload, WebUi) and not workload.has_floor
    assert [s for s in ("runyard", "mlflow", "fasttrackml", "runyard-auth") if workload.runs_on(s)] == [
        "runyard",
        "mlflow",
    ]
    assert {q.key for q in workload.quantities} >= {
        "table_first_rows",
        "table_scroll_gap",
        "chart_interactive",
        "chart_zoom",
        "many_keys_open",
        "many_keys_longest_task",
    }


def test_the_sizes_of_the_issue() -> None:
    assert (FULL.w12_runs, FULL.w12_keys, FULL.w6_runs, max(FULL.w5_points, FULL.w6_steps)) == (
        10_000,
        200,
        10,
        100_000,
    )
    assert QUICK.w12_runs < FULL.w12_runs and QUICK.w12_keys < FULL.w12_keys


def test_urls_of_each_ui() -> None:
    base = "http://127.0.0.1:5000"
    assert RUNYARD.table_url(base, "7") == f"{base}/#/experiments/7"
    assert runyard_chart_url(base, "7", ["a", "b"]) == f"{base}/#/experiments/7?view=chart&runs=a,b"
    assert RUNYARD.run_charts_url(base, "7", "r") == f"{base}/#/experiments/7/runs/r/charts"
    assert MLFLOW.table_url(base, "7") == f"{base}/#/experiments/7/runs"
    assert MLFLOW.chart_url(base, "7", ["a"]) == f"{base}/#/experiments/7/runs?compareRunsMode=CHART"
    assert MLFLOW.run_charts_url(base, "7", "r") == f"{base}/#/experiments/7/runs/r/model-metrics"


def test_rows_reached_reads_the_last_run_name(tmp_path: Path) -> None:
    workload = WebUi(QUICK, tmp_path)
    assert run_name(42) == "ui-run-00042"
    assert workload._rows_reached("ui-run-00000") == f"{QUICK.w12_runs:,}"
    assert workload._rows_reached(run_name(QUICK.w12_runs - 100)) == "100"
    assert workload._rows_reached(None) == "?" and workload._rows_reached("Load more") == "?"


def test_the_harness_does_not_import_playwright() -> None:
    code = "import sys, benchmarks.cli, benchmarks.workloads; sys.exit('playwright' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
