"""Nothing acknowledged is lost: SIGKILL the server while four clients log, restart, check every 200."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess

API = "/api/2.0/mlflow"


def _store_uri(backend: str, request: pytest.FixtureRequest) -> str | None:
    if backend == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_database_factory")())


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_write(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store_uri = _store_uri(backend, request)
    server = ServerProcess(data_dir=tmp_path / "data", backend_store_uri=store_uri).start()
    with httpx.Client(base_url=server.url) as http:
        exp = http.post(f"{API}/experiments/create", json={"name": "durable"}).json()["experiment_id"]
        run_ids = [
            http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
            for _ in range(4)
        ]

    acked: dict[str, list[int]] = {rid: [] for rid in run_ids}
    acked_params: dict[str, list[int]] = {rid: [] for rid in run_ids}
    stop = threading.Event()

    def client(run_id: str) -> None:
        step = 0
        with httpx.Client(base_url=server.url, timeout=5) as http:
            while not stop.is_set():
                body = {
                    "run_id": run_id,
                    "metrics": [{"key": "m", "value": step + i, "timestamp": 1, "step": step + i} for i in range(10)],
                    "params": [{"key": f"p{step}", "value": str(step)}],
                }
                try:
                    resp = http.post(f"{API}/runs/log-batch", json=body)
                except httpx.HTTPError:
                    return  # the server died mid-request: this write was never acknowledged
                if resp.status_code == 200:
                    acked[run_id].extend(range(step, step + 10))
                    acked_params[run_id].append(step)
                step += 10

    threads = [threading.Thread(target=client, args=(rid,)) for rid in run_ids]
    for t in threads:
        t.start()
    time.sleep(2.0)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert all(len(v) > 20 for v in acked.values()), {k: len(v) for k, v in acked.items()}

    restarted = ServerProcess(data_dir=tmp_path / "data", backend_store_uri=store_uri).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=60) as http:
            for rid in run_ids:
                history = http.get(f"{API}/metrics/get-history", params={"run_id": rid, "metric_key": "m"}).json()
                stored = {m["step"] for m in history.get("metrics", [])}
                missing = set(acked[rid]) - stored
                assert not missing, f"{len(missing)} acknowledged points lost in run {rid}"
                params = http.get(f"{API}/runs/get", params={"run_id": rid}).json()["run"]["data"].get("params", [])
                stored_params = {p["key"] for p in params}
                assert {f"p{s}" for s in acked_params[rid]} <= stored_params
    finally:
        assert restarted.stop() == 0
