"""The web UI's page handlers over a bundle folder: a server installed without the bundle says how
to get it instead of serving nothing."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from runyard.api.ui.pages import NOT_BUILT, ui_routes


def test_a_missing_bundle_is_explained(tmp_path: Path) -> None:
    client = TestClient(Starlette(routes=ui_routes(tmp_path / "nothing")))
    for path in ("/", "/assets/index.0123abcd.js"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
        assert response.json()["message"] == NOT_BUILT


def test_a_bundle_is_served(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<title>Runyard</title>")
    (tmp_path / "assets" / "index.0123abcd.js").write_text("1")
    client = TestClient(Starlette(routes=ui_routes(tmp_path)))
    assert client.get("/").text == "<title>Runyard</title>"
    assert client.get("/assets/index.0123abcd.js").headers["cache-control"].endswith("immutable")
    assert client.get("/index.html").status_code == 404
