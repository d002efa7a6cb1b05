"""A live server serves the installed MLflow UI at `/mlflow/` (Runyard's own UI has `/`) without
importing `mlflow`, and the UI's own requests from its page (same origin, its fetch wrapper's
content type) pass the request guards."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
# What the UI's fetch wrapper sends with every request that has a body (upload-artifact included).
UI_CONTENT_TYPE = "application/json; charset=utf-8"


def installed_index() -> bytes:
    return Path(str(metadata.distribution("mlflow").locate_file("mlflow/server/js/build/index.html"))).read_bytes()


def test_the_app_serves_the_ui_without_importing_mlflow(tmp_path: Path) -> None:
    """In a fresh interpreter: load what `runyard server` loads, prepare the store and build the app
    as a server process does, serve the page, and look at what got imported (neither mlflow, nor what a
    SQLite server without GraphQL traffic has no use for: ~12 MiB and ~0.2 s of start-up each)."""
    script = """
import json, pathlib, sys
from starlette.testclient import TestClient
import runyard.cli, runyard.server  # what `runyard server` loads
from runyard.app import create_app
from runyard.config import Settings
from runyard.services.artifacts import prepare_artifacts
from runyard.store import migrate

settings = Settings(data_dir=pathlib.Path(sys.argv[1]))
settings.data_dir.mkdir(parents=True)
migrate.upgrade(settings.database_url)
prepare_artifacts(settings.database_url, settings.artifact_root)
app = create_app(settings)
with TestClient(app, base_url="http://127.0.0.1:5000") as client:
    page = client.get("/mlflow/")
    asset = client.get("/mlflow/static-files/manifest.json")
print(json.dumps({
    "status": page.status_code,
    "page": page.text,
    "asset": asset.status_code,
    "imported": sorted(m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")),
    # Loaded on first use only: GraphQL (only the MLflow UI sends it), the PostgreSQL driver on SQLite.
    "eager": sorted(m for m in ("graphql", "psycopg") if m in sys.modules),
}))
"""
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 200 and result["page"].encode() == installed_index()
    assert result["asset"] == 200
    assert result["imported"] == []
    assert result["eager"] == []


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("ui-serving")).start()
    yield server
    server.stop()


def test_the_live_server_serves_the_installed_page_and_its_files(live: ServerProcess) -> None:
    with httpx.Client(base_url=live.url) as http:
        page = http.get("/mlflow/")
        assert page.status_code == 200 and page.content == installed_index()
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["x-content-type-options"] == "nosniff"
        # Every script and stylesheet the page names is there, with its type.
        for src in (*_attr(page.text, 'src="'), *_attr(page.text, 'href="')):
            asset = http.get("/mlflow/" + src.removeprefix("./"))
            assert asset.status_code == 200, src
            assert asset.headers["x-content-type-options"] == "nosniff"
        script = http.get("/mlflow/" + next(s for s in _attr(page.text, 'src="') if s.endswith(".js")))
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert http.get("/mlflow/static-files/static").status_code == 404
        assert http.get("/w/default/mlflow/", follow_redirects=False).headers["location"] == (
            "/mlflow/#/experiments?workspace=default"
        )
        # The page's API calls, relative to it, reach the API below the prefix.
        assert http.get("/mlflow/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"}).status_code == 200


def _attr(html: str, marker: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split(marker)[1:]]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_ui_page_may_write_from_its_own_origin(live: ServerProcess, host: str) -> None:
    """The page's POSTs carry its own origin and the wrapper's JSON content type; a raw-body write
    (an artifact upload) carries the same headers."""
    base = f"http://{host}:{live.port}"
    headers = {"Origin": base, "Content-Type": UI_CONTENT_TYPE}
    with httpx.Client(base_url=base) as http:
        created = http.post("/ajax-api/2.0/mlflow/experiments/create", json={"name": f"ui-{host}"}, headers=headers)
        assert created.status_code == 200, created.text
        experiment_id = created.json()["experiment_id"]
        run = http.post(
            "/w/default/ajax-api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id}, headers=headers
        )
        assert run.status_code == 200, run.text
        run_id = run.json()["run"]["info"]["run_id"]
        path = f"/ajax-api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/notes.json"
        assert http.put(path, content=b'"text"', headers=headers).status_code == 200
        foreign = http.post(
            "/ajax-api/2.0/mlflow/experiments/create",
            json={"name": f"ui-foreign-{host}"},
            headers={**headers, "Origin": "http://evil.example"},
        )
        assert foreign.status_code == 403
