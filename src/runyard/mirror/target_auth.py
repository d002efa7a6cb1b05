"""How the replicator signs its requests to a mirror target.

- `token`: `Authorization: Bearer <token>`;
- `basic`: HTTP basic with the username and password;
- `client_credentials`: an OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against the target's
  token endpoint, found through `<url>/.well-known/oauth-authorization-server`, then
  `<url>/.well-known/openid-configuration` (their `token_endpoint`), else `<url>/oauth/token`.
  The client authenticates with HTTP basic unless the metadata lists only `client_secret_post`.
  The access token is kept until shortly before its `expires_in`; `refresh()` drops it so that the
  next request gets a new one (the caller does that once on a 401).

No secret ever goes into a `TargetError`: `secrets()` lists what the error redactor blanks.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Final

import httpx

from runyard.domain.mirror import TargetCredentials
from runyard.mirror.target_errors import (
    Redactor,
    TargetError,
    error_from_exception,
    error_from_response,
    make_redactor,
)

DISCOVERY_PATHS: Final = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
FALLBACK_TOKEN_PATH: Final = "/oauth/token"
# A token is renewed this long before it expires: a fifth of its lifetime, at most a minute.
MAX_EXPIRY_MARGIN: Final = 60.0


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class TargetAuth:
    """The `Authorization` header for one target's credentials (see the module docstring)."""

    def __init__(self, url: str, credentials: TargetCredentials, client: httpx.Client) -> None:
        self._url = url
        self._credentials = credentials
        self._client = client
        # Blanks every secret of these credentials, the current access token included.
        self.redact: Redactor = make_redactor(self.secrets)
        self._lock = threading.Lock()
        self._token_endpoint: str | None = None
        self._client_auth_post = False
        self._access_token: str | None = None
        self._expires_at: float | None = None
        self.clock: Callable[[], float] = time.monotonic

    @property
    def refreshable(self) -> bool:
        return self._credentials.kind == "client_credentials"

    def secrets(self) -> list[str]:
        c = self._credentials
        found = [c.token, c.password, c.client_secret, self._access_token or ""]
        if c.kind == "basic":
            found.append(_basic(c.username, c.password).split(" ", 1)[1])
        if c.kind == "client_credentials":
            found.append(_basic(c.client_id, c.client_secret).split(" ", 1)[1])
        return [s for s in found if s]

    def header(self) -> str | None:
        """The `Authorization` value for the next request (fetching an access token if needed)."""
        c = self._credentials
        if c.kind == "token":
            return f"Bearer {c.token}"
        if c.kind == "basic":
            return _basic(c.username, c.password)
        if c.kind == "client_credentials":
            return f"Bearer {self._current_token()}"
        return None

    def refresh(self, rejected: str | None) -> None:
        """Forget the access token the target rejected (`rejected`, the header it got), unless
        another thread already replaced it."""
        with self._lock:
            if rejected is None or rejected == f"Bearer {self._access_token}":
                self._access_token = None
                self._expires_at = None

    def _current_token(self) -> str:
        with self._lock:
            now = self.clock()
            if self._access_token is not None and (self._expires_at is None or now < self._expires_at):
                return self._access_token
            token, lifetime = self._request_token()
            self._access_token = token
            self._expires_at = None if lifetime is None else now + lifetime - min(MAX_EXPIRY_MARGIN, lifetime / 5)
            return token

    def _discover(self) -> str:
        if self._token_endpoint is not None:
            return self._token_endpoint
        for path in DISCOVERY_PATHS:
            try:
                response = self._client.get(self._url + path, headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                raise error_from_exception("GET", path, exc, self.redact) from None
            if response.status_code >= 500:
                raise error_from_response("GET", path, response, self.redact)
            if response.status_code != 200:
                continue
            try:
                metadata = response.json()
            except ValueError:
                continue
            endpoint = metadata.get("token_endpoint") if isinstance(metadata, dict) else None
            if isinstance(endpoint, str) and endpoint.startswith(("http://", "https://")):
                methods = metadata.get("token_endpoint_auth_methods_supported")
                if isinstance(methods, list) and "client_secret_basic" not in methods:
                    self._client_auth_post = "client_secret_post" in methods
                self._token_endpoint = endpoint
                return endpoint
        self._token_endpoint = self._url + FALLBACK_TOKEN_PATH
        return self._token_endpoint

    def _request_token(self) -> tuple[str, float | None]:
        endpoint = self._discover()
        c = self._credentials
        form = {"grant_type": "client_credentials"}
        headers = {"Accept": "application/json"}
        if self._client_auth_post:
            form |= {"client_id": c.client_id, "client_secret": c.client_secret}
        else:
            headers["Authorization"] = _basic(c.client_id, c.client_secret)
        label = f"token request to {httpx.URL(endpoint).copy_with(query=None)}"
        try:
            response = self._client.post(endpoint, data=form, headers=headers)
        except httpx.TransportError as exc:
            raise error_from_exception("POST", label, exc, self.redact) from None
        if response.status_code != 200:
            raise error_from_response("POST", label, response, self.redact)
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TargetError(f"POST {label}: the answer holds no access_token", status=200, transient=False)
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else None
        return token, lifetime
