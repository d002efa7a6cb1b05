"""`registered_model_name` under concurrency: eight OS processes register the same brand-new model at
the same moment through the real client and get exactly versions 1-8, with no error and no gap — on
SQLite, on PostgreSQL, and behind `--workers 4`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import ServerProcess, make_store_uri

JOBS = 8

# One job: import the client, report ready, wait for the common start signal, then do what
# `log_model(registered_model_name=...)` does: create the model (tolerating that another job did)
# and register a new version.
JOB = r"""
import json, os, sys, time
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

url, name, run_id, barrier = sys.argv[1:5]
client = MlflowClient(tracking_uri=url, registry_uri=url)
open(os.path.join(barrier, f"ready-{os.getpid()}"), "w").close()
go = os.path.join(barrier, "go")
while not os.path.exists(go):
    time.sleep(0.001)
created = True
try:
    client.create_registered_model(name)
except MlflowException as e:
    if e.error_code != "RESOURCE_ALREADY_EXISTS":
        raise
    created = False
version = client.create_model_version(name, f"runs:/{run_id}/model", run_id, await_creation_for=0)
print(json.dumps({"version": version.version, "created": created}))
"""


def _register_concurrently(url: str, name: str, run_id: str, barrier: Path) -> list[dict[str, object]]:
    barrier.mkdir(parents=True)
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", JOB, url, name, run_id, str(barrier)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(JOBS)
    ]
    try:
        deadline = time.monotonic() + 180
        while len(list(barrier.glob("ready-*"))) < JOBS:
            failed = [p for p in procs if p.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "jobs did not start"
            time.sleep(0.05)
        (barrier / "go").touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=180)
            assert p.returncode == 0, err.decode()[-3000:]
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def _check(url: str, unique: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    exp_id = client.create_experiment(f"race-{unique}")
    run_id = client.create_run(exp_id).info.run_id
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    client.log_artifact(run_id, str(tmp_path / "MLmodel"), "model")
    name = f"race-{unique}"

    results = _register_concurrently(url, name, run_id, tmp_path / "barrier")

    assert sorted(int(str(r["version"])) for r in results) == list(range(1, JOBS + 1))
    assert sum(1 for r in results if r["created"]) == 1
    stored = client.search_model_versions(f"name = '{name}'")
    assert sorted(int(v.version) for v in stored) == list(range(1, JOBS + 1))
    assert client.get_registered_model(name).latest_versions[0].version == str(JOBS)


def test_eight_jobs_register_one_new_model(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    _check(tracking.url, unique, tmp_path)


@pytest.fixture
def four_workers(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    factory = request.getfixturevalue("postgres_database_factory") if backend == "postgres" else None
    proc = ServerProcess(
        data_dir=tmp_path / "server", backend_store_uri=make_store_uri(backend, tmp_path, factory), workers=4
    ).start(timeout=120)
    yield proc
    proc.stop()


def test_eight_jobs_register_one_new_model_with_four_workers(
    four_workers: ServerProcess, unique: str, tmp_path: Path
) -> None:
    _check(four_workers.url, unique, tmp_path)
