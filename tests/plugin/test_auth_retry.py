"""The `requests` auth against a stub server on 127.0.0.1: the bearer token on every request, one
retry with a renewed token after a 401 (bodies rewound, streams included), none for a static token."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from runyard.plugin.auth import RunyardAuth
from runyard.plugin.chain import ServerCredentials
from runyard.plugin.login_store import LoginStore
from tests.plugin.test_chain import FakeOAuth


class Stub(ThreadingHTTPServer):
    accepted: set[str]
    seen: list[tuple[str, str, bytes]]


class Handler(BaseHTTPRequestHandler):
    server: Stub

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        self.server.seen.append((self.command, auth, body))
        ok = auth.removeprefix("Bearer ") in self.server.accepted
        payload = b'{"ok": true}' if ok else b'{"error_code": "UNAUTHENTICATED"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer
    do_PUT = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub(("127.0.0.1", 0), Handler)
    server.accepted, server.seen = set(), []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(stub: Stub, path: str = "/w/default/api/2.0/mlflow/experiments/search") -> str:
    return f"http://127.0.0.1:{stub.server_address[1]}{path}"


def test_a_refused_token_is_renewed_and_the_request_sent_again(stub: Stub, tmp_path: Any) -> None:
    fake = FakeOAuth(lifetime=3600)
    creds = ServerCredentials(
        "http://stub",
        env={"RUNYARD_CLIENT_ID": "ryd_sp_1", "RUNYARD_CLIENT_SECRET": "s3cret"},
        store=LoginStore(tmp_path),
        client=fake,
    )
    auth = RunyardAuth(lambda _url: creds)
    first = creds.token()
    response = requests.get(url(stub), auth=auth, timeout=10)
    assert response.status_code == 401  # nobody accepted yet: retried once, then the 401 stands
    assert [s[1] for s in stub.seen] == [f"Bearer {first}", "Bearer at-2"]
    stub.accepted.add("at-3")
    stub.seen.clear()
    with io.BytesIO(b"artifact bytes") as body:
        response = requests.put(
            url(stub, "/w/default/api/2.0/mlflow-artifacts/artifacts/1/a.txt"), data=body, auth=auth
        )
    assert response.status_code == 200
    assert [(s[1], s[2]) for s in stub.seen] == [("Bearer at-2", b"artifact bytes"), ("Bearer at-3", b"artifact bytes")]
    assert len(response.history) == 1 and response.history[0].status_code == 401
    stub.seen.clear()
    assert requests.get(url(stub), auth=auth, timeout=10).status_code == 200
    assert [s[1] for s in stub.seen] == ["Bearer at-3"]  # no renewal while the token is accepted


def test_a_static_token_is_not_retried(stub: Stub, tmp_path: Any) -> None:
    creds = ServerCredentials(
        "http://stub", env={"RUNYARD_TOKEN": "pat"}, store=LoginStore(tmp_path), client=FakeOAuth()
    )
    response = requests.get(url(stub), auth=RunyardAuth(lambda _url: creds), timeout=10)
    assert response.status_code == 401
    assert [s[1] for s in stub.seen] == ["Bearer pat"]
