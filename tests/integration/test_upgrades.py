"""Upgrading a store: data written by an older schema revision is served after `db upgrade`, in the
`default` workspace, with no manual step."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from runyard.store.migrate import current_revision, upgrade
from tests.conftest import ServerProcess


def test_old_revision_data_lands_in_default(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db_file = data / "runyard.db"
    url = f"sqlite:///{db_file}"
    upgrade(url, "0001")
    assert current_revision(url) == "0001"
    with sqlite3.connect(db_file) as conn:
        conn.execute(
            "INSERT INTO experiments (experiment_id, workspace_id, name, artifact_location, lifecycle_stage, "
            "creation_time, last_update_time) VALUES (7, 1, 'legacy', 'mlflow-artifacts:/7', 'active', 1, 1)"
        )
        conn.execute(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, lifecycle_stage, "
            "artifact_uri) VALUES ('"
            + "a" * 32
            + "', 7, 'old-run', 'u', 'FINISHED', 5, 'active', 'mlflow-artifacts:/7/x')"
        )
    server = ServerProcess(data_dir=data).start()  # migrates to the newest revision at start-up
    try:
        assert current_revision(url) not in (None, "0001")
        with httpx.Client(base_url=server.url) as http:
            exp = http.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "legacy"}).json()
            assert exp["experiment"]["workspace"] == "default"
            run = http.get("/api/2.0/mlflow/runs/get", params={"run_id": "a" * 32}).json()["run"]
            assert run["info"]["run_name"] == "old-run"
            # A newly created experiment does not collide with the migrated ids.
            new_id = http.post("/api/2.0/mlflow/experiments/create", json={"name": "fresh"}).json()["experiment_id"]
            assert int(new_id) > 7
    finally:
        assert server.stop() == 0
