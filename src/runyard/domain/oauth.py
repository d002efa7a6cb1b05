"""OAuth 2.0 / OpenID Connect records: sign-in families, refresh tokens, authorization codes, device
authorizations and browser sessions, and the rules about them that need no I/O (expiry, the
public client, loopback redirect URIs, user codes)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

# Runyard's own public client (the `runyard` command and the client plugin): no secret, PKCE.
CLI_CLIENT_ID: Final = "runyard-cli"
SCOPES_SUPPORTED: Final = ("openid", "profile", "email", "offline_access")
DEVICE_CODE_GRANT: Final = "urn:ietf:params:oauth:grant-type:device_code"

CODE_TTL_SECONDS: Final = 120
DEVICE_CODE_TTL_SECONDS: Final = 600
DEVICE_POLL_INTERVAL_SECONDS: Final = 5
REFRESH_TOKEN_TTL_SECONDS: Final = 30 * 86400
FAMILY_MAX_SECONDS: Final = 90 * 86400
SESSION_TTL_SECONDS: Final = 12 * 3600
UPSTREAM_STATE_TTL_SECONDS: Final = 600
# User codes: RFC 8628 §6.1's example alphabet (no vowels, no look-alikes), 8 characters as XXXX-XXXX.
USER_CODE_ALPHABET: Final = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH: Final = 8


@dataclass(frozen=True)
class Family:
    id: str
    principal_id: int
    client_id: str
    scope: str
    credential_version: int  # the principal's at sign-in: a password change or a disable ends the family
    auth_time: int  # seconds since the epoch
    expires_at: int  # ms
    revoked_at: int | None

    def usable(self, now_ms: int) -> bool:
        return self.revoked_at is None and now_ms < self.expires_at


@dataclass(frozen=True)
class RefreshTokenRecord:
    token_hash: str
    family: Family
    expires_at: int  # ms
    used_at: int | None


@dataclass(frozen=True)
class AuthorizationCodeRecord:
    code_hash: str
    client_id: str
    principal_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int  # seconds since the epoch
    expires_at: int  # ms
    used_at: int | None
    family_id: str | None = None  # the sign-in it was exchanged for


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code_hash: str
    user_code: str
    client_id: str
    scope: str
    creation_time: int
    expires_at: int  # ms
    poll_interval: int  # seconds
    last_poll_at: int | None
    decision: str | None  # "approved" | "denied"
    principal_id: int | None
    used_at: int | None

    def expired(self, now_ms: int) -> bool:
        return now_ms >= self.expires_at


@dataclass(frozen=True)
class BrowserSession:
    id: str
    principal_id: int
    method: str
    credential_version: int
    creation_time: int
    expires_at: int  # ms


def is_loopback_redirect(uri: str) -> bool:
    """RFC 8252 §7.3: `http` to a loopback address (any port, any path), for native apps. `localhost`
    is accepted too (§8.3 discourages, does not forbid it); no user info, no fragment."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "http" or parts.fragment or parts.username is not None or parts.password is not None:
        return False
    if port is None and ":" in (parts.netloc.rsplit("]", 1)[-1]):
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_user_code(text: str) -> str:
    """What a user typed as a user code, as stored: upper case, separators and spaces dropped,
    regrouped as XXXX-XXXX (an empty string when it cannot be one)."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    if len(letters) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in letters):
        return ""
    return f"{letters[:4]}-{letters[4:]}"


MAX_REDIRECT_URI_LENGTH: Final = 2048


def client_redirect_uri_problem(uri: str) -> str | None:
    """Why `uri` cannot be a confidential client's redirect URI (None: it can): it must be an
    absolute http(s) URL with a host, no user info and no fragment (RFC 6749 §3.1.2)."""
    if not uri or len(uri) > MAX_REDIRECT_URI_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in uri):
        return "expected an absolute http(s) URL"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected an absolute http(s) URL"
    if "#" in uri:
        return "a redirect URI must not have a fragment"
    if parts.username is not None or parts.password is not None:
        return "a redirect URI must not hold user info"
    return None
