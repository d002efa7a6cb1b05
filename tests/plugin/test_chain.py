"""The credential chain without a network: the order of the five steps, the reason each is skipped
for, the one error that lists them all, renewal before expiry and after a 401, refresh-token
rotation into the cached login, and the interactive steps (browser, then device) when allowed."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.plugin import chain
from runyard.plugin.chain import (
    BROWSER,
    CACHED_LOGIN,
    DEVICE,
    ENV_TOKEN,
    METHODS,
    NO_AUTH,
    SERVICE_PRINCIPAL,
    Credential,
    ServerCredentials,
)
from runyard.plugin.errors import NoCredentials, OAuthError
from runyard.plugin.login_store import LoginStore, StoredLogin
from runyard.plugin.oauth import DeviceGrant, Endpoints, OAuthClient, TokenSet

BASE = "http://runyard.test:5000"


class FakeOAuth(OAuthClient):
    """The server's token endpoint, in memory: counts grants, rotates refresh tokens."""

    def __init__(self, lifetime: float | None = 60.0):
        super().__init__(BASE)
        self.lifetime = lifetime
        self.issued = 0
        self.valid_refresh: set[str] = set()
        self.presented: list[str] = []
        self.secret = "s3cret"
        self.device_answers: list[str] = []
        self.lock = threading.Lock()

    def endpoints(self) -> Endpoints:
        return Endpoints(BASE + "/t", BASE + "/a", BASE + "/d", BASE + "/r", BASE + "/u", True)

    auth_off = False

    def authentication_off(self) -> bool:
        return self.auth_off

    def _new(self, *, refresh: bool) -> TokenSet:
        with self.lock:
            self.issued += 1
            n = self.issued
        token = None
        if refresh:
            token = f"rt-{n}"
            self.valid_refresh.add(token)
        return TokenSet(f"at-{n}", self.lifetime, time.monotonic(), time.time(), token)

    def client_credentials(self, client_id: str, client_secret: str) -> TokenSet:
        if client_secret != self.secret:
            raise OAuthError("invalid_client", "Client authentication failed.", 401)
        return self._new(refresh=False)

    def refresh(self, refresh_token: str) -> TokenSet:
        self.presented.append(refresh_token)
        if refresh_token not in self.valid_refresh:
            raise OAuthError("invalid_grant", "spent or revoked", 400)
        self.valid_refresh.discard(refresh_token)
        return self._new(refresh=True)

    def device_authorization(self, scope: str = "") -> DeviceGrant:
        return DeviceGrant("dc", "ABCD-EFGH", BASE + "/device", BASE + "/device?user_code=ABCD-EFGH", 600, 0.01)

    def poll_device(self, device_code: str) -> TokenSet:
        if self.device_answers:
            raise OAuthError(self.device_answers.pop(0), "", 400)
        return self._new(refresh=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> LoginStore:
    return LoginStore(tmp_path / "config")


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    chain.reset()
    yield
    chain.reset()


def make(
    env: dict[str, str],
    store: LoginStore,
    client: FakeOAuth | None = None,
    *,
    interactive: bool = False,
    opener_ok: bool = False,
    clock: Clock | None = None,
) -> tuple[ServerCredentials, FakeOAuth, io.StringIO]:
    fake = client or FakeOAuth()
    out = io.StringIO()
    creds = ServerCredentials(
        BASE,
        env=env,
        store=store,
        client=fake,
        interactive=lambda: (
            interactive,
            "a terminal is attached" if interactive else "no terminal or notebook is attached",
        ),
        out=out,
        opener=lambda url: opener_ok,
        clock=clock or Clock(),
        sleep=lambda seconds: None,
    )
    return creds, fake, out


def logged_in(store: LoginStore, fake: FakeOAuth) -> str:
    token = fake._new(refresh=True).refresh_token
    assert token is not None
    store.put(StoredLogin(BASE, token, "alice"))
    return token


SP_ENV = {"RUNYARD_CLIENT_ID": "ryd_sp_1", "RUNYARD_CLIENT_SECRET": "s3cret"}


def test_service_principal_comes_first(store: LoginStore) -> None:
    fake = FakeOAuth()
    logged_in(store, fake)
    creds, _, _ = make({**SP_ENV, "RUNYARD_TOKEN": "pat"}, store, fake)
    credential = creds.credential()
    assert credential.method == SERVICE_PRINCIPAL
    assert [a.method for a in creds.attempts] == [SERVICE_PRINCIPAL]


def test_runyard_token_before_mlflow_token_before_the_cached_login(store: LoginStore) -> None:
    fake = FakeOAuth()
    logged_in(store, fake)
    creds, _, _ = make({"RUNYARD_TOKEN": "pat-1", "MLFLOW_TRACKING_TOKEN": "pat-2"}, store, fake)
    assert creds.token() == "pat-1"
    assert creds.attempts[0].outcome == "RUNYARD_CLIENT_ID and RUNYARD_CLIENT_SECRET are not set"
    creds, _, _ = make({"MLFLOW_TRACKING_TOKEN": "pat-2"}, store, fake)
    assert creds.credential().method == "token (MLFLOW_TRACKING_TOKEN)"
    assert creds.token() == "pat-2"
    creds, _, _ = make({}, store, fake)
    assert creds.credential().method == CACHED_LOGIN
    assert [a.method for a in creds.attempts] == [SERVICE_PRINCIPAL, ENV_TOKEN, CACHED_LOGIN]


def test_every_step_failing_gives_one_line_naming_each(store: LoginStore) -> None:
    creds, _, _ = make({}, store)
    with pytest.raises(NoCredentials) as caught:
        creds.credential()
    message = str(caught.value)
    assert "\n" not in message
    assert [a.method for a in caught.value.attempts] == list(METHODS)
    assert [a.outcome for a in caught.value.attempts] == [
        "RUNYARD_CLIENT_ID and RUNYARD_CLIENT_SECRET are not set",
        "RUNYARD_TOKEN and MLFLOW_TRACKING_TOKEN are not set",
        f"no `runyard login` for {BASE} in {store.path}",
        "the server requires sign-in",
        "no terminal or notebook is attached",
        "no terminal or notebook is attached",
    ]
    for method in METHODS:
        assert method in message
    assert f"runyard login {BASE}" in message


def test_a_half_configured_service_principal_stops_the_chain(store: LoginStore) -> None:
    creds, _, _ = make({"RUNYARD_CLIENT_ID": "ryd_sp_1", "RUNYARD_TOKEN": "pat"}, store)
    with pytest.raises(NoCredentials, match="RUNYARD_CLIENT_SECRET is not set"):
        creds.credential()


def test_a_refused_service_principal_does_not_fall_through(store: LoginStore) -> None:
    creds, _, _ = make({**SP_ENV, "RUNYARD_CLIENT_SECRET": "wrong", "RUNYARD_TOKEN": "pat"}, store)
    with pytest.raises(NoCredentials) as caught:
        creds.credential()
    assert caught.value.attempts[-1].method == SERVICE_PRINCIPAL
    assert "invalid_client" in caught.value.attempts[-1].outcome
    assert "wrong" not in str(caught.value)


@pytest.mark.parametrize(("lifetime", "fresh_until"), [(5.0, 4.0), (100.0, 80.0), (3600.0, 3570.0)])
def test_renewal_before_expiry(store: LoginStore, lifetime: float, fresh_until: float) -> None:
    clock = Clock()
    creds, fake, _ = make(SP_ENV, store, FakeOAuth(lifetime), clock=clock)
    first = creds.token()
    clock.now += fresh_until - 0.01
    assert creds.token() == first
    clock.now += 0.02
    assert creds.token() != first
    assert fake.issued == 2


def test_a_static_token_is_never_renewed_and_a_401_cannot_help(store: LoginStore) -> None:
    clock = Clock()
    creds, _, _ = make({"RUNYARD_TOKEN": "pat"}, store, clock=clock)
    assert creds.token() == "pat"
    clock.now += 10**7
    assert creds.token() == "pat"
    assert creds.invalidate("pat") is False


def test_invalidate_renews_only_the_token_that_was_refused(store: LoginStore) -> None:
    creds, fake, _ = make(SP_ENV, store)
    first = creds.token()
    assert creds.invalidate("some-older-token") is True  # another thread already renewed: retry with it
    assert creds.token() == first
    assert creds.invalidate(first) is True
    assert creds.token() != first
    assert fake.issued == 2


def test_refresh_rotation_is_stored_every_time(store: LoginStore) -> None:
    clock = Clock()
    fake = FakeOAuth(lifetime=10)
    original = logged_in(store, fake)
    creds, _, _ = make({}, store, fake, clock=clock)
    tokens = {creds.token()}
    for _ in range(3):
        clock.now += 9
        tokens.add(creds.token())
    assert len(tokens) == 4
    stored = store.get(BASE)
    assert stored is not None and stored.user == "alice"
    assert stored.refresh_token in fake.valid_refresh  # the newest, unspent one
    assert original not in fake.valid_refresh
    assert len(fake.presented) == len(set(fake.presented)) == 4  # none presented twice


def test_another_process_rotating_the_login_is_followed(store: LoginStore) -> None:
    clock = Clock()
    fake = FakeOAuth(lifetime=10)
    logged_in(store, fake)
    mine, _, _ = make({}, store, fake, clock=clock)
    mine.token()
    other, _, _ = make({}, store, fake, clock=clock)
    other.token()  # rotates the stored refresh token behind `mine`'s back
    clock.now += 9
    mine.token()  # must present the newest (stored) refresh token, not the one it holds
    assert len(fake.presented) == len(set(fake.presented))
    assert store.get(BASE) is not None


def test_a_revoked_login_is_forgotten(store: LoginStore) -> None:
    fake = FakeOAuth()
    logged_in(store, fake)
    fake.valid_refresh.clear()
    creds, _, _ = make({}, store, fake)
    with pytest.raises(NoCredentials) as caught:
        creds.credential()
    assert "has expired or was revoked (invalid_grant)" in caught.value.attempts[2].outcome
    assert store.get(BASE) is None


def test_whoami_style_resolution_never_prompts(store: LoginStore) -> None:
    creds, _, out = make({}, store, interactive=True)
    with pytest.raises(NoCredentials) as caught:
        creds.credential(allow_interactive=False)
    assert caught.value.attempts[4].outcome == "not tried here (non-interactive)"
    assert out.getvalue() == ""


def test_no_browser_falls_back_to_the_device_flow(store: LoginStore) -> None:
    fake = FakeOAuth()
    fake.device_answers = ["authorization_pending", "slow_down", "authorization_pending"]
    creds, _, out = make({}, store, fake, interactive=True, opener_ok=False)
    credential = creds.credential()
    assert credential.method == DEVICE
    assert [(a.method, a.outcome) for a in creds.attempts][4:] == [
        (BROWSER, "no web browser could be opened"),
        (DEVICE, "used"),
    ]
    printed = out.getvalue()
    assert printed.startswith("No browser could be opened: signing in with a device code instead.\n")
    assert f"To sign in to {BASE}, open {BASE}/device and enter the code ABCD-EFGH" in printed
    assert "at-" not in printed and "rt-" not in printed
    assert store.get(BASE) is not None  # the device login is cached like `runyard login`


def test_a_denied_device_sign_in_ends_the_chain(store: LoginStore) -> None:
    fake = FakeOAuth()
    fake.device_answers = ["access_denied"]
    creds, _, _ = make({}, store, fake, interactive=True)
    with pytest.raises(NoCredentials, match="was denied"):
        creds.credential()


def test_an_expired_device_code_ends_the_chain(store: LoginStore) -> None:
    fake = FakeOAuth()
    fake.device_answers = ["authorization_pending", "expired_token"]
    creds, _, _ = make({}, store, fake, interactive=True)
    with pytest.raises(NoCredentials, match="device code expired"):
        creds.credential()


def test_concurrent_requests_share_one_grant(store: LoginStore) -> None:
    creds, fake, _ = make(SP_ENV, store)
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(creds.token())) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and fake.issued == 1


def test_credentials_are_per_server() -> None:
    assert chain.for_server("http://a:1") is chain.for_server("http://a:1/")
    assert chain.for_server("http://a:1") is not chain.for_server("http://a:2")


def test_due_margin() -> None:
    c = Credential("m", "t", lifetime=200.0, obtained=0.0, expires_at=None)
    assert not c.due(169.9) and c.due(170.0)  # 30 s before the end
    c = Credential("m", "t", lifetime=10.0, obtained=0.0, expires_at=None)
    assert not c.due(7.9) and c.due(8.0)  # 20% of the lifetime


def test_signing_out_elsewhere_ends_a_running_login(store: LoginStore) -> None:
    clock = Clock()
    fake = FakeOAuth(lifetime=10)
    logged_in(store, fake)
    creds, _, _ = make({}, store, fake, clock=clock)
    creds.token()
    store.delete(BASE)  # `runyard logout` in another terminal
    clock.now += 9
    with pytest.raises(NoCredentials):
        creds.token()
    assert store.get(BASE) is None  # not written back by the running process


def test_a_server_with_authentication_off_needs_no_sign_in(store: LoginStore) -> None:
    fake = FakeOAuth()
    fake.auth_off = True
    creds, _, _ = make({}, store, fake)
    credential = creds.credential()
    assert credential.method == NO_AUTH and credential.access_token == ""
    assert [a.method for a in creds.attempts] == [SERVICE_PRINCIPAL, ENV_TOKEN, CACHED_LOGIN, NO_AUTH]
