"""Serving MLflow's built web UI: the page and its files from a build folder (content types, caching,
no listings, no way out of the folder, nosniff), the answer when the UI is not installed, the
workspace redirect, and the mount below a prefix (the planned move to `/mlflow/`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient

from runyard.api import mlflow_ui
from runyard.api.errors import HANDLERS
from runyard.api.routing import StaticFirstRouter
from runyard.api.workspace_url import WorkspaceUrlMiddleware

INDEX = b'<!doctype html><html><script src="static-files/static/js/main.c2f5f8d4.js"></script></html>'


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "build"
    (root / "static" / "js").mkdir(parents=True)
    (root / "static" / "css").mkdir()
    (root / "static" / "media").mkdir()
    (root / "index.html").write_bytes(INDEX)
    (root / "manifest.json").write_text('{"name": "x"}')
    (root / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (root / "static" / "js" / "main.c2f5f8d4.js").write_text("console.log(1)")
    (root / "static" / "js" / "main.c2f5f8d4.js.LICENSE.txt").write_text("MIT")
    (root / "static" / "css" / "main.b0f58ef9.css").write_text("body{}")
    (root / "static" / "media" / "logo.fad9a31861b0afba6f92.svg").write_text("<svg/>")
    (root / "static" / "media" / "font.0a1b2c3d4e5f.woff2").write_bytes(b"wOF2")
    (root / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("outside the build")
    os.symlink(tmp_path / "outside.txt", root / "static" / "link.txt")
    return root


async def api_probe(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"api root_path={request.scope.get('root_path', '')}")


def app_for(build: Path | None, prefix: str = "") -> TestClient:
    api: list[BaseRoute] = [Route("/ajax-api/2.0/mlflow/probe", api_probe, methods=["GET"])]
    app = Starlette(exception_handlers=HANDLERS)
    app.router = StaticFirstRouter([*api, *mlflow_ui.mounted(api, build, prefix=prefix)])
    app.add_middleware(WorkspaceUrlMiddleware)
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def client(build: Path) -> Iterator[TestClient]:
    with app_for(build) as c:
        yield c


def test_the_page_is_the_builds_index_revalidated_and_not_framed(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.content == INDEX
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    again = client.get("/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == page.headers["etag"] and again.headers["x-content-type-options"] == "nosniff"
    assert client.head("/").status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type", "cache"),
    [
        ("static/js/main.c2f5f8d4.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
        ("static/js/main.c2f5f8d4.js.LICENSE.txt", "text/plain; charset=utf-8", "public, max-age=31536000, immutable"),
        ("static/css/main.b0f58ef9.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable"),
        ("static/media/logo.fad9a31861b0afba6f92.svg", "image/svg+xml", "public, max-age=31536000, immutable"),
        ("static/media/font.0a1b2c3d4e5f.woff2", "font/woff2", "public, max-age=31536000, immutable"),
        ("manifest.json", "application/json", "no-cache"),
        ("favicon.ico", "image/x-icon", "no-cache"),
        ("index.html", "text/html; charset=utf-8", "no-cache"),
    ],
)
def test_files_have_their_type_and_hashed_names_are_cached_for_long(
    client: TestClient, build: Path, path: str, content_type: str, cache: str
) -> None:
    response = client.get(f"/static-files/{path}")
    assert response.status_code == 200
    assert response.content == (build / path).read_bytes()
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == cache
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "static",  # a folder: no listing
        "static/",
        "static/js",
        "missing.js",
        "../outside.txt",
        "static/../../outside.txt",
        "%2e%2e/outside.txt",
        "..%2foutside.txt",
        "static%2f..%2f..%2foutside.txt",
        "static/link.txt",  # a link leading out of the folder
        ".secret",
        "static//js/main.c2f5f8d4.js",
        "static\\js\\main.c2f5f8d4.js",
        "/etc/passwd",
        "%2fetc%2fpasswd",
        "static/js/main.c2f5f8d4.js%00",
    ],
)
def test_folders_and_ways_out_of_the_build_are_not_found(client: TestClient, path: str) -> None:
    response = client.get(f"/static-files/{path}")
    assert response.status_code in (400, 404), response.text
    body = response.json()
    assert body["error_code"] in ("ENDPOINT_NOT_FOUND", "INVALID_PARAMETER_VALUE")
    assert "outside the build" not in response.text and "hidden" not in response.text


def test_a_missing_file_is_an_mlflow_shaped_404_with_nosniff(client: TestClient) -> None:
    response = client.get("/static-files/static/js/missing.0a1b2c3d.js")
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "ENDPOINT_NOT_FOUND",
        "message": "No file /static-files/static/js/missing.0a1b2c3d.js",
        "sqlstate": "KAM00",
        "error_class": "RESOURCE_NOT_FOUND",
    }
    assert response.headers["x-content-type-options"] == "nosniff"


def test_without_the_ui_the_page_says_how_to_install_it() -> None:
    with app_for(None) as client:
        page = client.get("/")
        assert page.status_code == 404
        assert page.json()["error_code"] == "ENDPOINT_NOT_FOUND"
        assert "pip install 'runyard[mlflow-ui]'" in page.json()["message"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert client.get("/static-files/static/js/main.c2f5f8d4.js").status_code == 404
        assert client.get("/ajax-api/2.0/mlflow/probe").status_code == 200


def test_a_workspace_url_opens_the_ui_on_that_workspace(client: TestClient) -> None:
    response = client.get("/w/research/")
    assert response.status_code == 302
    assert response.headers["location"] == "/#/experiments?workspace=research"
    assert client.get("/w/a%20b/").headers["location"] == "/#/experiments?workspace=a%20b"


def test_below_a_prefix_the_ui_and_the_api_it_calls_move_together(build: Path) -> None:
    with app_for(build, prefix="/mlflow") as client:
        assert client.get("/mlflow/").content == INDEX
        assert client.get("/mlflow/static-files/static/js/main.c2f5f8d4.js").status_code == 200
        # The page's relative calls land below the prefix and reach the ordinary API routes.
        assert client.get("/mlflow/ajax-api/2.0/mlflow/probe").text == "api root_path=/mlflow"
        assert client.get("/ajax-api/2.0/mlflow/probe").status_code == 200
        redirect = client.get("/mlflow")
        assert redirect.status_code in (307, 308) and redirect.headers["location"].endswith("/mlflow/")
        # `/` and the old file URLs are free for Runyard's own UI.
        assert client.get("/").status_code == 404
        assert client.get("/static-files/static/js/main.c2f5f8d4.js").status_code == 404
        workspace = client.get("/w/research/mlflow/")
        assert workspace.headers["location"] == "/mlflow/#/experiments?workspace=research"


def test_the_build_is_found_through_the_distribution_metadata() -> None:
    found = mlflow_ui.locate_build()
    assert found is not None and (found / "index.html").is_file()
    expected = Path(str(metadata.distribution("mlflow").locate_file("mlflow/server/js/build")))
    assert found == expected
    assert mlflow_ui.locate_build("no-such-distribution-runyard") is None


def test_a_distribution_without_a_built_ui_counts_as_not_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class SourceCheckout:
        def locate_file(self, path: str) -> Path:
            return tmp_path / path

    monkeypatch.setattr(metadata, "distribution", lambda name: SourceCheckout())
    assert mlflow_ui.locate_build() is None


@pytest.mark.parametrize(
    "relative",
    [
        "",
        "static",
        "static/js",
        "../outside.txt",
        "static/../../outside.txt",
        "static/./js/main.c2f5f8d4.js",
        "static/link.txt",
        ".secret",
        "static//js/main.c2f5f8d4.js",
        "static\\js\\main.c2f5f8d4.js",
        "/etc/passwd",
        "static/js/main.c2f5f8d4.js\x00",
        "static/js/\nmain.c2f5f8d4.js",
        "x/" * 600,
    ],
)
def test_the_folder_resolves_only_regular_files_inside_it(build: Path, relative: str) -> None:
    from runyard.api.static_files import StaticFolder

    folder = StaticFolder(build)
    assert folder.resolve(relative) is None
    found = folder.resolve("static/js/main.c2f5f8d4.js")
    assert found is not None and found[0] == (build / "static/js/main.c2f5f8d4.js").resolve()
