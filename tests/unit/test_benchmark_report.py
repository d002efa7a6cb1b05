"""The benchmark's third server, FastTrackML, without its binary: which workloads it is measured
on, its ratio column, and the command line refusing `--servers fasttrackml` with no binary."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from benchmarks.cli import parse_args
from benchmarks.config import QUICK
from benchmarks.report import Row, table
from benchmarks.servers import find_fml
from benchmarks.workloads import ALL
from benchmarks.workloads.base import Figure, Quantity


def test_fasttrackml_is_measured_only_within_the_tracking_api(tmp_path: Path) -> None:
    served = {w for w, cls in ALL.items() if cls(QUICK, tmp_path).runs_on("fasttrackml")}
    assert served == {"W1", "W2", "W3", "W4", "W5", "W7"}
    assert all(cls(QUICK, tmp_path).runs_on("runyard") for cls in ALL.values())


def test_the_ratio_to_fasttrackml_reads_like_the_ratio_to_mlflow() -> None:
    latency = Quantity("q", "a call", "ms", "lower")
    rate = Quantity("r", "points", "points/s", "higher")
    figures = {"mlflow": Figure(10.0), "runyard": Figure(2.0), "fasttrackml": Figure(3.0), "floor": Figure(1.0)}
    row = Row.build("sqlite", "W1", "t", latency, figures, {"fasttrackml": {"tree": 64 * 2**20}})
    assert row.fasttrackml == 3.0 and row.vs_fasttrackml == pytest.approx(1.5) and row.rss_fasttrackml == 64 * 2**20
    faster = {"mlflow": Figure(100.0), "runyard": Figure(400.0), "fasttrackml": Figure(500.0)}
    assert Row.build("sqlite", "W3", "t", rate, faster, {}).vs_fasttrackml == pytest.approx(0.8)
    missing = {"runyard": Figure(1.0), "fasttrackml": Figure.missing("n/a (fasttrackml does not serve it)")}
    na = Row.build("sqlite", "W9", "t", latency, missing, {})
    printed = table([row, na])
    header = printed.splitlines()[0]
    assert "fasttrackml" in header and "vs fml" in header and "RSS fml MiB" in header
    assert "1.50x" in printed and "n/a" in printed


def test_the_table_has_no_fasttrackml_columns_without_it() -> None:
    row = Row.build("sqlite", "W1", "t", Quantity("q", "a", "ms", "lower"), {"runyard": Figure(1.0)}, {})
    assert "fasttrackml" not in table([row])


def test_servers_fasttrackml_needs_the_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FML_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit):
        parse_args(["--servers", "fasttrackml"])
    assert parse_args([]).server_list == ["mlflow", "runyard"]
    fake = tmp_path / "fml"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert find_fml(None) == str(fake.resolve())
    assert parse_args([]).server_list == ["mlflow", "runyard", "fasttrackml"]
