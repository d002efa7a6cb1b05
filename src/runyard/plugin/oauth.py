"""The OAuth 2.0 calls the plugin makes to a Runyard server (see notes: the server's contract):
discovery, the token endpoint (client credentials, refresh, authorization code, device code),
device authorization, revocation and userinfo. Bodies are forms; answers JSON.

Endpoints come from `/.well-known/oauth-authorization-server`; while a server has no discovery
document (404) the standard paths at the base are used. An endpoint on another origin than the base
is not followed (a client secret goes only to the server it was issued for).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from runyard.plugin import settings
from runyard.plugin.errors import OAuthError, ServerUnreachable

DISCOVERY_PATH = "/.well-known/oauth-authorization-server"
SERVER_INFO_PATH = "/api/3.0/mlflow/server-info"
DEFAULT_PATHS = {
    "token_endpoint": "/oauth/token",
    "authorization_endpoint": "/oauth/authorize",
    "device_authorization_endpoint": "/oauth/device_authorization",
    "revocation_endpoint": "/oauth/revoke",
    "userinfo_endpoint": "/oauth/userinfo",
}
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Endpoints:
    token: str
    authorization: str
    device_authorization: str
    revocation: str
    userinfo: str
    discovered: bool


@dataclass(frozen=True)
class TokenSet:
    """A token response. `expires_in` is the lifetime in seconds (None: not told); `received` is
    `time.monotonic()` and `received_wall` `time.time()` at receipt."""

    access_token: str
    expires_in: float | None
    received: float
    received_wall: float
    refresh_token: str | None = None
    scope: str | None = None
    id_token: str | None = None

    @property
    def expires_at(self) -> float | None:
        """Seconds since the epoch when the access token expires (None: unknown)."""
        return None if self.expires_in is None else self.received_wall + self.expires_in


@dataclass(frozen=True)
class DeviceGrant:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


_discovered: dict[str, Endpoints] = {}
# Per server: whether it runs with authentication off (asked once per process).
_auth_off: dict[str, bool] = {}
_discovery_lock = threading.Lock()


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme.lower(), pa.netloc.lower()) == (pb.scheme.lower(), pb.netloc.lower())


class OAuthClient:
    """The OAuth endpoints of one server (`base_url`: scheme, host, port, any prefix)."""

    def __init__(
        self, base_url: str, *, client_id: str = settings.CLI_CLIENT_ID, timeout: float = settings.OAUTH_TIMEOUT
    ):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.timeout = timeout

    # -- transport -------------------------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return requests.request(
                method,
                url,
                timeout=self.timeout,
                verify=settings.tls_verify(),
                cert=settings.client_cert(),
                allow_redirects=False,
                **kwargs,
            )
        except requests.exceptions.SSLError as e:
            raise ServerUnreachable(self.base_url, f"TLS error ({type(e).__name__})") from None
        except requests.exceptions.Timeout:
            raise ServerUnreachable(self.base_url, f"no answer within {self.timeout:g} s") from None
        except requests.exceptions.ConnectionError as e:
            raise ServerUnreachable(self.base_url, _connection_reason(e)) from None
        except requests.exceptions.RequestException as e:
            raise ServerUnreachable(self.base_url, type(e).__name__) from None

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 404 and not (isinstance(body, dict) and "error" in body):
            raise OAuthError("not_supported", f"the server has no {what} endpoint (404)", 404)
        if not isinstance(body, dict):
            raise OAuthError("invalid_response", f"the {what} endpoint answered {response.status_code} without JSON")
        if response.status_code >= 400 or "error" in body:
            error = str(body.get("error") or f"http_{response.status_code}")
            description = str(body.get("error_description") or body.get("message") or "")
            raise OAuthError(error, description, response.status_code)
        return body

    def _form(self, url: str, form: Mapping[str, str], what: str) -> dict[str, Any]:
        response = self._request("POST", url, data=dict(form), headers={"Accept": "application/json"})
        return self._json(response, what)

    # -- discovery -------------------------------------------------------------------------------

    def endpoints(self) -> Endpoints:
        with _discovery_lock:
            known = _discovered.get(self.base_url)
        if known is not None:
            return known
        response = self._request("GET", self.base_url + DISCOVERY_PATH, headers={"Accept": "application/json"})
        document: dict[str, Any] = {}
        if response.status_code == 200:
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                document = parsed
        urls: dict[str, str] = {}
        for key, path in DEFAULT_PATHS.items():
            value = document.get(key)
            ok = (
                isinstance(value, str)
                and value.startswith(("http://", "https://"))
                and _same_origin(value, self.base_url)
            )
            urls[key] = str(value) if ok else self.base_url + path
        found = Endpoints(
            token=urls["token_endpoint"],
            authorization=urls["authorization_endpoint"],
            device_authorization=urls["device_authorization_endpoint"],
            revocation=urls["revocation_endpoint"],
            userinfo=urls["userinfo_endpoint"],
            discovered=bool(document),
        )
        with _discovery_lock:
            _discovered[self.base_url] = found
        return found

    def authentication_off(self) -> bool:
        """True when the server says it runs with `--auth off` (its public server-info), so no
        credentials are needed; False when it needs them, or when that cannot be told."""
        with _discovery_lock:
            known = _auth_off.get(self.base_url)
        if known is not None:
            return known
        try:
            response = self._request("GET", self.base_url + SERVER_INFO_PATH, headers={"Accept": "application/json"})
            parsed = response.json() if response.status_code == 200 else None
        except (ServerUnreachable, ValueError):
            return False
        off = isinstance(parsed, dict) and parsed.get("auth_enabled") is False
        with _discovery_lock:
            _auth_off[self.base_url] = off
        return off

    # -- grants ----------------------------------------------------------------------------------

    def _tokens(self, form: Mapping[str, str]) -> TokenSet:
        received, received_wall = time.monotonic(), time.time()
        body = self._form(self.endpoints().token, form, "token")
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuthError("invalid_response", "the token endpoint answered without an access_token")
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and expires_in > 0 else None
        refresh = body.get("refresh_token")
        scope = body.get("scope")
        id_token = body.get("id_token")
        return TokenSet(
            access_token=access,
            expires_in=lifetime,
            received=received,
            received_wall=received_wall,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            scope=scope if isinstance(scope, str) else None,
            id_token=id_token if isinstance(id_token, str) else None,
        )

    def client_credentials(self, client_id: str, client_secret: str) -> TokenSet:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        return self._tokens(form)

    def refresh(self, refresh_token: str) -> TokenSet:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id}
        return self._tokens(form)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": code_verifier,
        }
        return self._tokens(form)

    def device_authorization(self, scope: str = settings.SCOPES) -> DeviceGrant:
        body = self._form(
            self.endpoints().device_authorization, {"client_id": self.client_id, "scope": scope}, "device authorization"
        )
        try:
            return DeviceGrant(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=str(body["verification_uri_complete"])
                if body.get("verification_uri_complete")
                else None,
                expires_in=float(body.get("expires_in") or 600),
                interval=float(body.get("interval") or 5),
            )
        except (KeyError, TypeError, ValueError):
            raise OAuthError("invalid_response", "the device authorization answer lacks a field") from None

    def poll_device(self, device_code: str) -> TokenSet:
        return self._tokens({"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": self.client_id})

    def revoke(self, refresh_token: str) -> None:
        form = {"token": refresh_token, "token_type_hint": "refresh_token", "client_id": self.client_id}
        response = self._request("POST", self.endpoints().revocation, data=form)
        if response.status_code != 200:
            self._json(response, "revocation")
            raise OAuthError(f"http_{response.status_code}", "the revocation endpoint refused the request")

    def userinfo(self, access_token: str) -> dict[str, Any]:
        response = self._request(
            "GET",
            self.endpoints().userinfo,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        return self._json(response, "userinfo")


def _connection_reason(e: requests.exceptions.ConnectionError) -> str:
    text = str(e)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "unknown host"
    return "connection failed"
