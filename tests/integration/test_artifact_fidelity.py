"""The proxied artifact API as `mlflow server` 3.17.2 answers it (issue 11, items 1, 2 and 4).

Expected values were taken from a live `mlflow server --enable-workspaces` (3.17.2, SQLite,
`--artifacts-destination` a local folder):

* listings: directories carry no `file_size`, nor does an empty file (`FileInfo.to_proto` leaves 0 unset);
* a path of another workspace: 400 `INVALID_PARAMETER_VALUE` for GET, PUT, DELETE, list, the multipart
  calls and the presigned probe ("Artifact path targets workspace 'a' but the workspace specified in the
  request is 'b'." when the path names its workspace), and nothing is written;
* `GET /mlflow-artifacts/presigned/<path>` on a local destination: 501 `NOT_IMPLEMENTED`, "Multipart
  download is not supported for the current artifact repository" (a 3.18 client then downloads
  through `/artifacts/<path>`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import mlflow
import pytest
import requests
from mlflow import MlflowClient

from tests.conftest import ServerProcess

ART = "/api/2.0/mlflow-artifacts/artifacts"
MPU = "/api/2.0/mlflow-artifacts/mpu"
PRESIGNED = "/api/2.0/mlflow-artifacts/presigned"
WS = "/api/3.0/mlflow/workspaces"
PRESIGNED_MESSAGE = "Multipart download is not supported for the current artifact repository"


def _ws(name: str | None) -> dict[str, str]:
    return {"X-MLFLOW-WORKSPACE": name} if name else {}


# --- item 1: listings ----------------------------------------------------------------------------


def test_listing_entries_carry_file_size_only_for_non_empty_files(server: ServerProcess, unique: str) -> None:
    base = f"listing-{unique}"
    with httpx.Client(base_url=server.url) as http:
        assert http.put(f"{ART}/{base}/empty.txt", content=b"").status_code == 200
        assert http.put(f"{ART}/{base}/full.txt", content=b"abc").status_code == 200
        assert http.put(f"{ART}/{base}/sub/deeper/f.txt", content=b"x").status_code == 200
        listed = http.get(ART, params={"path": base})
    assert listed.status_code == 200, listed.text
    assert listed.json() == {
        "files": [
            {"path": "empty.txt", "is_dir": False},
            {"path": "full.txt", "is_dir": False, "file_size": 3},
            {"path": "sub", "is_dir": True},
        ]
    }


def test_logged_model_listing_renders_entries_the_same_way(tracking: ServerProcess, unique: str) -> None:
    mlflow.set_experiment(f"lm-listing-{unique}")
    model = mlflow.initialize_logged_model(name="m")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "empty.txt").write_bytes(b"")
        Path(tmp, "dir").mkdir()
        Path(tmp, "dir", "f.txt").write_bytes(b"hello")
        MlflowClient().log_model_artifacts(model.model_id, tmp)
    with httpx.Client(base_url=tracking.url) as http:
        listed = http.get(f"/api/2.0/mlflow/logged-models/{model.model_id}/artifacts/directories")
    assert listed.status_code == 200, listed.text
    assert listed.json()["files"] == [{"path": "dir", "is_dir": True}, {"path": "empty.txt", "is_dir": False}]


# --- item 2: another workspace's paths -----------------------------------------------------------


@pytest.fixture
def foreign_run(tracking: ServerProcess, unique: str) -> tuple[str, str]:
    """A run with one artifact in workspace `owner-<unique>`: (workspace, run's artifact path)."""
    owner = f"owner-{unique}"
    mlflow.create_workspace(owner)
    mlflow.set_workspace(owner)
    try:
        mlflow.set_experiment("secrets")
        with mlflow.start_run() as run:
            mlflow.log_text("the secret", "dir/secret.txt")
    finally:
        mlflow.set_workspace(None)
    return owner, run.info.artifact_uri.removeprefix("mlflow-artifacts:/")


def _every_artifact_call(http: httpx.Client, path: str, headers: dict[str, str]) -> dict[str, httpx.Response]:
    return {
        "GET": http.get(f"{ART}/{path}/dir/secret.txt", headers=headers),
        "PUT": http.put(f"{ART}/{path}/dir/junk.txt", content=b"junk", headers=headers),
        "DELETE": http.delete(f"{ART}/{path}/dir/secret.txt", headers=headers),
        "list": http.get(ART, params={"path": f"{path}/dir"}, headers=headers),
        "mpu create": http.post(f"{MPU}/create/{path}/dir", json={"path": "big.bin", "num_parts": 1}, headers=headers),
        "mpu complete": http.post(
            f"{MPU}/complete/{path}/dir", json={"path": "big.bin", "upload_id": "0" * 32, "parts": []}, headers=headers
        ),
        "mpu abort": http.post(
            f"{MPU}/abort/{path}/dir", json={"path": "big.bin", "upload_id": "0" * 32}, headers=headers
        ),
        "presigned": http.get(f"{PRESIGNED}/{path}/dir/secret.txt", headers=headers),
    }


def test_another_workspaces_paths_are_refused_with_400_and_nothing_is_written(
    tracking: ServerProcess, foreign_run: tuple[str, str], unique: str
) -> None:
    owner, path = foreign_run
    bystander = f"bystander-{unique}"
    with httpx.Client(base_url=tracking.url) as http:
        assert http.post(WS, json={"name": bystander}).status_code == 201
        for workspace in (None, "default", bystander):
            for call, resp in _every_artifact_call(http, path, _ws(workspace)).items():
                assert resp.status_code == 400, (workspace, call, resp.text)
                body = resp.json()
                assert body["error_code"] == "INVALID_PARAMETER_VALUE", (workspace, call, body)
                assert "belongs to another workspace" in body["message"], (workspace, call, body)
                assert f"('{workspace or 'default'}')" in body["message"], (workspace, call, body)
                assert owner not in body["message"]  # the path does not say whose it is: neither does the answer
        # Nothing was written anywhere: no stray folder in the callers' namespaces, the owner's file intact.
        artifacts = tracking.data_dir / "artifacts" / "workspaces"
        experiment = path.split("/", 1)[0]
        for workspace in ("default", bystander):
            assert not (artifacts / workspace / experiment).exists(), workspace
        assert (artifacts / owner / path / "dir" / "secret.txt").read_text() == "the secret"
        # The owner itself is served as before.
        own = http.get(f"{ART}/{path}/dir/secret.txt", headers=_ws(owner))
        assert own.status_code == 200 and own.content == b"the secret"
        assert http.put(f"{ART}/{path}/dir/more.txt", content=b"more", headers=_ws(owner)).status_code == 200


def test_a_location_both_workspaces_use_is_each_ones_own(server: ServerProcess, unique: str) -> None:
    """Namespaces are separate: two workspaces may each place an experiment at the same location, and
    each then reaches its own files there; a third, with no experiment there, is refused."""
    location = f"mlflow-artifacts:/shared-{unique}"
    with httpx.Client(base_url=server.url) as http:
        for name in (f"left-{unique}", f"right-{unique}"):
            assert http.post(WS, json={"name": name}).status_code == 201
            made = http.post(
                "/api/2.0/mlflow/experiments/create",
                json={"name": "placed", "artifact_location": location},
                headers=_ws(name),
            )
            assert made.status_code == 200, made.text
            put = http.put(f"{ART}/shared-{unique}/f.txt", content=name.encode(), headers=_ws(name))
            assert put.status_code == 200, put.text
        for name in (f"left-{unique}", f"right-{unique}"):
            assert http.get(f"{ART}/shared-{unique}/f.txt", headers=_ws(name)).content == name.encode()
        refused = http.get(f"{ART}/shared-{unique}/f.txt")
        assert refused.status_code == 400 and "belongs to another workspace" in refused.json()["message"]


def test_a_path_naming_another_workspace_gets_the_reference_message(
    server: ServerProcess, foreign_run: tuple[str, str], unique: str
) -> None:
    owner, _path = foreign_run
    with httpx.Client(base_url=server.url) as http:
        for call, resp in _every_artifact_call(http, f"workspaces/{owner}/1/r/artifacts", {}).items():
            assert resp.status_code == 400, (call, resp.text)
            assert resp.json() == {
                "error_code": "INVALID_PARAMETER_VALUE",
                "message": f"Artifact path targets workspace '{owner}' but the workspace specified in the request "
                "is 'default'.",
                "sqlstate": "KAM00",
                "error_class": "INVALID_PARAMETER_VALUE",
            }, call
        # A `workspaces/<name>` folder naming no workspace is an ordinary folder of the caller's namespace.
        assert http.put(f"{ART}/workspaces/not-a-workspace-{unique}/f.txt", content=b"mine").status_code == 200
        assert http.get(f"{ART}/workspaces/not-a-workspace-{unique}/f.txt").content == b"mine"


def test_downloading_another_workspaces_uri_through_the_client_is_a_clean_400(
    tracking: ServerProcess, foreign_run: tuple[str, str], tmp_path: Path
) -> None:
    _owner, path = foreign_run
    for uri in (f"mlflow-artifacts:/{path}", f"mlflow-artifacts:/{path}/dir/secret.txt"):
        with pytest.raises(requests.HTTPError) as caught:
            mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "dl"))
        text = str(caught.value)
        assert "400 Client Error" in text and "belongs to another workspace" in text, text
        assert "INTERNAL_ERROR" not in text and "404 Client Error" not in text, text
    assert not any((tmp_path / "dl").rglob("secret.txt"))


# --- item 4: presigned downloads and 3.18's multipart bodies -------------------------------------


def test_presigned_download_is_not_implemented(server: ServerProcess, unique: str) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.put(f"{ART}/presigned-{unique}/f.txt", content=b"data").status_code == 200
        for path in (f"presigned-{unique}/f.txt", f"presigned-{unique}/missing.txt"):
            resp = http.get(f"{PRESIGNED}/{path}")
            assert resp.status_code == 501, resp.text
            assert resp.json() == {"error_code": "NOT_IMPLEMENTED", "message": PRESIGNED_MESSAGE}
        bad = http.get(f"{PRESIGNED}/%2e%2e/etc/passwd")
        assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE", bad.text


@pytest.mark.parametrize("sent_path", ["empty.txt", "/home/someone/data/empty.txt"])
def test_multipart_upload_of_an_empty_file_in_one_part(server: ServerProcess, unique: str, sent_path: str) -> None:
    """3.18 sends `path` as the file's basename (earlier clients its whole local path) and uploads an
    empty file as one empty part."""
    directory = f"mpu-empty-{unique}-{len(sent_path)}"
    with httpx.Client(base_url=server.url) as http:
        created = http.post(f"{MPU}/create/{directory}", json={"path": sent_path, "num_parts": 1})
        assert created.status_code == 200, created.text
        body = created.json()
        assert [c["part_number"] for c in body["credentials"]] == [1]
        url = body["credentials"][0]["url"]
        part = http.put(url, content=b"")
        assert part.status_code == 200, part.text
        done = http.post(
            f"{MPU}/complete/{directory}",
            json={
                "path": sent_path,
                "upload_id": body["upload_id"],
                "parts": [{"part_number": 1, "etag": part.headers.get("ETag", ""), "url": url}],
            },
        )
        assert done.status_code == 200, done.text
        got = http.get(f"{ART}/{directory}/empty.txt")
        assert got.status_code == 200 and got.content == b""
        assert http.get(ART, params={"path": directory}).json() == {"files": [{"path": "empty.txt", "is_dir": False}]}
