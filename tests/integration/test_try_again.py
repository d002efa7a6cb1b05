""" "Not processed, try again" answers 429 with `Retry-After`, never a 5xx (issue 11, item 5).

MLflow 3.18 resends a write that is not idempotent (create run, log model, ...) only on 408 and 429:
a 5xx may come after the write committed. So a request the store refused for contention (here: a
real PostgreSQL lock timeout, the server's sessions started with `lock_timeout`) must be a 429 the
client can resend as it is, and nothing of it may have been written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from mlflow import MlflowClient

from tests.conftest import ServerProcess

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """A server on PostgreSQL whose sessions give up on a lock after 300 ms."""
    url = request.getfixturevalue("postgres_database_factory")()
    proc = ServerProcess(
        data_dir=tmp_path_factory.mktemp("impatient"),
        backend_store_uri=url,
        extra_env={"PGOPTIONS": "-c lock_timeout=300"},
    ).start()
    yield proc
    assert proc.stop() == 0


def _store_url(server: ServerProcess) -> str:
    assert server.backend_store_uri
    return server.backend_store_uri


def _holding(server: ServerProcess, table: str, seconds: float) -> threading.Thread:
    """A thread holding an exclusive lock on `table` for `seconds` (started once the lock is taken)."""
    import psycopg

    taken = threading.Event()

    def hold() -> None:
        with psycopg.connect(_store_url(server)) as conn:
            conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            taken.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(30)
    return thread


def test_a_lock_timeout_is_429_with_retry_after_and_writes_nothing(impatient: ServerProcess, unique: str) -> None:
    with httpx.Client(base_url=impatient.url, timeout=60) as http:
        exp = http.post(f"{API}/experiments/create", json={"name": f"locked-{unique}"}).json()["experiment_id"]
        run_id = http.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
        holder = _holding(impatient, "params", 3)
        refused = http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "k", "value": "v"})
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == "1"
        body = refused.json()
        assert body["error_code"] == "TEMPORARILY_UNAVAILABLE", body
        assert "lock timeout" in body["message"] and "try again" in body["message"], body
        holder.join()
        got = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
        assert "params" not in got["data"], got
        again = http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "k", "value": "v"})
        assert again.status_code == 200, again.text
        got = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
        assert got["data"]["params"] == [{"key": "k", "value": "v"}]


def test_the_client_resends_a_run_creation_refused_for_a_lock(
    impatient: ServerProcess, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    client = MlflowClient(tracking_uri=impatient.url)
    exp = client.create_experiment(f"resent-{unique}")
    holder = _holding(impatient, "runs", 1.5)
    run = client.create_run(exp)  # answered 429 while the lock is held, then created on a later try
    holder.join()
    assert [r.info.run_id for r in client.search_runs([exp])] == [run.info.run_id]
    assert "a lock timeout" in impatient.log()  # it was refused at least once (logged as a warning)
