"""The server as a process: the command-line contract, SIGTERM draining, several workers, `db upgrade`."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port

API = "/api/2.0/mlflow"


def test_version_and_help() -> None:
    out = subprocess.run([sys.executable, "-m", "runyard", "--version"], capture_output=True, text=True, check=True)
    assert "runyard" in out.stdout
    helptext = subprocess.run(
        [sys.executable, "-m", "runyard", "server", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--host", "--port", "--data-dir", "--backend-store-uri", "--artifacts-destination", "--workers"):
        assert flag in helptext


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'x.db'}"
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "runyard", "db", "upgrade", "--backend-store-uri", uri],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "revision" in out.stdout


def test_env_vars_configure_the_server(tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess(data_dir=tmp_path / "ignored", port=port)
    server.extra_env = {"RUNYARD_ARTIFACTS_DESTINATION": str(tmp_path / "elsewhere")}
    server.start()
    try:
        with httpx.Client(base_url=server.url) as http:
            assert http.put("/api/2.0/mlflow-artifacts/artifacts/e/x.txt", content=b"hi").status_code == 200
        assert (tmp_path / "elsewhere" / "workspaces" / "default" / "e" / "x.txt").read_bytes() == b"hi"
        assert "MLFLOW_TRACKING_URI=http://127.0.0.1:" in server.log()
    finally:
        assert server.stop() == 0


def test_sigterm_drains_an_inflight_upload(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data").start()
    payload_parts = 20
    result: dict[str, int] = {}

    def slow_body() -> Iterator[bytes]:
        for _ in range(payload_parts):
            yield b"x" * 65536
            time.sleep(0.1)

    def upload() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            result["status"] = http.put(
                "/api/2.0/mlflow-artifacts/artifacts/drain/slow.bin", content=slow_body()
            ).status_code

    t = threading.Thread(target=upload)
    t.start()
    time.sleep(0.5)
    code = server.stop()  # SIGTERM while the upload is still streaming
    t.join(timeout=60)
    assert result.get("status") == 200
    assert code == 0
    stored = server.data_dir / "artifacts" / "workspaces" / "default" / "drain" / "slow.bin"
    assert stored.stat().st_size == payload_parts * 65536


@pytest.mark.parametrize("workers", [2])
def test_several_workers_share_one_store(tmp_path: Path, workers: int) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", workers=workers).start()
    try:
        with httpx.Client(base_url=server.url) as http:
            exp = http.post(f"{API}/experiments/create", json={"name": "multi"}).json()["experiment_id"]
            rid = http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]

        def log(worker: int) -> None:
            with httpx.Client(base_url=server.url) as http:
                for i in range(50):
                    body = {"run_id": rid, "key": f"m{worker}", "value": i, "timestamp": 1, "step": i}
                    assert http.post(f"{API}/runs/log-metric", json=body).status_code == 200

        threads = [threading.Thread(target=log, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with httpx.Client(base_url=server.url) as http:
            for w in range(4):
                history = http.get(f"{API}/metrics/get-history", params={"run_id": rid, "metric_key": f"m{w}"}).json()
                assert len(history["metrics"]) == 50
    finally:
        assert server.stop() == 0
