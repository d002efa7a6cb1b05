"""Runyard as an OAuth 2.0 authorization server and OpenID provider, over raw HTTP against a live
server with `--auth on` (two worker processes, SQLite and PostgreSQL): discovery, the login page,
the authorization-code flow with PKCE (S256 only) to loopback redirect URIs, ID tokens checked
against the published JWKS, rotating refresh tokens whose replay revokes the sign-in, revocation,
the device flow's every answer, and the browser session's cookie rules."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import create_engine, update

from runyard.services.container import Services
from runyard.services.identity.audit import Actor
from runyard.store import schema
from tests.conftest import ServerProcess, auth_server
from tests.oauth_helpers import CLI, DEVICE_GRANT, Browser, code_request, exchange, pkce, query_of, refresh

ADMIN_PASSWORD = "admin-pw-for-oauth-tests"
USER = "olivia"
USER_PASSWORD = "olivia-password-123"
REVOCATION_SECONDS = 5.0


class Provider:
    def __init__(self, server: ServerProcess, services: Services, store_uri: str) -> None:
        self.server = server
        self.services = services
        self.store_uri = store_uri

    @property
    def url(self) -> str:
        return self.server.url

    def browser(self) -> Browser:
        return Browser.at(self.url)

    def signed_in(self) -> Browser:
        b = self.browser()
        b.sign_in(USER, USER_PASSWORD)
        return b

    def tokens(self, port: int = 43117) -> dict[str, str]:
        """A fresh sign-in of USER through the browser flow: the token response."""
        b = self.signed_in()
        redirect = f"http://127.0.0.1:{port}/callback"
        verifier, challenge = pkce()
        resp = b.authorize(code_request(redirect, challenge))
        b.close()
        assert resp.status_code == 302, resp.text
        answer = exchange(self.url, query_of(resp.headers["location"])["code"], redirect, verifier)
        assert answer.status_code == 200, answer.text
        body: dict[str, str] = answer.json()
        return body


@pytest.fixture(scope="module")
def provider(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Provider]:
    data_dir = tmp_path_factory.mktemp(f"oauth-{backend}")
    store_uri = request.getfixturevalue("postgres_database_factory")() if backend == "postgres" else None
    limits = ("--auth-failure-limit", "1000", "--access-token-ttl", "120")
    with auth_server(
        data_dir, ADMIN_PASSWORD, *limits, backend_store_uri=store_uri, workers=2, secrets_to_hide=(USER_PASSWORD,)
    ) as (proc, services):
        services.identity.accounts.create_user(Actor.cli(), USER, USER_PASSWORD)
        yield Provider(proc, services, store_uri or f"sqlite:///{data_dir}/runyard.db")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def search(provider: Provider, token: str) -> int:
    resp = httpx.get(f"{provider.url}/api/2.0/mlflow/experiments/search?max_results=1", headers=bearer(token))
    return resp.status_code


def test_discovery_and_jwks(provider: Provider) -> None:
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        meta = httpx.get(provider.url + path).json()
        assert meta["issuer"] == provider.url
        assert meta["code_challenge_methods_supported"] == ["S256"]
        for key in ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "jwks_uri"):
            assert meta[key].startswith(provider.url + "/oauth/")
    keys = httpx.get(f"{provider.url}/oauth/jwks").json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and "d" not in keys[0] and keys[0]["kid"]


def test_code_flow_with_pkce_issues_tokens_and_a_verifiable_id_token(provider: Provider) -> None:
    b = provider.browser()
    port = 50000 + secrets.randbelow(10000)
    redirect = f"http://127.0.0.1:{port}/any/path"
    verifier, challenge = pkce()
    params = code_request(redirect, challenge, nonce="n-" + secrets.token_hex(4))
    first = b.authorize(params)
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
    page = b.get(first.headers["location"])
    assert page.status_code == 200 and "<title>Sign in to Runyard" in page.text
    assert (
        page.headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    wrong = b.login(page, USER, "not-the-password")
    assert wrong.status_code == 401 and "Invalid user name or password." in wrong.text
    done = b.login(wrong, USER, USER_PASSWORD)
    assert done.status_code == 303 and done.headers["location"].startswith("/oauth/authorize?")
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("runyard_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    back = b.get(done.headers["location"])
    assert back.status_code == 302
    answer = query_of(back.headers["location"])
    assert back.headers["location"].startswith(redirect + "?") and answer["state"] == params["state"]

    # The code is bound to the verifier, to the redirect URI, and to one use.
    assert exchange(provider.url, answer["code"], redirect, pkce()[0]).json()["error"] == "invalid_grant"
    again = b.get(done.headers["location"])
    code = query_of(again.headers["location"])["code"]
    assert exchange(provider.url, code, redirect + "x", verifier).json()["error"] == "invalid_grant"
    code = query_of(b.get(done.headers["location"]).headers["location"])["code"]
    tokens = exchange(provider.url, code, redirect, verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert {"access_token", "refresh_token", "id_token", "expires_in", "token_type"} <= set(body)
    assert body["expires_in"] == 120 and tokens.headers["cache-control"] == "no-store"
    b.close()

    keys = KeySet.import_key_set(httpx.get(f"{provider.url}/oauth/jwks").json())
    id_token = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
    claims = id_token.claims
    assert claims["iss"] == provider.url and CLI in claims["aud"] and claims["nonce"] == params["nonce"]
    assert claims["preferred_username"] == USER and claims["exp"] > time.time()
    info = httpx.get(f"{provider.url}/oauth/userinfo", headers=bearer(body["access_token"])).json()
    assert info["preferred_username"] == USER and info["sub"] == claims["sub"] and info["is_admin"] is False
    assert search(provider, body["access_token"]) == 200
    # Neither the ID token nor the refresh token is an access token.
    assert search(provider, body["id_token"]) == 401 and search(provider, body["refresh_token"]) == 401
    # A second exchange of the same code fails (the code is single-use).
    assert exchange(provider.url, code, redirect, verifier).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "change, error",
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_bad_authorization_requests_go_back_with_an_error(
    provider: Provider, change: dict[str, str], error: str
) -> None:
    b = provider.signed_in()
    redirect = "http://127.0.0.1:40001/cb"
    params = {**code_request(redirect, pkce()[1]), **change}
    params = {k: v for k, v in params.items() if v != ""}
    resp = b.authorize(params)
    b.close()
    assert resp.status_code == 302, resp.text
    assert resp.headers["location"].startswith(redirect) and query_of(resp.headers["location"])["error"] == error


@pytest.mark.parametrize(
    "redirect",
    ["https://evil.example/cb", "http://192.168.1.5:8000/cb", "http://127.0.0.1:5000/cb#frag", "http://u@127.0.0.1:1/"],
)
def test_a_redirect_uri_that_is_not_loopback_is_never_followed(provider: Provider, redirect: str) -> None:
    b = provider.signed_in()
    resp = b.authorize(code_request(redirect, pkce()[1]))
    b.close()
    assert resp.status_code == 400 and "location" not in resp.headers
    assert "text/html" in resp.headers["content-type"]


def test_unknown_client_is_refused_on_a_page(provider: Provider) -> None:
    b = provider.signed_in()
    resp = b.authorize({**code_request("http://127.0.0.1:1/cb", pkce()[1]), "client_id": "someone-else"})
    b.close()
    assert resp.status_code == 400 and "location" not in resp.headers


def test_cancel_on_the_login_page_answers_access_denied(provider: Provider) -> None:
    b = provider.browser()
    redirect = "http://127.0.0.1:40002/cb"
    first = b.authorize(code_request(redirect, pkce()[1]))
    page = b.get(first.headers["location"])
    cancel = page.text.split('id="cancel" href="')[1].split('"')[0].replace("&amp;", "&")
    resp = b.get(cancel)
    b.close()
    assert resp.status_code == 302 and query_of(resp.headers["location"])["error"] == "access_denied"


def test_login_form_rules(provider: Provider) -> None:
    b = provider.browser()
    page = b.get("/login?next=//evil.example/x")
    assert 'name="next" value="/login"' in page.text
    # A form without the CSRF cookie's value is refused; a foreign Origin never reaches the handler.
    resp = b.client.post("/login", data={"username": USER, "password": USER_PASSWORD, "csrf_token": "x" * 40})
    assert resp.status_code == 400 and "expired" in resp.text
    foreign = b.client.post(
        "/login", data={"username": USER, "password": USER_PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    b.close()


def test_session_cookie_reaches_the_api_and_writes_need_the_csrf_header(provider: Provider) -> None:
    b = provider.signed_in()
    assert b.get("/api/2.0/mlflow/experiments/search?max_results=1").status_code == 200
    body = {"name": f"from-browser-{secrets.token_hex(3)}"}
    refused = b.client.post("/api/2.0/mlflow/experiments/create", json=body)
    assert refused.status_code == 403
    csrf = b.client.cookies["runyard_csrf"]
    allowed = b.client.post("/api/2.0/mlflow/experiments/create", json=body, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code in (200, 403), allowed.text  # 403: no permission to create; not a CSRF refusal
    assert "Cross-site request forgery" not in allowed.text
    signed_in = b.get("/login")
    assert "Signed in as" in signed_in.text
    out = b.post_form("/logout", {"csrf_token": csrf})
    assert out.status_code == 303
    assert b.get("/api/2.0/mlflow/experiments/search?max_results=1").status_code == 401
    b.close()


def test_refresh_rotates_and_a_replay_revokes_the_family(provider: Provider) -> None:
    first = provider.tokens()
    second = refresh(provider.url, first["refresh_token"])
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert search(provider, rotated["access_token"]) == 200
    # Presenting the spent token again: refused, and everything from that sign-in ends.
    replay = refresh(provider.url, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert refresh(provider.url, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    deadline = time.monotonic() + REVOCATION_SECONDS
    while search(provider, rotated["access_token"]) == 200:
        assert time.monotonic() < deadline, "the family's access token still works"
        time.sleep(0.3)
    # Another sign-in of the same user is unaffected.
    other = provider.tokens()
    assert search(provider, other["access_token"]) == 200


def test_revocation(provider: Provider) -> None:
    tokens = provider.tokens()
    resp = httpx.post(
        f"{provider.url}/oauth/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": CLI},
    )
    assert resp.status_code == 200
    assert refresh(provider.url, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    # Unknown tokens answer 200 too (RFC 7009 §2.2).
    unknown = httpx.post(f"{provider.url}/oauth/revoke", data={"token": "nothing", "client_id": CLI})
    assert unknown.status_code == 200
    # Revoking an access token ends its sign-in as well.
    other = provider.tokens()
    httpx.post(f"{provider.url}/oauth/revoke", data={"token": other["access_token"], "client_id": CLI})
    assert refresh(provider.url, other["refresh_token"]).json()["error"] == "invalid_grant"


def device_start(provider: Provider) -> dict[str, str]:
    resp = httpx.post(
        f"{provider.url}/oauth/device_authorization", data={"client_id": CLI, "scope": "openid profile offline_access"}
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, str] = resp.json()
    assert set(body) >= {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert body["verification_uri"] == f"{provider.url}/device"
    return body


def poll(provider: Provider, device_code: str) -> httpx.Response:
    return httpx.post(
        f"{provider.url}/oauth/token", data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": CLI}
    )


def decide(provider: Provider, b: Browser, user_code: str, decision: str) -> httpx.Response:
    page = b.get(f"/device?user_code={user_code}")
    shown = "".join(ch for ch in user_code.upper() if ch.isalpha())
    assert page.status_code == 200 and f"{shown[:4]}-{shown[4:]}" in page.text
    return b.post_form(
        "/device", {"user_code": user_code, "decision": decision, "csrf_token": b.client.cookies["runyard_csrf"]}
    )


def test_device_flow_answers(provider: Provider) -> None:
    started = device_start(provider)
    assert poll(provider, started["device_code"]).json()["error"] == "authorization_pending"
    assert poll(provider, started["device_code"]).json()["error"] == "slow_down"
    b = provider.browser()
    # Not signed in: the page sends the user to log in and back.
    first = b.get(f"/device?user_code={started['user_code']}")
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=%2Fdevice")
    b.close()
    b = provider.signed_in()
    typo = b.post_form(
        "/device", {"user_code": "BBBB-BBBB", "decision": "approve", "csrf_token": b.client.cookies["runyard_csrf"]}
    )
    assert typo.status_code == 400 and "not valid" in typo.text
    ok = decide(provider, b, started["user_code"].lower().replace("-", " "), "approve")
    assert ok.status_code == 200 and "signed in on your device" in ok.text
    time.sleep(10.5)  # the interval, grown by slow_down
    tokens = poll(provider, started["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert search(provider, tokens.json()["access_token"]) == 200
    assert poll(provider, started["device_code"]).status_code == 400

    denied = device_start(provider)
    assert decide(provider, b, denied["user_code"], "deny").status_code == 200
    assert poll(provider, denied["device_code"]).json()["error"] == "access_denied"
    assert decide(provider, b, denied["user_code"], "approve").status_code == 400

    expired = device_start(provider)
    engine = create_engine(provider.store_uri)
    with engine.begin() as conn:
        conn.execute(
            update(schema.oauth_device_codes)
            .where(schema.oauth_device_codes.c.user_code == expired["user_code"])
            .values(expires_at=0)
        )
    engine.dispose()
    assert poll(provider, expired["device_code"]).json()["error"] == "expired_token"
    late = decide(provider, b, expired["user_code"], "approve")
    assert late.status_code == 400 and "expired" in late.text
    b.close()


def test_token_endpoint_errors_are_rfc_shaped(provider: Provider) -> None:
    url = f"{provider.url}/oauth/token"
    for data, error in [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": CLI}, "invalid_grant"),
        (
            {"grant_type": "authorization_code", "code": "x", "client_id": CLI, "code_verifier": "y" * 43},
            "invalid_grant",
        ),
        ({"grant_type": DEVICE_GRANT, "device_code": "x", "client_id": CLI}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "nobody"}, "invalid_client"),
    ]:
        resp = httpx.post(url, data=data)
        assert 400 <= resp.status_code < 500 and resp.json()["error"] == error, (data, resp.text)


def test_a_code_used_twice_revokes_what_the_first_exchange_issued(provider: Provider) -> None:
    b = provider.signed_in()
    redirect = "http://127.0.0.1:40003/cb"
    verifier, challenge = pkce()
    resp = b.authorize(code_request(redirect, challenge))
    b.close()
    code = query_of(resp.headers["location"])["code"]
    first = exchange(provider.url, code, redirect, verifier)
    assert first.status_code == 200
    assert exchange(provider.url, code, redirect, verifier).json()["error"] == "invalid_grant"
    assert refresh(provider.url, first.json()["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_password_change_ends_sign_ins_and_sessions(provider: Provider) -> None:
    name, password = f"pat-{secrets.token_hex(3)}", "first-password-123"
    provider.services.identity.accounts.create_user(Actor.cli(), name, password)
    b = provider.browser()
    b.sign_in(name, password)
    redirect = "http://127.0.0.1:40004/cb"
    verifier, challenge = pkce()
    code = query_of(b.authorize(code_request(redirect, challenge)).headers["location"])["code"]
    tokens = exchange(provider.url, code, redirect, verifier).json()
    provider.services.identity.accounts.set_password(Actor.cli(), name, "second-password-456")
    assert refresh(provider.url, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    deadline = time.monotonic() + REVOCATION_SECONDS
    while b.get("/api/2.0/mlflow/experiments/search?max_results=1").status_code == 200:
        assert time.monotonic() < deadline, "the browser session outlived the password change"
        time.sleep(0.3)
    b.close()
