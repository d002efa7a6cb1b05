"""Artifacts through the real client and over raw HTTP: nested folders, binary and 100+ MiB files,
streaming with flat server memory, atomic replacement, and every path-traversal form."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient

from tests.conftest import ServerProcess

# Also run against PostgreSQL with artifacts in S3 (a moto server process; see tests/conftest.py).
ALSO_ON_S3 = True

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def _rss_peak_kib(pid: int) -> int:
    """The peak resident set size of the server process tree's main process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_fluent_artifacts_nested_and_binary(tracking: object, unique: str, tmp_path: Path) -> None:
    mlflow.set_experiment(f"art-{unique}")
    tree = tmp_path / "tree"
    (tree / "inner" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_text("a")
    (tree / "inner" / "b.txt").write_text("b")
    (tree / "inner" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 100)
    single = tmp_path / "hello.txt"
    single.write_text("hello world\n")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), "sub/dir")
        mlflow.log_artifacts(str(tree), "tree")
        mlflow.log_dict({"k": [1, 2, 3]}, "config.json")
        mlflow.log_text("some text", "notes/readme.txt")
    client = MlflowClient()
    rid = run.info.run_id
    root = {f.path: f for f in client.list_artifacts(rid)}
    assert set(root) == {"hello.txt", "sub", "tree", "config.json", "notes"}
    assert root["hello.txt"].file_size == 12 and not root["hello.txt"].is_dir
    assert root["tree"].is_dir and root["tree"].file_size is None
    assert [f.path for f in client.list_artifacts(rid, "tree/inner")] == ["tree/inner/b.txt", "tree/inner/deeper"]

    out = Path(client.download_artifacts(rid, "tree", str(tmp_path / "dl")))
    assert (out / "inner" / "deeper" / "c.bin").read_bytes() == bytes(range(256)) * 100
    assert (out / "a.txt").read_text() == "a"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/config.json") == {"k": [1, 2, 3]}
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/readme.txt") == "some text"
    assert client.list_artifacts(rid, "does/not/exist") == []


def test_large_file_streams_with_flat_memory(tracking: ServerProcess, unique: str, tmp_path: Path) -> None:
    size = 120 * 1024 * 1024
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with big.open("wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(size // len(block)):
            chunk = block[i % 256 :] + block[: i % 256]
            f.write(chunk)
            digest.update(chunk)
    before = _rss_peak_kib(tracking.pid)
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"big-{unique}"))
    client.log_artifact(run.info.run_id, str(big), "blobs")
    out = Path(client.download_artifacts(run.info.run_id, "blobs/big.bin", str(tmp_path / "dl")))
    check = hashlib.sha256()
    with out.open("rb") as f:
        while block := f.read(1 << 20):
            check.update(block)
    assert check.hexdigest() == digest.hexdigest()
    grown_mib = (_rss_peak_kib(tracking.pid) - before) / 1024
    assert grown_mib < 60, f"server peak RSS grew by {grown_mib:.0f} MiB for a 120 MiB upload+download"


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_raw_http_put_get_list_delete(http: httpx.Client, unique: str) -> None:
    base = f"{ARTIFACTS}/raw-{unique}"
    assert http.put(f"{base}/x/file.json", content=b'{"a": 1}').status_code == 200
    got = http.get(f"{base}/x/file.json")
    assert got.status_code == 200 and got.content == b'{"a": 1}'
    assert got.headers["content-type"].startswith("text/plain")
    assert "attachment" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"
    page = http.put(f"{base}/page.html", content=b"<script>alert(1)</script>")
    assert page.status_code == 200
    assert http.get(f"{base}/page.html").headers["content-type"].startswith("text/plain")
    listing = http.get(ARTIFACTS, params={"path": f"raw-{unique}"}).json()
    assert listing == {
        "files": [{"path": "page.html", "is_dir": False, "file_size": 25}, {"path": "x", "is_dir": True}]
    }
    assert http.get(ARTIFACTS, params={"path": f"raw-{unique}/x/file.json"}).json() == {}
    assert http.get(ARTIFACTS, params={"path": f"raw-{unique}/missing"}).json() == {}
    missing = http.get(f"{base}/nope.txt")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert http.delete(f"{base}/x").status_code == 200
    assert http.get(f"{base}/x/file.json").status_code == 404


def test_replacing_a_file_is_atomic(http: httpx.Client, unique: str) -> None:
    path = f"{ARTIFACTS}/atomic-{unique}/f.bin"
    assert http.put(path, content=b"A" * 1000).status_code == 200

    def broken_body() -> Iterator[bytes]:
        yield b"B" * 100
        raise ConnectionError("client went away")

    with pytest.raises(Exception):  # noqa: B017 - any transport error
        http.put(path, content=broken_body())
    assert http.get(path).content == b"A" * 1000


TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "a/../../../etc/passwd",
    "..\\..\\etc\\passwd",
    "..%5c..%5cetc%5cpasswd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "file:///etc/passwd",
    "C:/Windows/win.ini",
    "x;/../../etc/passwd",
    "x%3b/../../etc/passwd",
    "x%23/../../etc/passwd",
    "a/%00/b",
    ".runyard-uploads/secret",
]


@pytest.mark.parametrize("attack", TRAVERSALS)
def test_traversal_is_refused_everywhere(server: ServerProcess, attack: str) -> None:
    secret = server.data_dir.parent / "outside-secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    # Raw URLs: httpx must not normalise the attack away before it reaches the server.
    with httpx.Client(base_url=server.url, timeout=30) as http:
        url = httpx.URL(f"{server.url}{ARTIFACTS}/{attack}")
        for method in ("GET", "PUT", "DELETE"):
            resp = http.request(method, url, content=b"pwned" if method == "PUT" else None)
            assert resp.status_code in (400, 404), (method, attack, resp.status_code, resp.text)
            assert "TOP-SECRET-CONTENT" not in resp.text
            assert resp.json()["error_code"] in (
                "INVALID_PARAMETER_VALUE",
                "RESOURCE_DOES_NOT_EXIST",
                "ENDPOINT_NOT_FOUND",
            )
        listing = http.get(ARTIFACTS, params={"path": attack})
        assert listing.status_code in (400, 404) or listing.json() == {}, (attack, listing.text)
        mpu = http.post(
            f"{server.url}/api/2.0/mlflow-artifacts/mpu/create/{attack}", json={"path": "f.bin", "num_parts": 1}
        )
        assert mpu.status_code in (400, 404), (attack, mpu.text)
    assert secret.read_text() == "TOP-SECRET-CONTENT"
    assert not Path("/etc/passwd.pwned").exists()


def test_multipart_upload_through_the_client(
    tracking: ServerProcess, unique: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(1024 * 1024))
    # S3's smallest part but the last: 5 MiB.
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * 1024 * 1024))
    payload = os.urandom(10 * 1024 * 1024 + 123)
    src = tmp_path / "multi.bin"
    src.write_bytes(payload)
    client = MlflowClient()
    run = client.create_run(client.create_experiment(f"mpu-{unique}"))
    client.log_artifact(run.info.run_id, str(src), "parts")
    out = Path(client.download_artifacts(run.info.run_id, "parts/multi.bin", str(tmp_path / "dl")))
    assert out.read_bytes() == payload
