"""Workspaces' artifacts kept apart (issue 10, items 2, 3, 9, 11 and 12): where a root may lie, what an
experiment's artifact_location may name, disjoint per-workspace folders and the move from the old
layout, OS path limits, stale upload purging, and deletions seen by every process at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient

from tests.conftest import ServerProcess

ART = "/api/2.0/mlflow-artifacts/artifacts"
WS = "/api/3.0/mlflow/workspaces"


def _ws(name: str) -> dict[str, str]:
    return {"X-MLFLOW-WORKSPACE": name}


def _runyard(*args: str, data_dir: Path, store: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "runyard", *args, "--data-dir", str(data_dir)]
    if store:
        cmd += ["--backend-store-uri", store]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


# --- item 2: where a workspace's root may lie -------------------------------------------------


def test_api_roots_must_lie_inside_the_artifact_destination(server: ServerProcess, unique: str) -> None:
    destination = server.data_dir / "artifacts"
    outside = server.data_dir.parent / f"outside-{unique}"
    link = destination / f"link-{unique}"
    link.symlink_to("/etc")
    with httpx.Client(base_url=server.url) as http:
        for root in (
            "/",
            "/etc",
            str(outside),
            f"file://{outside}",
            str(link),
            f"{destination}/x/../../..",
            str(destination),
        ):
            resp = http.post(WS, json={"name": f"bad-{unique}", "default_artifact_root": root})
            assert resp.status_code == 400, (root, resp.text)
            assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            assert "not allowed" in resp.json()["message"], resp.text
        # The attack of the issue: nothing of /etc is reachable.
        assert http.get(f"{ART}/etc/passwd", headers=_ws(f"bad-{unique}")).status_code == 404
        inside = destination / "custom" / unique
        made = http.post(WS, json={"name": f"ok-{unique}", "default_artifact_root": str(inside)})
        assert made.status_code == 201, made.text
        assert http.put(f"{ART}/f.txt", content=b"hi", headers=_ws(f"ok-{unique}")).status_code == 200
        assert (inside / "f.txt").read_bytes() == b"hi"
        # Overlapping roots: inside another's configured root, or another workspace's managed folder.
        for root in (str(inside / "sub"), str(destination / "custom"), str(destination / "workspaces" / "default")):
            resp = http.post(WS, json={"name": f"lap-{unique}", "default_artifact_root": root})
            assert resp.status_code == 400 and "overlaps" in resp.json()["message"], (root, resp.text)
        # Update is held to the same rule.
        http.post(WS, json={"name": f"upd-{unique}"})
        resp = http.patch(f"{WS}/upd-{unique}", json={"default_artifact_root": "/"})
        assert resp.status_code == 400 and "not allowed" in resp.json()["message"]


def test_allowed_roots_and_the_operator(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    data = tmp_path / "data"
    srv = ServerProcess(data_dir=data, extra_env={"RUNYARD_ALLOWED_ARTIFACT_ROOTS": f"{tmp_path / 'nope'}, {extra}"})
    srv.start()
    try:
        with httpx.Client(base_url=srv.url) as http:
            ok = http.post(WS, json={"name": "team", "default_artifact_root": str(extra / "team")})
            assert ok.status_code == 201, ok.text
            bad = http.post(WS, json={"name": "other", "default_artifact_root": str(tmp_path / "elsewhere")})
            assert bad.status_code == 400
    finally:
        assert srv.stop() == 0
    # The operator may name any folder, but never one that overlaps the managed folders or another root.
    anywhere = tmp_path / "anywhere"
    out = _runyard("workspace", "create", "ops", "--artifact-root", str(anywhere), data_dir=data)
    assert out.returncode == 0, out.stderr
    for root in ("/", str(data / "artifacts"), str(extra / "team" / "x")):
        out = _runyard("workspace", "create", "ops2", "--artifact-root", root, data_dir=data)
        assert out.returncode != 0 and "overlaps" in out.stderr, (root, out.stderr)


def test_experiment_artifact_location_stays_in_the_workspace(tracking: ServerProcess, unique: str) -> None:
    other = f"loc-{unique}"
    mlflow.create_workspace(other)
    with httpx.Client(base_url=tracking.url) as http:
        for workspace in ("default", other):
            for location in (
                "/tmp/x",
                "file:///tmp/x",
                "file:/tmp/x",
                "relative/dir",
                "mlflow-artifacts:/../x",
                "mlflow-artifacts:/a/../../x",
                "mlflow-artifacts:/%2e%2e/x",
                "mlflow-artifacts://evil.example:5000/x",
                "mlflow-artifacts:/.runyard-uploads/tmp",
                "mlflow-artifacts:",
                "s3://bucket/key",
                "http://example.com/x",
            ):
                resp = http.post(
                    "/api/2.0/mlflow/experiments/create",
                    json={"name": f"e-{unique}-{abs(hash(location))}", "artifact_location": location},
                    headers=_ws(workspace),
                )
                assert resp.status_code == 400, (workspace, location, resp.text)
                assert "artifact_location" in resp.json()["message"]
    # A location inside the workspace's namespace works end to end with the real client.
    mlflow.set_workspace(other)
    try:
        client = MlflowClient()
        exp_id = client.create_experiment(f"placed-{unique}", artifact_location=f"mlflow-artifacts:/placed/{unique}")
        assert client.get_experiment(exp_id).artifact_location == f"mlflow-artifacts:/placed/{unique}"
        run = client.create_run(exp_id)
        client.log_text(run.info.run_id, "in place", "notes.txt")
        assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes.txt") == "in place"
    finally:
        mlflow.set_workspace(None)
    folder = tracking.data_dir / "artifacts" / "workspaces" / other / "placed" / unique / run.info.run_id
    assert (folder / "artifacts" / "notes.txt").read_text() == "in place"


# --- item 3: disjoint folders -------------------------------------------------------------------


def test_default_cannot_reach_another_workspaces_artifacts(
    tracking: ServerProcess, unique: str, tmp_path: Path
) -> None:
    name = f"iso-{unique}"
    mlflow.create_workspace(name)
    mlflow.set_workspace(name)
    try:
        mlflow.set_experiment("private")
        with mlflow.start_run() as run:
            mlflow.log_text("the secret", "secret.txt")
        exp_id = run.info.experiment_id
    finally:
        mlflow.set_workspace(None)
    relative = f"{exp_id}/{run.info.run_id}/artifacts/secret.txt"
    on_disk = tracking.data_dir / "artifacts" / "workspaces" / name / relative
    assert on_disk.read_text() == "the secret"
    with httpx.Client(base_url=tracking.url) as http:
        for prefix in (f".workspaces/{name}", f"workspaces/{name}", f"../{name}", "..", "../../workspaces"):
            listed = http.get(ART, params={"path": prefix})
            assert listed.status_code in (200, 400) and "files" not in listed.json(), (prefix, listed.text)
            assert http.get(f"{ART}/{prefix}/{relative}").status_code in (400, 404)
            http.put(f"{ART}/{prefix}/{relative}", content=b"overwritten")
            http.delete(f"{ART}/{prefix}/{relative}")
        assert on_disk.read_text() == "the secret"
        # Nor may default point an experiment into it: `..` is refused, and `.workspaces/<name>` (the old
        # layout's spelling) is now a folder of default's own namespace, with none of the other's files.
        resp = http.post(
            "/api/2.0/mlflow/experiments/create",
            json={"name": f"steal-{unique}", "artifact_location": f"mlflow-artifacts:/../{name}/x"},
        )
        assert resp.status_code == 400 and "artifact_location" in resp.json()["message"]
        resp = http.post(
            "/api/2.0/mlflow/experiments/create",
            json={"name": f"steal-{unique}", "artifact_location": f"mlflow-artifacts:/.workspaces/{name}/{exp_id}"},
        )
        assert resp.status_code == 200, resp.text
        stolen = http.get(ART, params={"path": f".workspaces/{name}/{exp_id}/{run.info.run_id}/artifacts"})
        assert "files" not in stolen.json()
    # The other workspace still reads its file through the real client.
    mlflow.set_workspace(name)
    try:
        assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/secret.txt") == "the secret"
    finally:
        mlflow.set_workspace(None)


def _to_old_layout(artifacts: Path) -> None:
    """Rearrange a data folder of the current layout into the old one, by hand."""
    (artifacts / ".runyard-layout").unlink()
    managed = artifacts / ".workspaces"
    os.replace(artifacts / "workspaces", managed)
    for entry in (managed / "default").iterdir():
        os.replace(entry, artifacts / entry.name)
    (managed / "default").rmdir()


def test_old_layout_is_moved_and_its_artifacts_still_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data_dir=data).start()
    runs: dict[str | None, str] = {}
    try:
        mlflow.set_tracking_uri(srv.url)
        mlflow.create_workspace("team")
        for workspace in (None, "team"):
            mlflow.set_workspace(workspace)
            mlflow.set_experiment("kept")
            with mlflow.start_run() as run:
                mlflow.log_text(f"from {workspace}", "dir/file.txt")
            runs[workspace] = run.info.run_id
            mlflow.set_workspace(None)
        with httpx.Client(base_url=srv.url) as http:  # default's own folder called `workspaces`
            assert http.put(f"{ART}/workspaces/mine.txt", content=b"default's").status_code == 200
    finally:
        mlflow.set_workspace(None)
        assert srv.stop() == 0
    artifacts = data / "artifacts"
    _to_old_layout(artifacts)
    assert (artifacts / ".workspaces" / "team").is_dir() and (artifacts / "workspaces" / "mine.txt").is_file()

    srv = ServerProcess(data_dir=data, workers=2).start()
    try:
        mlflow.set_tracking_uri(srv.url)
        for workspace, run_id in runs.items():
            mlflow.set_workspace(workspace)
            target = tmp_path / f"dl-{workspace}"
            path = mlflow.artifacts.download_artifacts(f"runs:/{run_id}/dir", dst_path=str(target))
            assert Path(path, "file.txt").read_text() == f"from {workspace}"
        mlflow.set_workspace(None)
        with httpx.Client(base_url=srv.url) as http:
            assert http.get(f"{ART}/workspaces/mine.txt").content == b"default's"
            assert http.get(ART, params={"path": ".workspaces"}).json() == {}
    finally:
        mlflow.set_workspace(None)
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out
        assert srv.stop() == 0
    assert not (artifacts / ".workspaces").exists()
    assert sorted(p.name for p in (artifacts / "workspaces").iterdir()) == ["default", "team"]
    assert (artifacts / ".runyard-layout").read_text().strip() == "2"


# --- item 9: the OS's path limit ---------------------------------------------------------------


def test_paths_too_long_for_the_file_system_are_refused(server: ServerProcess) -> None:
    long_path = "/".join(["d"] * 2040)  # 4079 bytes: under the 4096-byte rule, over PATH_MAX with the root
    with httpx.Client(base_url=server.url) as http:
        answers = [
            http.put(f"{ART}/{long_path}", content=b"x"),
            http.get(f"{ART}/{long_path}"),
            http.get(ART, params={"path": long_path}),
            http.delete(f"{ART}/{long_path}"),
            http.post(f"/api/2.0/mlflow-artifacts/mpu/create/{long_path}", json={"path": "f.bin", "num_parts": 1}),
        ]
        for resp in answers:
            assert resp.status_code == 400, (resp.request.method, resp.text[:300])
            assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            assert "file system's limit" in resp.json()["message"]
        assert http.get("/health").status_code == 200


# --- item 11: stale uploads ---------------------------------------------------------------------


def test_stale_upload_files_are_purged_at_start_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data_dir=data).start()
    with httpx.Client(base_url=srv.url) as http:
        http.post(WS, json={"name": "team"})
        http.put(f"{ART}/a.txt", content=b"a", headers=_ws("team"))
    assert srv.stop() == 0
    old = time.time() - 3 * 24 * 3600
    left: list[Path] = []
    fresh: list[Path] = []
    for workspace in ("default", "team"):
        private = data / "artifacts" / "workspaces" / workspace / ".runyard-uploads"
        (private / "tmp").mkdir(parents=True, exist_ok=True)
        stale_tmp, stale_upload, young = (
            private / "tmp" / "crashed.tmp",
            private / ("a" * 32),
            private / "tmp" / "live.tmp",
        )
        stale_tmp.write_bytes(b"half")
        stale_upload.mkdir()
        (stale_upload / "meta.json").write_text("{}")
        young.write_bytes(b"in flight")
        for p in (stale_upload / "meta.json", stale_tmp, stale_upload):
            os.utime(p, (old, old))
        left += [stale_tmp, stale_upload]
        fresh.append(young)
    srv = ServerProcess(data_dir=data).start()
    try:
        deadline = time.monotonic() + 10
        while any(p.exists() for p in left) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in left if p.exists()]
        assert all(p.exists() for p in fresh)
    finally:
        assert srv.stop() == 0


# --- item 12: deletions seen at once everywhere ---------------------------------------------------


def _into(http: httpx.Client, workspace: str, unique: str) -> list[httpx.Response]:
    h = _ws(workspace)
    return [
        http.post("/api/2.0/mlflow/experiments/create", json={"name": f"late-{unique}"}, headers=h),
        http.post("/api/2.0/mlflow/experiments/search", json={"max_results": 10}, headers=h),
        http.post("/api/2.0/mlflow/registered-models/create", json={"name": f"late-{unique}"}, headers=h),
        http.get("/api/2.0/mlflow/registered-models/search", headers=h),
        http.get("/api/2.0/mlflow/model-versions/search", headers=h),
        http.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": ["0"]}, headers=h),
        http.put(f"{ART}/late.txt", content=b"late", headers=h),
        http.get(ART, headers=h),
    ]


def _deleted_everywhere(server: ServerProcess, name: str, unique: str) -> None:
    with httpx.Client(base_url=server.url) as http:
        for resp in _into(http, name, unique):
            assert resp.status_code == 404, (resp.request.method, resp.request.url, resp.text)
            assert resp.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert not (server.data_dir / "artifacts" / "workspaces" / name).exists()


def test_a_workspace_deleted_from_the_command_line_is_gone_at_once(server: ServerProcess, unique: str) -> None:
    name = f"gone-{unique}"
    with httpx.Client(base_url=server.url) as http:
        assert http.post(WS, json={"name": name}).status_code == 201
        assert all(r.status_code == 200 for r in _into(http, name, f"warm-{unique}"))  # now cached
        http.delete(f"{WS}/{name}", params={"mode": "CASCADE"}).raise_for_status()
        assert http.post(WS, json={"name": name}).status_code == 201
        assert all(r.status_code == 200 for r in _into(http, name, f"warm2-{unique}"))
    out = _runyard("workspace", "delete", name, "--force", data_dir=server.data_dir, store=server.backend_store_uri)
    assert out.returncode == 0, out.stderr
    _deleted_everywhere(server, name, unique)
    # A workspace of the same name created since is served at once (the stale entry is dropped).
    with httpx.Client(base_url=server.url) as http:
        assert http.post(WS, json={"name": name}).status_code == 201
        made = http.post("/api/2.0/mlflow/experiments/create", json={"name": f"new-{unique}"}, headers=_ws(name))
        assert made.status_code == 200, made.text


def test_deletion_by_one_worker_is_seen_by_the_others(tmp_path: Path, unique: str) -> None:
    srv = ServerProcess(data_dir=tmp_path / "data", workers=2).start()
    try:
        name = f"multi-{unique}"
        with httpx.Client(base_url=srv.url) as http:
            assert http.post(WS, json={"name": name}).status_code == 201
        for _ in range(12):  # new connections land on both workers: each caches the workspace
            with httpx.Client(base_url=srv.url) as http:
                assert http.get(ART, headers=_ws(name)).status_code == 200
                assert http.post("/api/2.0/mlflow/experiments/search", json={}, headers=_ws(name)).status_code == 200
        with httpx.Client(base_url=srv.url) as http:
            assert http.delete(f"{WS}/{name}").status_code == 204
        for i in range(12):
            with httpx.Client(base_url=srv.url) as http:
                _deleted_everywhere(srv, name, f"{unique}-{i}")
    finally:
        assert srv.stop() == 0


def test_sqlite_enforces_foreign_keys_and_never_reuses_workspace_ids(tmp_path: Path) -> None:
    from sqlalchemy import exc, insert, select, text

    from runyard.store import schema
    from runyard.store.database import Database
    from runyard.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'fk.db'}"
    upgrade(url)
    db = Database(url)
    try:
        with db.read() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        with pytest.raises(exc.IntegrityError), db.write() as conn:
            conn.execute(
                insert(schema.experiments).values(
                    workspace_id=999, name="orphan", artifact_location="", creation_time=0, last_update_time=0
                )
            )
        w = schema.workspaces
        with db.write() as conn:
            conn.execute(insert(w).values(name="a", naming="flat", creation_time=0, last_update_time=0))
            first = conn.execute(select(w.c.id).where(w.c.name == "a")).scalar_one()
            conn.execute(w.delete().where(w.c.id == first))
            conn.execute(insert(w).values(name="b", naming="flat", creation_time=0, last_update_time=0))
            second = conn.execute(select(w.c.id).where(w.c.name == "b")).scalar_one()
        assert second > first
    finally:
        db.dispose()
    shutil.rmtree(tmp_path / "unused", ignore_errors=True)
