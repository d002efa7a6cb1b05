"""Service principals, personal access tokens and the audit log against a live server with
`--auth on` and two worker processes, on SQLite and PostgreSQL: the client-credentials grant over
raw HTTP and through a whole training script with the real mlflow client, personal tokens through
`/api/2.0/runyard/tokens`, expiry, revocation and disabling taking effect in every process within
5 seconds, the audit API, and no secret in the server's output or the audit table."""

from __future__ import annotations

import base64
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from runyard.domain.permissions import EDIT
from runyard.services.container import Services
from runyard.services.context import now_ms
from runyard.services.identity.audit import Actor
from tests.conftest import ServerProcess, auth_server

ADMIN_PASSWORD = "admin-pw-for-token-tests"
PROPAGATION_SECONDS = 5.0


@dataclass
class AuthServer:
    server: ServerProcess
    services: Services
    # Every secret a test used: none may appear in the server's output or the audit log.
    secrets: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def basic(self, user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    @property
    def admin(self) -> dict[str, str]:
        return self.basic("admin", ADMIN_PASSWORD)

    def user(self, name: str, password: str) -> None:
        self.services.identity.accounts.create_user(Actor.cli(), name, password)
        self.secrets.append(password)

    def service_principal(self, name: str) -> tuple[str, str]:
        issued = self.services.identity.accounts.create_service_principal(Actor.cli(), name)
        self.services.identity.grants.put(Actor.cli(), name, "default", "workspace", "*", EDIT)
        self.secrets.append(issued.client_secret)
        return issued.client_id, issued.client_secret

    def access_token(self, client_id: str, secret: str) -> str:
        resp = httpx.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        assert resp.status_code == 200, resp.text
        token = str(resp.json()["access_token"])
        self.secrets.append(token)
        return token


@pytest.fixture(scope="module")
def auth(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[AuthServer]:
    data_dir = tmp_path_factory.mktemp(f"auth-tokens-{backend}")
    store_uri = request.getfixturevalue("postgres_database_factory")() if backend == "postgres" else None
    # Polling revoked credentials below counts as failures: the limit itself is tested elsewhere.
    args = ("--auth-failure-limit", "1000", "--access-log", "--log-level", "debug")
    with auth_server(data_dir, ADMIN_PASSWORD, *args, backend_store_uri=store_uri, workers=2) as (proc, services):
        yield AuthServer(proc, services, [ADMIN_PASSWORD])


def fresh_get(url: str, headers: dict[str, str]) -> httpx.Response:
    """A request on a new connection (so the two worker processes both get asked)."""
    with httpx.Client() as client:
        return client.get(url, headers=headers)


def search(auth: AuthServer, headers: dict[str, str]) -> httpx.Response:
    return fresh_get(f"{auth.url}/api/2.0/mlflow/experiments/search?max_results=1", headers)


def assert_unauthenticated(resp: httpx.Response) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["error_code"] == "UNAUTHENTICATED"
    assert "Basic" in resp.headers["www-authenticate"]


def wait_refused(auth: AuthServer, headers: dict[str, str], since: float) -> None:
    """No process accepts the credential once PROPAGATION_SECONDS have passed since `since` (asked on
    fresh connections until then and six more times; a refused password costs a hash each time)."""
    seen: list[tuple[float, int]] = []
    refused_after_deadline = 0
    while refused_after_deadline < 6:
        asked = time.monotonic() - since
        resp = search(auth, headers)
        seen.append((round(asked, 2), resp.status_code))
        if asked >= PROPAGATION_SECONDS:
            assert resp.status_code == 401, f"credential still accepted after 5 s: {seen}"
            refused_after_deadline += 1
        else:
            time.sleep(0.1)
    assert_unauthenticated(resp)


def warm_both_workers(auth: AuthServer, headers: dict[str, str]) -> None:
    for _ in range(8):
        assert search(auth, headers).status_code == 200


def test_anonymous_requests_reach_only_public_routes(auth: AuthServer) -> None:
    assert httpx.get(f"{auth.url}/health").status_code == 200
    assert httpx.get(f"{auth.url}/version").status_code == 200
    info = httpx.get(f"{auth.url}/api/3.0/mlflow/server-info")
    assert info.status_code == 200 and info.json()["auth_enabled"] is True
    token = httpx.post(f"{auth.url}/oauth/token", data={"grant_type": "client_credentials"})
    assert token.status_code == 400 and token.json()["error"] == "invalid_request"
    for method, path in [
        ("GET", "/api/2.0/mlflow/experiments/search"),
        ("GET", "/api/2.0/runyard/tokens"),
        ("POST", "/api/2.0/runyard/tokens"),
        ("DELETE", "/api/2.0/runyard/tokens/abc"),
        ("GET", "/api/2.0/runyard/audit-events"),
    ]:
        assert_unauthenticated(httpx.request(method, f"{auth.url}{path}", json={} if method == "POST" else None))


def test_every_non_public_route_refuses_anonymous_requests(auth: AuthServer) -> None:
    """Generated from the route table: only the public routes answer without credentials."""
    from starlette.routing import Route

    from runyard.app import api_routes

    public = []
    with httpx.Client(base_url=auth.url) as client:
        for route in api_routes():
            assert isinstance(route, Route)
            path = re.sub(r"\{[^}]+\}", lambda m: "1" if m.group(0).endswith(":int}") else "x", route.path)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                if getattr(route, "access", None) == "public":
                    public.append(path)
                    continue
                resp = client.request(method, path, json={} if method != "GET" else None)
                assert resp.status_code == 401, (method, path, resp.status_code, resp.text[:200])
                assert resp.json()["error_code"] == "UNAUTHENTICATED"
    # The OAuth endpoints and the login/device pages authenticate what they need themselves.
    self_checked = {
        "/oauth/token",
        "/oauth/device_authorization",
        "/oauth/revoke",
        "/oauth/authorize",
        "/oauth/userinfo",
        "/oauth/jwks",
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/login",
        "/logout",
        "/login/sso",
        "/login/sso/callback",
        "/device",
    }
    assert {"/health", "/version", "/api/3.0/mlflow/server-info", *self_checked} <= set(public)
    # `runyard/mirror/info` says only that this is a Runyard (mirrors use it to pick the import API).
    probes = ("/health", "/version", "/api/2.0/runyard/mirror/info", "/ajax-api/2.0/runyard/mirror/info")
    assert all(p in probes or p in self_checked or p.endswith("/mlflow/server-info") for p in public), public


def test_client_credentials_over_raw_http(auth: AuthServer, unique: str) -> None:
    client_id, secret = auth.service_principal(f"sp-raw-{unique}")
    url = f"{auth.url}/oauth/token"
    resp = httpx.post(url, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert (
        body["token_type"] == "Bearer"
        and body["expires_in"] == 3600
        and set(body)
        == {
            "access_token",
            "token_type",
            "expires_in",
        }
    )
    auth.secrets.append(body["access_token"])
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert search(auth, bearer).status_code == 200

    # HTTP Basic: id and secret form-urlencoded, then base64 (RFC 6749 §2.3.1).
    encoded = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
    basic = {"Authorization": "Basic " + base64.b64encode(encoded.encode()).decode()}
    resp = httpx.post(url, data={"grant_type": "client_credentials"}, headers=basic)
    assert resp.status_code == 200, resp.text
    auth.secrets.append(resp.json()["access_token"])

    wrong = httpx.post(
        url, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x" * 20}
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    wrong_basic_value = base64.b64encode(f"{client_id}:{'y' * 20}".encode()).decode()
    wrong_basic = httpx.post(
        url, data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong_basic_value}"}
    )
    assert wrong_basic.status_code == 401 and wrong_basic.json()["error"] == "invalid_client"
    assert wrong_basic.headers["www-authenticate"].startswith("Basic")

    unsupported = httpx.post(url, data={"grant_type": "password", "username": "a", "password": "b"})
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    as_json = httpx.post(
        url, json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    both = httpx.post(
        url, data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}, headers=basic
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    repeated = httpx.post(
        url,
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"

    issued = auth.services.identity.audit.query(action="token.issue", actor=f"sp-raw-{unique}")
    assert len(issued) == 2
    failures = auth.services.identity.audit.query(action="auth.failure", actor=f"sp-raw-{unique}")
    assert len(failures) == 2 and all(f.outcome == "failure" for f in failures)


def test_service_principal_runs_a_training_script(
    auth: AuthServer, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    token = auth.access_token(*auth.service_principal(f"sp-train-{unique}"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    mlflow.set_tracking_uri(auth.url)
    try:
        mlflow.set_experiment(f"sp-training-{unique}")
        x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
        y = np.array([0, 1, 0, 1])
        name = f"sp-model-{unique}"
        with mlflow.start_run() as run:
            mlflow.log_params({"C": 1.0, "solver": "lbfgs"})
            for step in range(3):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_text("trained by a service principal", "notes/readme.txt")
            model = LogisticRegression().fit(x, y)
            mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
        client = mlflow.MlflowClient()
        got = client.get_run(run.info.run_id)
        assert got.data.params["C"] == "1.0" and got.data.metrics["loss"] == pytest.approx(1 / 3)
        assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == ["notes/readme.txt"]
        loaded = mlflow.sklearn.load_model(f"models:/{name}/1")
        assert list(loaded.predict(x)) == list(y)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


def test_personal_access_tokens(auth: AuthServer, unique: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    tokens_url = f"{auth.url}/api/2.0/runyard/tokens"
    resp = httpx.post(tokens_url, json={"name": "laptop", "expires_in_days": 30}, headers=auth.admin)
    assert resp.status_code == 200, resp.text
    created = resp.json()
    assert set(created) == {"id", "token", "expires_at"} and created["token"].startswith("ryd_pat_")
    assert created["expires_at"] > now_ms() + 29 * 86_400_000
    auth.secrets.append(created["token"])

    listed = httpx.get(tokens_url, headers=auth.admin)
    assert listed.status_code == 200
    assert created["token"] not in listed.text
    mine = [t for t in listed.json()["tokens"] if t["id"] == created["id"]]
    assert mine and set(mine[0]) == {"id", "name", "creation_time", "expires_at", "last_used_at", "revoked"}
    assert mine[0]["revoked"] is False and mine[0]["name"] == "laptop"

    # The real client with MLFLOW_TRACKING_TOKEN.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", created["token"])
    experiment_id = mlflow.MlflowClient(tracking_uri=auth.url).create_experiment(f"pat-{unique}")
    assert experiment_id
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    used = [t for t in httpx.get(tokens_url, headers=auth.admin).json()["tokens"] if t["id"] == created["id"]]
    assert used[0]["last_used_at"] is not None

    # Another user neither sees nor revokes it.
    other_password = f"bob-password-{unique}"
    auth.user(f"bob-{unique}", other_password)
    bob = auth.basic(f"bob-{unique}", other_password)
    assert httpx.get(tokens_url, headers=bob).json() == {"tokens": []}
    denied = httpx.delete(f"{tokens_url}/{created['id']}", headers=bob)
    assert denied.status_code == 404 and denied.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    # Revocation takes effect in both processes within 5 s.
    bearer = {"Authorization": f"Bearer {created['token']}"}
    warm_both_workers(auth, bearer)
    assert httpx.delete(f"{tokens_url}/{created['id']}", headers=auth.admin).status_code == 200
    wait_refused(auth, bearer, time.monotonic())
    after = [t for t in httpx.get(tokens_url, headers=auth.admin).json()["tokens"] if t["id"] == created["id"]]
    assert after[0]["revoked"] is True
    assert auth.services.identity.audit.query(action="token.revoke", actor="admin")


def test_token_requests_are_validated(auth: AuthServer) -> None:
    url = f"{auth.url}/api/2.0/runyard/tokens"
    for body in (
        {"name": "x", "expires_in_days": 1, "expires_at": now_ms() + 10_000},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_at": now_ms() - 1000},
        {"name": ""},
        {},
    ):
        resp = httpx.post(url, json=body, headers=auth.admin)
        assert resp.status_code == 400, (body, resp.text)
        assert resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_expired_token_is_refused(auth: AuthServer, unique: str) -> None:
    resp = httpx.post(
        f"{auth.url}/api/2.0/runyard/tokens",
        json={"name": "short", "expires_at": now_ms() + 2000},
        headers=auth.admin,
    )
    token = resp.json()["token"]
    auth.secrets.append(token)
    bearer = {"Authorization": f"Bearer {token}"}
    assert search(auth, bearer).status_code == 200
    time.sleep(2.2)
    for _ in range(4):
        assert_unauthenticated(search(auth, bearer))


def test_disabling_a_user_takes_effect_everywhere(auth: AuthServer, unique: str) -> None:
    name, password = f"carol-{unique}", f"carol-password-{unique}"
    auth.user(name, password)
    headers = auth.basic(name, password)
    warm_both_workers(auth, headers)
    auth.services.identity.accounts.set_enabled(Actor.cli(), name, False)
    wait_refused(auth, headers, time.monotonic())


def test_audit_api(auth: AuthServer, unique: str) -> None:
    url = f"{auth.url}/api/2.0/runyard/audit-events"
    workspace = f"audit-ws-{unique}"
    created = httpx.post(f"{auth.url}/api/3.0/mlflow/workspaces", json={"name": workspace}, headers=auth.admin)
    assert created.status_code == 201, created.text
    deleted = httpx.delete(f"{auth.url}/api/3.0/mlflow/workspaces/{workspace}", headers=auth.admin)
    assert deleted.status_code == 204, deleted.text
    events = httpx.get(url, params={"action": "workspace.delete"}, headers=auth.admin).json()["events"]
    assert any(workspace in (e["resource"] or "") and e["actor"] == "admin" for e in events)
    assert events[0]["source"] == "127.0.0.1"

    sign_ins = httpx.get(url, params={"action": "auth.sign-in", "actor": "admin"}, headers=auth.admin).json()
    assert sign_ins["events"] and all(e["actor"] == "admin" for e in sign_ins["events"])

    first = httpx.get(url, params={"max_results": 2}, headers=auth.admin).json()
    assert len(first["events"]) == 2 and first["events"][0]["id"] > first["events"][1]["id"]
    second = httpx.get(url, params={"max_results": 2, "page_token": first["next_page_token"]}, headers=auth.admin)
    assert second.status_code == 200
    assert second.json()["events"][0]["id"] < first["events"][1]["id"]
    window = httpx.get(url, params={"since": now_ms() + 60_000}, headers=auth.admin).json()
    assert window["events"] == [] and "next_page_token" not in window
    assert httpx.get(url, params={"page_token": "x"}, headers=auth.admin).status_code == 400
    assert httpx.get(url, params={"max_results": 0}, headers=auth.admin).status_code == 400

    name, password = f"dave-{unique}", f"dave-password-{unique}"
    auth.user(name, password)
    refused = httpx.get(url, headers=auth.basic(name, password))
    assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"


def test_no_secret_in_server_output_or_audit_log(auth: AuthServer) -> None:
    """Runs last in the module: every secret the tests above used, against everything recorded."""
    wrong = "wrong-password-value-123"
    assert httpx.get(f"{auth.url}/api/2.0/runyard/tokens", headers=auth.basic("admin", wrong)).status_code == 401
    auth.secrets.append(wrong)
    assert len(auth.secrets) > 8
    time.sleep(0.3)  # the access log line of the last request
    log = auth.server.log()
    assert "GET /api/2.0/runyard/tokens" in log  # the access log is on
    events = auth.services.identity.audit.query(limit=1_000_000)
    assert any(e.action == "auth.sign-in" for e in events)
    rows = "\n".join(f"{e.actor} {e.source} {e.action} {e.resource} {e.outcome} {e.detail}" for e in events)
    for secret in auth.secrets:
        assert secret not in log
        assert secret not in rows
