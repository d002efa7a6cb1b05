"""Runyard keeping artifacts in S3 (a real moto server process), end to end: start-up checks, the
multipart capability and the real client's multipart path, uploads continued by another server
process, workspace roots on S3 and their rules, deleting a workspace's managed prefix, and a 1 GiB
upload and download with flat server memory (beside the same on a local folder)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient

from tests.conftest import MLFLOW_SERVER_VARS, MOTO_SERVER_ENV, ServerProcess, free_port
from tests.moto_server import MotoServer

ARTIFACTS = "/api/2.0/mlflow-artifacts"
WORKSPACES = "/api/3.0/mlflow/workspaces"
MiB = 1 << 20
RUNYARD = (sys.executable, "-m", "runyard")


def keys(moto: MotoServer, bucket: str, prefix: str) -> list[str]:
    pages = moto.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def rss_peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


class S3World:
    """A bucket for the managed destination and one for the operator's allow-list."""

    def __init__(self, moto: MotoServer) -> None:
        self.moto = moto
        self.bucket = moto.new_bucket("dest")
        self.allowed_bucket = moto.new_bucket("allowed")
        self.destination = f"s3://{self.bucket}/runyard"

    def server(self, data_dir: Path, store_uri: str | None) -> ServerProcess:
        args = [
            "--artifacts-destination",
            self.destination,
            "--allowed-artifact-roots",
            f"s3://{self.allowed_bucket}/team",
        ]
        env = {**self.moto.env, **MOTO_SERVER_ENV}
        return ServerProcess(data_dir=data_dir, backend_store_uri=store_uri, extra_env=env, extra_args=args)


@pytest.fixture(scope="module")
def world(moto_server: MotoServer) -> S3World:
    return S3World(moto_server)


@pytest.fixture(scope="module")
def store_uri(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("postgres_database_factory")())


@pytest.fixture(scope="module")
def s3_server(world: S3World, store_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = world.server(tmp_path_factory.mktemp("s3-a"), store_uri).start()
    yield proc
    assert proc.stop() == 0, proc.log()[-4000:]


@pytest.fixture(scope="module")
def other_process(world: S3World, store_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A second server on the same database and bucket, as another host behind a load balancer would be."""
    proc = world.server(tmp_path_factory.mktemp("s3-b"), store_uri).start()
    yield proc
    assert proc.stop() == 0, proc.log()[-4000:]


@pytest.fixture
def s3_tracking(s3_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", s3_server.url)
    mlflow.set_tracking_uri(s3_server.url)
    yield s3_server
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_") and k not in MLFLOW_SERVER_VARS}
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep))
    env.update(extra)
    return env


# -- start-up -------------------------------------------------------------------------------


def test_an_unreachable_bucket_is_a_one_line_refusal(world: S3World, tmp_path: Path) -> None:
    for dest, env, needle in (
        ("s3://no-such-bucket-anywhere/p", world.moto.env, "does not exist"),
        (
            f"s3://{world.bucket}/p",
            {**world.moto.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"},
            "unreachable",
        ),
    ):
        out = subprocess.run(
            [
                *RUNYARD,
                "server",
                "--port",
                str(free_port()),
                "--data-dir",
                str(tmp_path / "d"),
                "--artifacts-destination",
                dest,
            ],
            capture_output=True,
            text=True,
            env=_env(env),
            timeout=120,
        )
        text = out.stdout + out.stderr
        assert out.returncode != 0, text
        assert len(text.strip().splitlines()) == 1 and "Traceback" not in text, text
        assert needle in text and dest.split("/")[2] in text, text
        assert "testing-secret" not in text
        assert not (tmp_path / "d").exists()  # refused before anything was written


def test_startup_names_the_bucket_and_server_info_advertises_multipart(
    s3_server: ServerProcess, world: S3World
) -> None:
    assert f"S3 bucket {world.destination}" in s3_server.log()
    info = httpx.get(f"{s3_server.url}/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is True
    assert info["multipart_downloads_enabled"] is False  # no presigned URLs: downloads stream through


# -- the real client ------------------------------------------------------------------------


def test_artifacts_land_in_the_workspace_prefix(s3_tracking: ServerProcess, world: S3World, unique: str) -> None:
    client = MlflowClient()
    exp = client.create_experiment(f"s3-{unique}")
    run = client.create_run(exp)
    client.log_text(run.info.run_id, "hello", "notes/hello.txt")
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt") == "hello"
    expected = f"runyard/workspaces/default/{exp}/{run.info.run_id}/artifacts/notes/hello.txt"
    assert expected in keys(world.moto, world.bucket, f"runyard/workspaces/default/{exp}/")


def test_the_client_uses_multipart_when_the_server_advertises_it(
    s3_tracking: ServerProcess, world: S3World, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not forced by MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: the client decides from server-info.
    monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", raising=False)
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MiB))
    payload = os.urandom(11 * MiB + 7)
    src = tmp_path / "multi.bin"
    src.write_bytes(payload)
    client = MlflowClient()
    exp = client.create_experiment(f"mpu-{unique}")
    run = client.create_run(exp)
    client.log_artifact(run.info.run_id, str(src), "parts")
    key = f"runyard/workspaces/default/{exp}/{run.info.run_id}/artifacts/parts/multi.bin"
    head = world.moto.client().head_object(Bucket=world.bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-3")  # assembled by S3 from the client's 3 parts
    out = Path(client.download_artifacts(run.info.run_id, "parts/multi.bin", str(tmp_path / "dl")))
    assert out.read_bytes() == payload
    uploads = world.moto.client().list_multipart_uploads(Bucket=world.bucket, Prefix="runyard/")
    assert uploads.get("Uploads", []) == []


def test_an_upload_continues_on_another_process(
    s3_server: ServerProcess, other_process: ServerProcess, world: S3World, unique: str
) -> None:
    """Created on one process, parts on another, completed on the first, read back through the second."""
    parts = [os.urandom(5 * MiB), os.urandom(100)]
    path = f"cross-{unique}"
    with httpx.Client(timeout=60) as http:
        created = http.post(
            f"{s3_server.url}{ARTIFACTS}/mpu/create/{path}", json={"path": "/tmp/local/data.bin", "num_parts": 2}
        )
        assert created.status_code == 200, created.text
        body = created.json()
        etags = []
        for credential, data in zip(body["credentials"], parts, strict=True):
            url = credential["url"].replace(s3_server.url, other_process.url)
            resp = http.put(url, content=data)
            assert resp.status_code == 200, resp.text
            etags.append({"part_number": credential["part_number"], "etag": resp.headers["ETag"]})
        assert http.get(f"{other_process.url}{ARTIFACTS}/artifacts/{path}/data.bin").status_code == 404
        done = http.post(
            f"{s3_server.url}{ARTIFACTS}/mpu/complete/{path}",
            json={"path": "data.bin", "upload_id": body["upload_id"], "parts": etags},
        )
        assert done.status_code == 200, done.text
        got = http.get(f"{other_process.url}{ARTIFACTS}/artifacts/{path}/data.bin")
        assert got.status_code == 200 and got.content == b"".join(parts)
        # an aborted upload is gone for every process; aborting again is a no-op
        again = http.post(
            f"{other_process.url}{ARTIFACTS}/mpu/create/{path}", json={"path": "gone.bin", "num_parts": 1}
        ).json()
        assert (
            http.post(
                f"{s3_server.url}{ARTIFACTS}/mpu/abort/{path}",
                json={"path": "gone.bin", "upload_id": again["upload_id"]},
            ).status_code
            == 200
        )
        late = http.put(again["credentials"][0]["url"], content=b"x")
        assert late.status_code == 404 and late.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert (
            http.post(
                f"{other_process.url}{ARTIFACTS}/mpu/abort/{path}",
                json={"path": "gone.bin", "upload_id": again["upload_id"]},
            ).status_code
            == 200
        )
        forged = http.put(f"{s3_server.url}{ARTIFACTS}/mpu/part/bm90LWFuLWlk/1", content=b"x")
        assert forged.status_code == 400 and "upload id" in forged.json()["message"]
    assert world.moto.client().list_multipart_uploads(Bucket=world.bucket).get("Uploads", []) == []


# -- workspace roots ----------------------------------------------------------------------


def _ws(name: str) -> dict[str, str]:
    return {"X-MLflow-Workspace": name}


def test_workspace_roots_on_s3_follow_the_rules(
    s3_server: ServerProcess, world: S3World, unique: str, tmp_path: Path
) -> None:
    with httpx.Client(base_url=s3_server.url, timeout=30) as http:

        def create(name: str, root: str) -> httpx.Response:
            return http.post(WORKSPACES, json={"name": name, "default_artifact_root": root})

        inside = f"{world.destination}/elsewhere/{unique}"
        allowed = f"s3://{world.allowed_bucket}/team/{unique}"
        assert create(f"in-{unique}", inside).status_code in (200, 201)
        assert create(f"al-{unique}", allowed).status_code in (200, 201)
        refusals = {
            f"s3://{world.allowed_bucket}/elsewhere": "not allowed",  # outside destination and allow-list
            f"{world.destination}/workspaces/other": "overlaps",  # another workspace's managed prefix
            world.destination: "overlaps",  # contains every managed prefix
            f"{inside}/below": "overlaps",  # inside another workspace's root
            f"s3://{world.allowed_bucket}/team": "overlaps",  # contains another workspace's root
            "gs://bucket/p": "not supported",
            "wasbs://c@a.blob.core.windows.net/p": "not supported",
            "ftp://host/p": "not supported",
        }
        for n, (root, needle) in enumerate(refusals.items()):
            resp = create(f"no{n}-{unique}", root)
            assert resp.status_code == 400 and needle in resp.json()["message"], (root, resp.text)
        # Segment-wise: `team/<unique>x` is beside `team/<unique>`, not inside it.
        assert create(f"bes-{unique}", f"{allowed}x").status_code in (200, 201)
        # The workspace's artifacts go to its root.
        assert http.put(f"{ARTIFACTS}/artifacts/f.txt", content=b"mine", headers=_ws(f"al-{unique}")).status_code == 200
        assert keys(world.moto, world.allowed_bucket, f"team/{unique}/") == [f"team/{unique}/f.txt"]
        assert http.get(f"{ARTIFACTS}/artifacts/f.txt", headers=_ws(f"bes-{unique}")).status_code == 404

    # The operator may name any bucket, but not an overlapping prefix.
    env = _env({**world.moto.env})
    base = [sys.executable, "-m", "runyard", "workspace", "create", "--data-dir", str(s3_server.data_dir)]
    base += ["--backend-store-uri", str(s3_server.backend_store_uri), "--artifacts-destination", world.destination]
    ok = subprocess.run(
        [*base, f"op-{unique}", "--artifact-root", f"s3://{world.allowed_bucket}/ops/{unique}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    clash = subprocess.run(
        [*base, f"op2-{unique}", "--artifact-root", f"{inside}/x"], env=env, capture_output=True, text=True, timeout=120
    )
    assert clash.returncode != 0 and "overlaps" in clash.stderr, clash.stderr


def test_deleting_a_workspace_removes_its_managed_prefix(s3_server: ServerProcess, world: S3World, unique: str) -> None:
    name = f"gone-{unique}"
    prefix = f"runyard/workspaces/{name}/"
    with httpx.Client(base_url=s3_server.url, timeout=30) as http:
        assert http.post(WORKSPACES, json={"name": name}).status_code in (200, 201)
        for n in range(3):
            assert http.put(f"{ARTIFACTS}/artifacts/d/{n}.txt", content=b"x", headers=_ws(name)).status_code == 200
        created = http.post(f"{ARTIFACTS}/mpu/create/d", json={"path": "open.bin", "num_parts": 1}, headers=_ws(name))
        assert created.status_code == 200
        assert len(keys(world.moto, world.bucket, prefix)) == 3
        assert http.delete(f"{WORKSPACES}/{name}").status_code in (200, 204)
    assert keys(world.moto, world.bucket, prefix) == []
    uploads = world.moto.client().list_multipart_uploads(Bucket=world.bucket, Prefix=prefix)
    assert uploads.get("Uploads", []) == []
    assert keys(world.moto, world.bucket, "runyard/workspaces/default/")  # the others' are untouched


# -- 1 GiB with flat memory ------------------------------------------------------------------


def _big_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(MiB)
    with path.open("wb") as f:
        for i in range(size // MiB):
            chunk = block[i % 256 :] + block[: i % 256]
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("where", ["s3", "local"])
def test_one_gib_through_the_server_keeps_rss_flat(
    where: str, world: S3World, store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real client uploads 1 GiB (multipart, as server-info tells it, on S3; one streamed PUT on a
    local folder) and downloads it; the server's peak RSS stays under 200 MB."""
    proc = (
        world.server(tmp_path / "srv", store_uri) if where == "s3" else ServerProcess(data_dir=tmp_path / "srv")
    ).start()
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", proc.url)
        mlflow.set_tracking_uri(proc.url)
        monkeypatch.delenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", raising=False)
        big = tmp_path / "big.bin"
        expected = _big_file(big, 1024 * MiB)
        client = MlflowClient()
        run = client.create_run(client.create_experiment(f"gib-{where}"))
        client.log_artifact(run.info.run_id, str(big), "blobs")
        big.unlink()
        out = Path(client.download_artifacts(run.info.run_id, "blobs/big.bin", str(tmp_path / "dl")))
        check = hashlib.sha256()
        with out.open("rb") as f:
            while block := f.read(MiB):
                check.update(block)
        assert check.hexdigest() == expected
        peak = rss_peak_mib(proc.pid)
        print(f"\n1 GiB upload+download on {where}: server peak RSS {peak:.0f} MiB")
        assert peak < 200, f"server peak RSS {peak:.0f} MiB"
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        assert proc.stop() == 0, proc.log()[-4000:]
