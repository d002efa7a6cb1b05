"""The replicator's placement (issue 14 §4): a server started with `--no-mirror` only records; a
`runyard mirror` process then delivers (and stops cleanly on SIGTERM); with `--workers 2` exactly one
process holds the lease and the link still delivers, with nothing sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from tests.conftest import ServerProcess
from tests.integration.test_mirror_dual_tracking import mirror_status, runyard_cli, wait_delivered


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("process-target")).start()
    made = httpx.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": "dest"})
    assert made.status_code in (200, 201), made.text
    yield server
    server.stop()


def _log(source: ServerProcess, points: int) -> str:
    client = MlflowClient(source.url)
    experiment_id = client.create_experiment(f"process-{time.monotonic_ns()}")
    run = client.create_run(experiment_id)
    for start in range(0, points, 1000):
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("m", float(i), 1 + i, i) for i in range(start, min(points, start + 1000))],
        )
    return str(run.info.run_id)


def _target_points(target: ServerProcess, run_id: str) -> int:
    client = MlflowClient(f"{target.url}/w/dest")
    return len(client.get_metric_history(run_id, "m"))


def test_no_mirror_records_and_runyard_mirror_delivers(target: ServerProcess, tmp_path: Path) -> None:
    source = ServerProcess(data_dir=tmp_path / "source", extra_args=["--no-mirror"]).start()
    mirror: subprocess.Popen[bytes] | None = None
    try:
        linked = runyard_cli(source, "workspace", "link", "default", "--to", target.url, "--target-workspace", "dest")
        assert linked.returncode == 0, linked.stderr
        run_id = _log(source, 3000)
        time.sleep(3)
        [status] = mirror_status(source)
        assert status["pending_items"] > 0 and status["sent"]["points"] == 0
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
        mirror = subprocess.Popen(
            [sys.executable, "-m", "runyard", "mirror", "--data-dir", str(source.data_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_delivered(source, timeout=60)
        assert _target_points(target, run_id) == 3000
        mirror.send_signal(signal.SIGTERM)
        assert mirror.wait(timeout=30) == 0
    finally:
        if mirror is not None and mirror.poll() is None:
            mirror.kill()
        source.stop()


def test_one_replicator_among_worker_processes(target: ServerProcess, tmp_path: Path) -> None:
    source = ServerProcess(data_dir=tmp_path / "workers", workers=2).start()
    try:
        linked = runyard_cli(
            source, "workspace", "link", "default", "--to", target.url, "--target-workspace", "dest", "--name", "w"
        )
        assert linked.returncode == 0, linked.stderr
        run_ids = [_log(source, 2000) for _ in range(3)]
        [status] = wait_delivered(source, timeout=60)
        assert status["sent"]["points"] == 6000  # each point sent once: one replicator at a time
        assert [_target_points(target, run_id) for run_id in run_ids] == [2000] * 3
    finally:
        source.stop()


def test_an_experiment_filter_mirrors_only_what_it_selects(target: ServerProcess, tmp_path: Path) -> None:
    source = ServerProcess(data_dir=tmp_path / "filtered").start()
    try:
        linked = runyard_cli(
            source,
            "workspace",
            "link",
            "default",
            "--to",
            target.url,
            "--target-workspace",
            "dest",
            "--name",
            "f",
            "--experiments",
            "name LIKE 'keep%'",
        )
        assert linked.returncode == 0, linked.stderr
        client = MlflowClient(source.url)
        kept, skipped = client.create_experiment("keep-this"), client.create_experiment("skip-that")
        for experiment_id in (kept, skipped):
            run = client.create_run(experiment_id)
            client.log_batch(run.info.run_id, metrics=[Metric("m", 1.0, 1, 0)])
        later = client.create_experiment("keep-later")  # selected by the filter after the link was made
        client.create_run(later)
        [status] = wait_delivered(source, timeout=60)
        assert status["sent"]["runs"] == 2
        names = {e.name for e in MlflowClient(f"{target.url}/w/dest").search_experiments()}
        assert {"keep-this", "keep-later"} <= names and "skip-that" not in names
    finally:
        source.stop()
