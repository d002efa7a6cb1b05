"""The objects Authlib's grants work with (its ClientMixin, AuthorizationCodeMixin, token and device
credential protocols), as thin adapters over Runyard's records.

Clients: `runyard-cli`, the public client of the `runyard` command and the client plugin (no
secret, PKCE, loopback redirects per RFC 8252 §7.3), and service principals — confidential clients
of the client-credentials grant, and of the authorization-code flow when an administrator has
registered redirect URIs for them (another application signing its users in through Runyard).
"""

from __future__ import annotations

import time

from runyard.domain.identity import Principal
from runyard.domain.oauth import (
    CLI_CLIENT_ID,
    DEVICE_CODE_GRANT,
    SCOPES_SUPPORTED,
    AuthorizationCodeRecord,
    DeviceAuthorization,
    RefreshTokenRecord,
    is_loopback_redirect,
)
from runyard.services.identity.passwords import verify_secret

_PUBLIC_GRANTS = frozenset({"authorization_code", "refresh_token", DEVICE_CODE_GRANT})
_SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


class Client:
    """An OAuth client: the public `runyard-cli`, or a service principal (`principal` set)."""

    def __init__(
        self,
        client_id: str,
        principal: Principal | None = None,
        secret_hash: str | None = None,
        redirect_uris: tuple[str, ...] = (),
    ) -> None:
        self.client_id = client_id
        self.principal = principal
        self._secret_hash = secret_hash
        self.redirect_uris = redirect_uris

    @property
    def public(self) -> bool:
        return self.principal is None

    @property
    def display_name(self) -> str:
        return "the Runyard command line" if self.public else f"the application '{self.principal.name}'"  # type: ignore[union-attr]

    # --- Authlib's ClientMixin ---
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in SCOPES_SUPPORTED)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.public:
            return is_loopback_redirect(redirect_uri)
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self._secret_hash is not None and verify_secret(self._secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in _SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and (self.public or bool(self.redirect_uris))

    def check_grant_type(self, grant_type: str) -> bool:
        if self.public:
            return grant_type in _PUBLIC_GRANTS
        if grant_type == "client_credentials":
            return True
        return bool(self.redirect_uris) and grant_type in ("authorization_code", "refresh_token")

    @property
    def token_endpoint_auth_method(self) -> str:
        return "none" if self.public else "client_secret_basic"


def cli_client() -> Client:
    return Client(CLI_CLIENT_ID)


class AuthorizationCode:
    """An issued (and, by the time Authlib sees it, spent) authorization code."""

    def __init__(self, record: AuthorizationCodeRecord) -> None:
        self.record = record
        self.code_challenge = record.code_challenge
        self.code_challenge_method = record.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return self.record.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class RefreshToken:
    def __init__(self, record: RefreshTokenRecord) -> None:
        self.record = record

    def check_client(self, client: Client) -> bool:
        return self.record.family.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.record.family.scope


class DeviceCredential:
    def __init__(self, record: DeviceAuthorization) -> None:
        self.record = record

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_scope(self) -> str:
        return self.record.scope

    def get_user_code(self) -> str:
        return self.record.user_code

    def is_expired(self) -> bool:
        return self.record.expired(int(time.time() * 1000))
