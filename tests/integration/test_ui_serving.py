"""A live server serves Runyard's web UI at `/` and below `/w/<workspace>/`: the page (title
`Runyard`, a Content-Security-Policy that allows only this server's scripts, no framing by other
sites), its content-hashed files cached for good, nothing outside the bundle, and a 401 without a
Basic challenge for the page's own calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, auth_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("runyard-ui")).start()
    yield server
    server.stop()


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="\./(assets/[^"]+)"', html)


@pytest.mark.parametrize("base", ["/", "/w/default/"])
def test_the_page_and_its_files(live: ServerProcess, base: str) -> None:
    with httpx.Client(base_url=live.url) as http:
        page = http.get(base)
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert re.search(r"<title>Runyard[^<]*</title>", page.text)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
        assert page.headers["x-frame-options"] == "SAMEORIGIN"
        assert page.headers["cache-control"] == "no-cache"
        assets = _assets(page.text)
        assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
        for asset in assets:
            got = http.get(base + asset)
            assert got.status_code == 200, asset
            assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert got.headers["x-content-type-options"] == "nosniff"
        script = next(a for a in assets if a.endswith(".js"))
        assert http.get(base + script).headers["content-type"] == "text/javascript; charset=utf-8"
        again = http.get(base, headers={"If-None-Match": page.headers["etag"]})
        assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/assets/../index.html", "/assets/%2e%2e/index.html", "/assets/", "/assets/.hidden", "/assets/nope.js"]
)
def test_nothing_outside_the_bundle(live: ServerProcess, path: str) -> None:
    response = httpx.get(live.url + path)
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_the_mlflow_ui_moved_below_mlflow(live: ServerProcess) -> None:
    page = httpx.get(f"{live.url}/mlflow/")
    assert page.status_code == 200 and "<title>Runyard" not in page.text


def test_the_ui_session_says_whether_users_sign_in(live: ServerProcess) -> None:
    assert httpx.get(f"{live.url}/ajax-api/2.0/runyard/ui/session").json() == {"auth_enabled": False}


def test_the_pages_calls_get_no_basic_challenge(tmp_path: Path) -> None:
    """A browser answers a Basic challenge to a script with a password dialog; the page's calls
    (`X-Requested-With: XMLHttpRequest`) get the 401 without it, everyone else with it."""
    with auth_server(tmp_path / "auth", "ui-serving-admin-pw") as (proc, _services):
        url = f"{proc.url}/ajax-api/2.0/runyard/ui/session"
        plain = httpx.get(url)
        assert plain.status_code == 401 and "Basic" in plain.headers["www-authenticate"]
        script = httpx.get(url, headers={"X-Requested-With": "XMLHttpRequest"})
        assert script.status_code == 401 and "www-authenticate" not in script.headers
        assert script.json()["error_code"] == "UNAUTHENTICATED"
        signed_in = httpx.get(url, auth=("admin", "ui-serving-admin-pw"))
        assert signed_in.json() == {"auth_enabled": True, "user": {"username": "admin", "is_admin": True}}
        # The page itself is public: it holds no data, and sends an unsigned browser to sign in.
        assert httpx.get(f"{proc.url}/").status_code == 200
