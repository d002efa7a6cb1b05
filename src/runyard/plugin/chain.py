"""The credential chain: which bearer token a request to a Runyard server carries.

Per server (base URL), in this order, each step skipped with its reason when it does not apply:

1. a service principal from the environment (`RUNYARD_CLIENT_ID` + `RUNYARD_CLIENT_SECRET`): the
   client-credentials grant, asked again before the token runs out;
2. a token from the environment (`RUNYARD_TOKEN`, then `MLFLOW_TRACKING_TOKEN`), used as it is;
3. the cached login of `runyard login`: its refresh token, rotated at each refresh;
   then, if the server says it runs with `--auth off` (its server-info), no credentials at all;
4. the browser sign-in (authorization code + PKCE), only with a terminal or notebook attached;
5. the device code flow, when no browser could be opened.

Credentials named in the environment are authoritative: when the server refuses them, the chain
stops there rather than signing in as someone else. A stale cached login (refresh refused) is
forgotten and the chain goes on. The access token is kept in memory (never written, never logged)
and renewed before it runs out (less than 20% of its lifetime or 30 s left, whichever is less) and
after a 401 (`invalidate`). One lock per server makes this thread-safe; the interactive steps hold
it, so concurrent requests wait for the one sign-in.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from runyard.plugin import settings
from runyard.plugin.errors import Attempt, LoginFailed, NoCredentials, OAuthError
from runyard.plugin.interactive import browser_login, device_login, open_browser
from runyard.plugin.login_store import LoginStore, StoredLogin
from runyard.plugin.oauth import OAuthClient, TokenSet

SERVICE_PRINCIPAL = "service principal (RUNYARD_CLIENT_ID/RUNYARD_CLIENT_SECRET)"
ENV_TOKEN = "token (RUNYARD_TOKEN/MLFLOW_TRACKING_TOKEN)"
CACHED_LOGIN = "cached login (runyard login)"
BROWSER = "browser sign-in"
DEVICE = "device code sign-in"
# A server started with `--auth off` (its server-info says so): requests carry no credentials.
NO_AUTH = "no credentials (a server with --auth off)"
METHODS = (SERVICE_PRINCIPAL, ENV_TOKEN, CACHED_LOGIN, NO_AUTH, BROWSER, DEVICE)

NO_BROWSER_LINE = "No browser could be opened: signing in with a device code instead."
RENEW_FRACTION = 0.2
RENEW_SECONDS = 30.0


class _Stop(Exception):
    """A step that applied and failed for good: the chain ends with its reason."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


class _Skip(Exception):
    """A step that did not apply, or failed in a way a later step may make good."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


@dataclass
class Credential:
    """The token in use and how it was got. `renew` gets a fresh one from the same source (None:
    a static token)."""

    method: str
    access_token: str
    lifetime: float | None
    obtained: float
    expires_at: float | None
    renew: Callable[[], Credential] | None = field(default=None, repr=False)
    user: str | None = None

    def due(self, now: float) -> bool:
        if self.lifetime is None:
            return False
        margin = min(RENEW_SECONDS, RENEW_FRACTION * self.lifetime)
        return now >= self.obtained + self.lifetime - margin


def _claims(jwt: str | None) -> dict[str, object]:
    """A JWT's payload, unverified (only to show a name; the server verifies tokens)."""
    if not jwt or jwt.count(".") != 2:
        return {}
    payload = jwt.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def user_of(tokens: TokenSet) -> str | None:
    for jwt in (tokens.id_token, tokens.access_token):
        claims = _claims(jwt)
        for key in ("preferred_username", "name", "sub"):
            value = claims.get(key)
            if isinstance(value, str) and value:
                return value
    return None


class ServerCredentials:
    """The credential chain for one server."""

    def __init__(
        self,
        base_url: str,
        *,
        env: Mapping[str, str] | None = None,
        store: LoginStore | None = None,
        client: OAuthClient | None = None,
        interactive: Callable[[], tuple[bool, str]] | None = None,
        out: TextIO | None = None,
        opener: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self._env = env
        self._store = store
        self.client = client or OAuthClient(self.base_url)
        self._interactive = interactive
        self._out = out
        self._opener = opener or open_browser
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        self._current: Credential | None = None
        self.attempts: list[Attempt] = []

    @property
    def env(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    @property
    def store(self) -> LoginStore:
        if self._store is None:
            self._store = LoginStore()
        return self._store

    @property
    def out(self) -> TextIO:
        return self._out or sys.stderr

    # -- the public face -------------------------------------------------------------------------

    def credential(self, *, allow_interactive: bool = True) -> Credential:
        """The credential to send now (renewed or resolved as needed)."""
        with self._lock:
            current = self._current
            if current is not None and not current.due(self._clock()):
                return current
            if current is not None and current.renew is not None:
                try:
                    self._current = current.renew()
                    return self._current
                except _Skip:
                    self._current = None  # e.g. the refresh token was revoked: resolve afresh
                except _Stop as e:
                    self._current = None
                    raise NoCredentials(self.base_url, [Attempt(current.method, e.outcome)]) from None
            elif current is not None:
                return current  # a static token: it is what it is
            self._current = self._resolve(allow_interactive=allow_interactive)
            return self._current

    def token(self) -> str:
        return self.credential().access_token

    def invalidate(self, access_token: str) -> bool:
        """The server refused `access_token` (401): renew at the next call. False when nothing
        new can come of it (a static token, or another one is already in use)."""
        with self._lock:
            current = self._current
            if current is None or current.access_token != access_token:
                return current is not None
            if current.renew is None:
                return False
            current.lifetime, current.obtained = 0.0, float("-inf")
            return True

    def forget(self) -> None:
        with self._lock:
            self._current = None

    def adopt(self, tokens: TokenSet, method: str) -> Credential:
        """Use (and cache the refresh token of) tokens from an explicit `runyard login`."""
        with self._lock:
            self._current = self._from_login(tokens, method)
            return self._current

    # -- the chain -------------------------------------------------------------------------------

    def _resolve(self, *, allow_interactive: bool) -> Credential:
        steps: list[tuple[str, Callable[[], Credential]]] = [
            (SERVICE_PRINCIPAL, self._service_principal),
            (ENV_TOKEN, self._env_token),
            (CACHED_LOGIN, self._cached_login),
            (NO_AUTH, self._no_auth),
            (BROWSER, lambda: self._browser(allow_interactive)),
            (DEVICE, lambda: self._device(allow_interactive)),
        ]
        attempts: list[Attempt] = []
        self.attempts = attempts
        for method, step in steps:
            try:
                found = step()
            except _Skip as e:
                attempts.append(Attempt(method, e.outcome))
                continue
            except _Stop as e:
                attempts.append(Attempt(method, e.outcome))
                raise NoCredentials(self.base_url, attempts) from None
            attempts.append(Attempt(method, "used"))
            return found
        raise NoCredentials(self.base_url, attempts)

    def _no_auth(self) -> Credential:
        """Before any interactive step: a server with `--auth off` needs no sign-in at all."""
        if not self.client.authentication_off():
            raise _Skip("the server requires sign-in")
        return Credential(method=NO_AUTH, access_token="", lifetime=None, obtained=self._clock(), expires_at=None)

    def _service_principal(self) -> Credential:
        client_id = self.env.get(settings.CLIENT_ID_VAR, "").strip()
        secret = self.env.get(settings.CLIENT_SECRET_VAR, "")
        if not client_id and not secret:
            raise _Skip(f"{settings.CLIENT_ID_VAR} and {settings.CLIENT_SECRET_VAR} are not set")
        if not client_id or not secret:
            missing = settings.CLIENT_SECRET_VAR if client_id else settings.CLIENT_ID_VAR
            raise _Stop(f"{missing} is not set (both are needed)")
        return self._grant(client_id, secret)

    def _grant(self, client_id: str, secret: str) -> Credential:
        try:
            tokens = self.client.client_credentials(client_id, secret)
        except OAuthError as e:
            raise _Stop(f"the server refused them ({e})") from None
        return Credential(
            method=SERVICE_PRINCIPAL,
            access_token=tokens.access_token,
            lifetime=tokens.expires_in,
            obtained=self._clock(),
            expires_at=tokens.expires_at,
            renew=lambda: self._grant(client_id, secret),
            user=client_id,
        )

    def _env_token(self) -> Credential:
        for name in settings.TOKEN_VARS:
            value = self.env.get(name, "").strip()
            if value:
                method = f"token ({name})"
                return Credential(method, value, None, self._clock(), None)
        raise _Skip(" and ".join(settings.TOKEN_VARS) + " are not set")

    def _cached_login(self) -> Credential:
        if self.store.get(self.base_url) is None:
            raise _Skip(f"no `runyard login` for {self.base_url} in {self.store.path}")
        return self._refresh(None, CACHED_LOGIN)

    def _refresh(self, held: str | None, method: str) -> Credential:
        """Refresh with the newest refresh token, the stored one (another process may have rotated
        it since `held` was got); the new one is stored at once."""
        with self.store.locked():
            stored = self.store.get(self.base_url)
            if stored is None:
                # Signed out meanwhile (`runyard logout` elsewhere): the login ends here too.
                where = "" if held is None else " (signed out since)"
                raise _Skip(f"no `runyard login` for {self.base_url}{where}")
            refresh_token = stored.refresh_token
            try:
                tokens = self.client.refresh(refresh_token)
            except OAuthError as e:
                if e.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
                    if stored.refresh_token == refresh_token:
                        self.store.delete(self.base_url)
                    raise _Skip(f"the login for {self.base_url} has expired or was revoked ({e.error})") from None
                raise _Stop(f"the refresh failed ({e})") from None
            self._save(tokens, stored.user, make_last=False)
        return self._from_login(tokens, method, known_user=stored.user, saved=True)

    def _save(self, tokens: TokenSet, user: str | None, *, make_last: bool) -> None:
        if tokens.refresh_token:
            login = StoredLogin(self.base_url, tokens.refresh_token, user_of(tokens) or user, tokens.scope)
            self.store.put(login, make_last=make_last)

    def _from_login(
        self, tokens: TokenSet, method: str, *, known_user: str | None = None, saved: bool = False
    ) -> Credential:
        if not saved:
            with self.store.locked():
                self._save(tokens, known_user, make_last=True)
        held = tokens.refresh_token
        return Credential(
            method=method,
            access_token=tokens.access_token,
            lifetime=tokens.expires_in,
            obtained=self._clock(),
            expires_at=tokens.expires_at,
            renew=(lambda: self._refresh(held, method)) if held else None,
            user=user_of(tokens) or known_user,
        )

    def _can_prompt(self, allow: bool) -> None:
        if not allow:
            raise _Skip("not tried here (non-interactive)")
        attached, why = (self._interactive or (lambda: settings.interactive(self.env)))()
        if not attached:
            raise _Skip(why)

    def _browser(self, allow: bool) -> Credential:
        self._can_prompt(allow)
        try:
            tokens = browser_login(self.client, self.out, opener=self._opener)
        except LoginFailed as e:
            raise _Stop(str(e)) from None
        except OAuthError as e:
            raise _Skip(f"the server offers no browser sign-in ({e})") from None
        if tokens is None:
            self.out.write(NO_BROWSER_LINE + "\n")
            raise _Skip("no web browser could be opened")
        return self._from_login(tokens, BROWSER)

    def _device(self, allow: bool) -> Credential:
        self._can_prompt(allow)
        try:
            tokens = device_login(self.client, self.out, sleep=self._sleep)
        except LoginFailed as e:
            raise _Stop(str(e)) from None
        except OAuthError as e:
            raise _Skip(f"the server offers no device sign-in ({e})") from None
        return self._from_login(tokens, DEVICE)


_servers: dict[str, ServerCredentials] = {}
_servers_lock = threading.Lock()


def reset() -> None:
    """Forget every server's credentials in this process (tests; a changed environment)."""
    with _servers_lock:
        _servers.clear()


def for_server(base_url: str) -> ServerCredentials:
    """The process-wide chain of `base_url` (one per server, so its token is shared by every store)."""
    key = base_url.rstrip("/")
    with _servers_lock:
        found = _servers.get(key)
        if found is None:
            found = _servers[key] = ServerCredentials(key)
        return found
