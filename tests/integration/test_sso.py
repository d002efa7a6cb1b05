"""Single sign-on between two live servers: a provider Runyard (OpenID provider, `--auth on`) and a
relying-party Runyard started with `--oidc-*` flags pointing at it, the browser driven by hand
with one `httpx.Client` per host (cookie jars ignore ports and both servers name their cookie
`runyard_session`, so the provider is `localhost` and the relying party `127.0.0.1`).

Checked: the login page's "Sign in with ..." link; the first sign-in creating a linked user without
admin rights, in the roles the provider's `roles` claim names; the second reusing that user and
keeping the roles in step without touching a membership an administrator made; the admin claim,
re-applied at every sign-in; a name collision with an unlinked local user refused; a wrong `state`
and the provider's `error=access_denied` each answered with one clear page; the client secret in
no log; the start-up refusals of incomplete settings; redirect URI validation of `runyard sp`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from runyard.config import Settings
from runyard.domain.identity import Principal
from runyard.services.container import Services
from runyard.services.identity.audit import Actor
from runyard.store.identity import upstream as upstream_store
from tests.conftest import ServerProcess

PROVIDER_ADMIN_PASSWORD = "provider-admin-password"
RP_ADMIN_PASSWORD = "relying-party-admin-pw"
PASSWORD = "a-long-user-password"
SECRET_VARIABLE = "RP_OIDC_CLIENT_SECRET"
CLI = Actor.cli()


@dataclass
class World:
    provider: ServerProcess
    rp: ServerProcess
    provider_services: Services
    rp_services: Services
    client_secret: str

    @property
    def provider_url(self) -> str:
        return f"http://localhost:{self.provider.port}"

    @property
    def issuer(self) -> str:
        return self.provider_url

    def rp_user(self, name: str) -> Principal:
        return self.rp_services.identity.accounts.get(name)

    def rp_roles(self, name: str) -> list[str]:
        return [f"{r.workspace}/{r.name}" for r in self.rp_services.identity.grants.roles_of(name)]

    def linked(self, principal_id: int) -> bool:
        with self.rp_services.db.read() as conn:
            return upstream_store.is_linked(conn, principal_id)


def _runyard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    return subprocess.run(
        [sys.executable, "-m", "runyard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    provider_dir = tmp_path_factory.mktemp("sso-provider")
    rp_dir = tmp_path_factory.mktemp("sso-rp")
    provider = ServerProcess(
        data_dir=provider_dir,
        extra_env={"RUNYARD_ADMIN_PASSWORD": PROVIDER_ADMIN_PASSWORD},
        extra_args=["--auth", "on"],
    ).start()
    rp = ServerProcess(data_dir=rp_dir, extra_env={"RUNYARD_ADMIN_PASSWORD": RP_ADMIN_PASSWORD})
    provider_services = Services.build(Settings(data_dir=provider_dir))
    try:
        accounts, grants = provider_services.identity.accounts, provider_services.identity.grants
        for name in ("alice", "boss", "carol"):
            accounts.create_user(CLI, name, PASSWORD, is_admin=name == "boss")
        provider_services.workspaces.create("team", operator=True)
        readers = grants.create_role(CLI, "team", "readers", None)
        grants.assign(CLI, readers.id, "alice")
        ghost = grants.create_role(CLI, "default", "ghost", None)  # no such role at the relying party
        grants.assign(CLI, ghost.id, "alice")

        # Register the relying party at the provider with the command line.
        created = _runyard(
            "sp",
            "create",
            "relying-party",
            "--redirect-uri",
            f"http://127.0.0.1:{rp.port}/login/sso/callback",
            "--json",
            "--data-dir",
            str(provider_dir),
        )
        assert created.returncode == 0, created.stderr
        registration = json.loads(created.stdout)

        rp.extra_env[SECRET_VARIABLE] = registration["client_secret"]
        rp.extra_args = [
            "--auth",
            "on",
            "--oidc-issuer",
            f"http://localhost:{provider.port}",
            "--oidc-client-id",
            registration["client_id"],
            "--oidc-client-secret-env",
            SECRET_VARIABLE,
            "--oidc-admin-claim",
            "is_admin=true",
            "--oidc-role-claim",
            "roles",
            "--log-level",
            "debug",
            "--access-log",
        ]
        rp.start()
        rp_services = Services.build(Settings(data_dir=rp_dir))
        try:
            rp_services.workspaces.create("team", operator=True)
            for role in ("readers", "writers"):
                rp_services.identity.grants.create_role(CLI, "team", role, None)
            rp_services.identity.accounts.create_user(CLI, "carol", PASSWORD)
            yield World(provider, rp, provider_services, rp_services, registration["client_secret"])
        finally:
            rp_services.close()
            assert rp.stop() == 0, rp.log()[-3000:]
    finally:
        provider_services.close()
        assert provider.stop() == 0, provider.log()[-3000:]


class Browser:
    """One cookie jar per host, redirects followed by hand across them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, httpx.Client] = {}

    def client(self, url: str) -> httpx.Client:
        host = urlsplit(url).netloc
        if host not in self.clients:
            self.clients[host] = httpx.Client(timeout=30)
        return self.clients[host]

    def get(self, url: str, hops: int = 12) -> tuple[httpx.Response, str]:
        """The first answer that is not a redirect, and its URL."""
        for _ in range(hops):
            resp = self.client(url).get(url)
            if resp.status_code not in (301, 302, 303, 307, 308):
                return resp, url
            url = urljoin(url, resp.headers["location"])
        raise AssertionError(f"too many redirects, last {url}")

    def post_form(self, url: str, data: dict[str, str]) -> tuple[httpx.Response, str]:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        resp = self.client(url).post(url, data=data, headers={"Origin": origin})
        if resp.status_code in (302, 303):
            return self.get(urljoin(url, resp.headers["location"]))
        return resp, url

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def sign_in(world: World, name: str, password: str = PASSWORD) -> httpx.Response:
    """The whole flow from the relying party's "Sign in with ..." link: the provider's login form,
    back to the relying party. The last page the relying party shows (or a refusal page)."""
    browser = Browser(world)
    try:
        page, url = browser.get(f"{world.rp.url}/login/sso?next=/login")
        assert url.startswith(f"{world.provider_url}/login?"), url
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        next_path = re.search(r'name="next" value="([^"]+)"', page.text)
        assert csrf and next_path, page.text
        form = {
            "csrf_token": csrf.group(1),
            "next": next_path.group(1).replace("&amp;", "&"),
            "username": name,
            "password": password,
        }
        final, final_url = browser.post_form(f"{world.provider_url}/login", form)
        assert final_url.startswith(world.rp.url), (final_url, final.text[:500])
        return final
    finally:
        browser.close()


def assert_clear_page(resp: httpx.Response, status: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("text/html")
    assert text in resp.text, resp.text
    assert "Traceback" not in resp.text and "Internal Server Error" not in resp.text


def test_login_page_offers_single_sign_on(world: World) -> None:
    page = httpx.get(f"{world.rp.url}/login?next=/oauth/authorize%3Fx%3D1")
    assert page.status_code == 200
    assert f"Sign in with localhost:{world.provider.port}" in page.text
    assert 'href="/login/sso?next=%2Foauth%2Fauthorize%3Fx%3D1"' in page.text
    # The provider itself has no upstream: no such link, and its /login/sso says so.
    assert "Sign in with" not in httpx.get(f"{world.provider_url}/login").text
    assert_clear_page(httpx.get(f"{world.provider_url}/login/sso"), 404, "not configured")


def test_first_sign_in_creates_a_linked_user_in_the_named_roles(world: World) -> None:
    final = sign_in(world, "alice")
    assert final.status_code == 200 and "Signed in as <b>alice</b>" in final.text, final.text
    alice = world.rp_user("alice")
    assert alice.kind == "user" and not alice.is_admin and alice.enabled
    assert world.linked(alice.id)
    assert world.rp_roles("alice") == ["team/readers"]  # default/ghost does not exist here
    events = world.rp_services.identity.audit.query(action="auth.sso")
    assert any(e.actor == "alice" and e.resource == f"sign-in through {world.issuer}" for e in events)
    assigned = world.rp_services.identity.audit.query(action="role.assign", actor="alice")
    assert [e.detail for e in assigned] == ["single sign-on"]
    # No password: the local login form does not let anyone in as alice.
    assert httpx.get(f"{world.rp.url}/api/2.0/mlflow/experiments/search", auth=("alice", "")).status_code == 401


def test_second_sign_in_reuses_the_user_and_keeps_roles_in_step(world: World) -> None:
    first = world.rp_user("alice")
    # An administrator here gives alice another role; the provider drops her from readers.
    writers = world.rp_services.identity.grants.role_by_name("team", "writers")
    world.rp_services.identity.grants.assign(CLI, writers.id, "alice")
    provider_readers = world.provider_services.identity.grants.role_by_name("team", "readers")
    world.provider_services.identity.grants.unassign(CLI, provider_readers.id, "alice")

    final = sign_in(world, "alice")
    assert "Signed in as <b>alice</b>" in final.text, final.text
    again = world.rp_user("alice")
    assert again.id == first.id
    assert [p.name for p in world.rp_services.identity.accounts.list("user")].count("alice") == 1
    # readers (single sign-on's) removed; writers (the administrator's) left alone.
    assert world.rp_roles("alice") == ["team/writers"]

    world.provider_services.identity.grants.assign(CLI, provider_readers.id, "alice")
    sign_in(world, "alice")
    assert world.rp_roles("alice") == ["team/readers", "team/writers"]


def test_admin_claim_is_applied_at_every_sign_in(world: World) -> None:
    final = sign_in(world, "boss")
    assert "Signed in as <b>boss</b>" in final.text, final.text
    assert world.rp_user("boss").is_admin
    world.provider_services.identity.accounts.set_admin(CLI, "boss", False)
    sign_in(world, "boss")
    assert not world.rp_user("boss").is_admin
    changes = world.rp_services.identity.audit.query(action="user.admin", actor="boss")
    assert sorted((e.detail or "").split()[0] for e in changes) == ["false", "true"]


def test_a_name_collision_does_not_take_over_the_local_account(world: World) -> None:
    before = world.rp_user("carol")
    refused = sign_in(world, "carol")
    assert_clear_page(refused, 409, "already exists on this server and is not linked")
    assert "runyard_session" not in refused.headers.get("set-cookie", "")
    after = world.rp_user("carol")
    assert after == before and not world.linked(after.id)
    # The local account still signs in with its own password.
    resp = httpx.get(f"{world.rp.url}/api/2.0/mlflow/experiments/search", auth=("carol", PASSWORD))
    assert resp.status_code != 401, resp.text


def test_a_wrong_state_gets_one_clear_page(world: World) -> None:
    resp = httpx.get(f"{world.rp.url}/login/sso/callback", params={"code": "x" * 20, "state": "not-a-state"})
    assert_clear_page(resp, 400, "not started in this browser")
    browser = Browser(world)
    try:
        browser.client(world.rp.url).get(f"{world.rp.url}/login/sso?next=/login")  # a state of its own
        jar = browser.client(world.rp.url).cookies
        jar.set("runyard_sso_state", "not-a-state", domain="127.0.0.1", path="/login/sso")
        page, _ = browser.get(f"{world.rp.url}/login/sso/callback?code={'x' * 20}&state=not-a-state")
        assert_clear_page(page, 400, "not valid or has expired")
    finally:
        browser.close()
    resp = httpx.get(f"{world.rp.url}/login/sso/callback", params={"code": "x" * 20})
    assert_clear_page(resp, 400, "lacks its code or state")


def test_the_providers_access_denied_gets_one_clear_page(world: World) -> None:
    browser = Browser(world)
    try:
        start = browser.client(world.rp.url).get(f"{world.rp.url}/login/sso?next=/login")
        assert start.status_code == 303
        upstream = start.headers["location"]
        assert upstream.startswith(f"{world.provider_url}/oauth/authorize?")
        query = dict(httpx.URL(upstream).params)
        assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
        assert query["redirect_uri"] == f"{world.rp.url}/login/sso/callback"
        # "Cancel" on the provider's login page.
        page, url = browser.get(upstream + "&runyard_cancel=1")
        assert url.startswith(f"{world.rp.url}/login/sso/callback?") and "error=access_denied" in url
        assert_clear_page(page, 400, "cancelled or refused at the provider")
        # The state is spent: it cannot be finished afterwards.
        replay, _ = browser.get(f"{world.rp.url}/login/sso/callback?code={'x' * 20}&state={query['state']}")
        assert_clear_page(replay, 400, "not valid or has expired")
    finally:
        browser.close()


def test_a_callback_url_from_another_browser_is_refused(world: World) -> None:
    """Login CSRF: the attacker signs in at the provider as themself and sends the victim the
    callback URL; the victim's browser did not start that sign-in, so it is not signed in."""
    attacker, victim = Browser(world), Browser(world)
    try:
        page, _ = attacker.get(f"{world.rp.url}/login/sso?next=/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        next_path = re.search(r'name="next" value="([^"]+)"', page.text)
        assert csrf and next_path, page.text
        form = {"csrf_token": csrf.group(1), "next": next_path.group(1).replace("&amp;", "&")}
        provider = attacker.client(world.provider_url)
        signed_in = provider.post(
            f"{world.provider_url}/login",
            data={**form, "username": "alice", "password": PASSWORD},
            headers={"Origin": world.provider_url},
        )
        assert signed_in.status_code == 303
        back = provider.get(urljoin(world.provider_url, signed_in.headers["location"]))
        callback = back.headers["location"]
        assert callback.startswith(f"{world.rp.url}/login/sso/callback?code=")
        page, _ = victim.get(callback)
        assert_clear_page(page, 400, "not started in this browser")
        assert "runyard_session" not in victim.client(world.rp.url).cookies
        # The URL itself was good: the browser that started the sign-in completes it.
        done, done_url = attacker.get(callback)
        assert done.status_code == 200 and done_url.startswith(world.rp.url), done.text[:300]
    finally:
        attacker.close()
        victim.close()


def test_the_client_secret_is_in_no_log(world: World) -> None:
    assert sign_in(world, "alice").status_code == 200  # at least one code exchange logged at debug level
    for log in (world.rp.log(), world.provider.log()):
        assert world.client_secret not in log
        assert "Traceback" not in log


def test_incomplete_settings_refuse_to_start(tmp_path: Path) -> None:
    base = ["server", "--data-dir", str(tmp_path), "--port", "0", "--auth", "on"]
    issuer = ["--oidc-issuer", "http://localhost:1", "--oidc-client-id", "rp", "--oidc-client-secret-env"]
    empty = _runyard(*base, *issuer, "SSO_TEST_EMPTY_SECRET", env={"SSO_TEST_EMPTY_SECRET": ""})
    assert empty.returncode == 1 and "SSO_TEST_EMPTY_SECRET is not set or empty" in empty.stderr, empty.stderr
    no_client = _runyard(*base, "--oidc-issuer", "http://localhost:1")
    assert no_client.returncode == 1, no_client.stderr
    assert "--oidc-issuer needs --oidc-client-id and --oidc-client-secret-env" in no_client.stderr
    for result in (empty, no_client):
        assert "Traceback" not in result.stderr


def test_redirect_uris_are_validated_by_the_command_line(tmp_path: Path) -> None:
    store = ["--data-dir", str(tmp_path)]
    bad = _runyard("sp", "create", "app", "--redirect-uri", "https://app.example.com/cb#frag", *store)
    assert bad.returncode == 1 and "must not have a fragment" in bad.stderr, bad.stderr
    relative = _runyard("sp", "create", "app", "--redirect-uri", "/cb", *store)
    assert relative.returncode == 1 and "absolute http(s) URL" in relative.stderr, relative.stderr
    assert _runyard("sp", "create", "app", *store).returncode == 0
    updated = _runyard("sp", "update", "app", "--redirect-uri", "https://app.example.com/cb", "--json", *store)
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout) == {"name": "app", "redirect_uris": ["https://app.example.com/cb"]}
    cleared = _runyard("sp", "update", "app", "--no-redirect-uris", "--json", *store)
    assert json.loads(cleared.stdout)["redirect_uris"] == []
