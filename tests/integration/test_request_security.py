"""Browser-driven attacks on a local server (issue 10, item 1), as raw HTTP: cross-origin writes,
DNS rebinding (forged Host), non-JSON bodies on JSON endpoints, cookie sessions without a CSRF
token; and what must keep working: the mlflow client, same-origin pages, listed origins (CORS)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.api.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.conftest import ServerProcess

# The classification mlflow 3.x servers add to every error body (see test_reference_errors).
CLASSIFIED_PERMISSION_DENIED = {"sqlstate": "KAM00", "error_class": "PERMISSION_DENIED"}
API = "/api/2.0/mlflow"
EVIL = "http://evil.example"


def _name() -> str:
    return f"sec-{secrets.token_hex(4)}"


def _exists(http: httpx.Client, name: str) -> bool:
    resp = http.get(f"{API}/experiments/get-by-name", params={"experiment_name": name})
    assert resp.status_code in (200, 404), resp.text
    return resp.status_code == 200


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_cross_origin_simple_request_is_refused_and_writes_nothing(http: httpx.Client) -> None:
    name = _name()
    resp = http.post(
        f"{API}/experiments/create",
        content=f'{{"name": "{name}"}}',
        headers={"Content-Type": "text/plain", "Origin": EVIL},
    )
    assert resp.status_code == 403
    assert resp.json() == {
        "error_code": "PERMISSION_DENIED",
        "message": "Cross-origin request blocked",
        **CLASSIFIED_PERMISSION_DENIED,
    }
    assert "access-control-allow-origin" not in resp.headers
    assert not _exists(http, name)


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE", "PUT"])
def test_cross_origin_json_request_is_refused_too(http: httpx.Client, method: str) -> None:
    name = _name()
    path = {
        "POST": f"{API}/experiments/create",
        "PATCH": "/api/3.0/mlflow/workspaces/default",
        "DELETE": "/api/3.0/mlflow/workspaces/default",
        "PUT": "/api/2.0/mlflow-artifacts/artifacts/sec/evil.txt",
    }[method]
    resp = http.request(method, path, json={"name": name, "description": "pwned"}, headers={"Origin": EVIL})
    assert resp.status_code == 403
    assert resp.json()["message"] == "Cross-origin request blocked"
    assert not _exists(http, name)
    assert http.get("/api/2.0/mlflow-artifacts/artifacts/sec/evil.txt").status_code == 404


def test_null_origin_is_foreign(http: httpx.Client) -> None:
    resp = http.post(f"{API}/experiments/create", json={"name": _name()}, headers={"Origin": "null"})
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "host", ["evil.example:5000", "evil.example", "localhost.evil.example", "", "127.0.0.1.nip.io"]
)
def test_forged_host_is_refused_for_reads_and_writes(http: httpx.Client, host: str) -> None:
    name = _name()
    write = http.post(f"{API}/experiments/create", json={"name": name}, headers={"Host": host})
    read = http.get(f"{API}/experiments/search", params={"max_results": 1}, headers={"Host": host})
    for resp in (write, read):
        assert resp.status_code == 403
        assert resp.json() == {
            "error_code": "PERMISSION_DENIED",
            "message": "Invalid Host header - possible DNS rebinding attack detected",
            **CLASSIFIED_PERMISSION_DENIED,
        }
    assert not _exists(http, name)


def test_localhost_names_on_any_port_are_answered(http: httpx.Client) -> None:
    for host in ("localhost", "LOCALHOST:5000", "127.0.0.1:1", "[::1]:8080"):
        assert http.get(f"{API}/experiments/search", headers={"Host": host}).status_code == 200, host


def test_probes_answer_any_host(http: httpx.Client) -> None:
    assert http.get("/health", headers={"Host": "10.1.2.3:5000"}).text == "OK"
    assert http.get("/version", headers={"Host": "some-pod"}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"Content-Type": "text/plain"}, b"{}"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"name=x"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
        ({"Content-Type": "application/jsonp"}, b"{}"),
        ({}, b"{}"),  # no Content-Type at all
    ],
)
def test_json_endpoints_refuse_other_content_types_and_write_nothing(
    http: httpx.Client, headers: dict[str, str], content: bytes
) -> None:
    name = _name()
    body = content.replace(b"{}", f'{{"name": "{name}"}}'.encode())
    req = http.build_request("POST", f"{API}/experiments/create", content=body, headers=headers)
    assert ("content-type" in req.headers) == bool(headers)
    resp = http.send(req)
    assert resp.status_code == 400
    assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Content-Type" in resp.json()["message"]
    assert not _exists(http, name)


def test_json_with_charset_and_an_empty_bodyless_post_reach_the_handler(http: httpx.Client) -> None:
    name = _name()
    resp = http.post(
        f"{API}/experiments/create",
        content=f'{{"name": "{name}"}}',
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert resp.status_code == 200
    # No body and no Content-Type: the message is empty, so the handler names the missing field.
    empty = http.post(f"{API}/experiments/create")
    assert empty.status_code == 400
    assert empty.json()["message"] == (
        "Missing value for required parameter 'name'. See the API docs for more information about request parameters."
    )


def test_artifact_bytes_take_any_content_type(http: httpx.Client) -> None:
    base = "/api/2.0/mlflow-artifacts/artifacts/sec-bytes"
    assert http.put(f"{base}/a.txt", content=b"hi", headers={"Content-Type": "text/plain"}).status_code == 200
    assert http.put(f"{base}/b.bin", content=b"\x00\x01").status_code == 200
    assert http.get(f"{base}/a.txt").content == b"hi"
    # ...but the multipart control messages are JSON endpoints.
    resp = http.post(
        "/api/2.0/mlflow-artifacts/mpu/create/sec-bytes", content=b"path=x", headers={"Content-Type": "text/plain"}
    )
    assert resp.status_code == 400


def test_same_origin_page_works_without_cors_headers(server: ServerProcess, http: httpx.Client) -> None:
    for origin in (server.url, server.url.replace("127.0.0.1", "localhost")):
        host = origin.removeprefix("http://")
        resp = http.post(f"{API}/experiments/create", json={"name": _name()}, headers={"Origin": origin, "Host": host})
        assert resp.status_code == 200, resp.text
        assert "access-control-allow-origin" not in resp.headers


def test_foreign_origin_reads_get_no_cors_headers(http: httpx.Client) -> None:
    resp = http.get(f"{API}/experiments/search", headers={"Origin": EVIL})
    assert resp.status_code == 200
    assert not any(k.startswith("access-control-") for k in resp.headers)
    pre = http.options(f"{API}/experiments/create", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    assert not any(k.startswith("access-control-") for k in pre.headers)


def test_cookie_session_needs_the_csrf_token(http: httpx.Client) -> None:
    token = secrets.token_urlsafe(16)
    cookies = f"{SESSION_COOKIE}=s3ss10n; {CSRF_COOKIE}={token}"
    create = f"{API}/experiments/create"
    cases = [
        ({"Cookie": cookies}, 403),
        ({"Cookie": cookies, CSRF_HEADER: token + "x"}, 403),
        ({"Cookie": f"{SESSION_COOKIE}=s3ss10n", CSRF_HEADER: ""}, 403),
        ({"Cookie": cookies, CSRF_HEADER: token}, 200),
        ({"Cookie": "other=1"}, 200),  # no session cookie: not cookie-authenticated
    ]
    for headers, status in cases:
        name = _name()
        resp = http.post(create, json={"name": name}, headers=headers)
        assert resp.status_code == status, (headers, resp.text)
        assert _exists(http, name) == (status == 200)
        if status == 403:
            assert resp.json()["error_code"] == "PERMISSION_DENIED"
            assert CSRF_HEADER in resp.json()["message"]
    # Reads need no token.
    assert http.get(f"{API}/experiments/search", headers={"Cookie": cookies}).status_code == 200


# --- a server configured with extra hosts and origins (through the reference's variable names) ---


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        data_dir=Path(tmp_path_factory.mktemp("security")),
        extra_env={
            "MLFLOW_SERVER_ALLOWED_HOSTS": "mlflow.example.com, *.corp.example:8080",
            "RUNYARD_CORS_ALLOWED_ORIGINS": "https://app.example.com,https://*.notebooks.example",
        },
    ).start()
    yield proc
    proc.stop()


def test_listed_hosts_are_answered(configured: ServerProcess) -> None:
    with httpx.Client(base_url=configured.url) as http:
        for host, status in [
            ("mlflow.example.com", 200),
            ("mlflow.example.com:443", 200),
            ("a.b.corp.example:8080", 200),
            ("a.corp.example:8081", 403),
            ("localhost:5000", 200),
            ("evil.example", 403),
        ]:
            assert http.get(f"{API}/experiments/search", headers={"Host": host}).status_code == status, host


def test_listed_origin_gets_cors_headers_and_works(configured: ServerProcess) -> None:
    with httpx.Client(base_url=configured.url) as http:
        for origin in ("https://app.example.com", "https://team.notebooks.example"):
            pre = http.options(
                f"{API}/experiments/create",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-mlflow-workspace",
                },
            )
            assert pre.status_code == 204
            assert pre.headers["access-control-allow-origin"] == origin
            assert pre.headers["access-control-allow-credentials"] == "true"
            assert "POST" in pre.headers["access-control-allow-methods"]
            assert pre.headers["access-control-allow-headers"] == "content-type,x-mlflow-workspace"
            name = _name()
            resp = http.post(f"{API}/experiments/create", json={"name": name}, headers={"Origin": origin})
            assert resp.status_code == 200, resp.text
            assert resp.headers["access-control-allow-origin"] == origin
            assert resp.headers["vary"] == "Origin"
            assert _exists(http, name)
        refused = http.post(
            f"{API}/experiments/create", json={"name": _name()}, headers={"Origin": "https://app.example.com.evil"}
        )
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers


def test_the_mlflow_client_works_against_a_secured_server(configured: ServerProcess) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(configured.url)
    exp = client.create_experiment(_name())
    run = client.create_run(exp)
    client.log_metric(run.info.run_id, "m", 1.0)
    client.set_terminated(run.info.run_id)
    client.delete_run(run.info.run_id)
    client.delete_experiment(exp)
    client.restore_experiment(exp)
    assert client.get_experiment(exp).lifecycle_stage == "active"
