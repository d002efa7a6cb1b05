"""Authlib's grants, bound to Runyard's store: authorization code (+ PKCE, S256 only, + OpenID),
refresh token (rotation and reuse detection), device code (RFC 8628) and client credentials.

Each "use once" step spends its row with one conditional UPDATE when the grant first reads it, so
two concurrent exchanges of one code (or one refresh token) cannot both succeed, whichever process
or host they reach."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import DeviceCodeGrant
from authlib.oidc.core import OpenIDCode, UserInfo

from runyard.domain.identity import Principal
from runyard.domain.oauth import CODE_TTL_SECONDS, AuthorizationCodeRecord
from runyard.services.context import now_ms
from runyard.services.identity.audit import Actor
from runyard.services.identity.oauth.models import AuthorizationCode, Client, DeviceCredential, RefreshToken
from runyard.services.identity.oauth.tokens import TokenResponse
from runyard.services.identity.secrets import token_digest
from runyard.store.identity import oauth as oauth_store
from runyard.store.identity import principals as principal_store

if TYPE_CHECKING:
    from runyard.services.identity.oauth.server import OAuthServer

_CLIENT_AUTH = ["none", "client_secret_basic", "client_secret_post"]
SLOW_DOWN_STEP_SECONDS = 5


def _server(grant: Any) -> OAuthServer:
    server: OAuthServer = grant.server
    return server


def _enabled_principal(grant: Any, principal_id: int) -> Principal | None:
    with _server(grant).db.read() as conn:
        principal = principal_store.get(conn, principal_id)
    return principal if principal is not None and principal.enabled else None


class _IssuesRunyardTokens:
    """Token generation for sign-in grants: a new family (or the refresh token's), then the tokens."""

    request: Any
    GRANT_TYPE: str | None

    def generate_token(
        self,
        user: Principal | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> TokenResponse:
        server = _server(self)
        client: Client = self.request.client
        assert user is not None
        family_id: str | None = getattr(self.request, "runyard_family_id", None)
        if family_id is None:
            auth_time = getattr(self.request, "runyard_auth_time", None)
            family_id = server.issuer.start_family(user, client.get_client_id(), scope or "", auth_time)
        code_hash: str | None = getattr(self.request, "runyard_code_hash", None)
        if code_hash is not None:
            with server.db.write() as conn:
                oauth_store.set_code_family(conn, code_hash, family_id)
        token = server.issuer.bearer(user, client.get_client_id(), scope or "", family_id, include_refresh_token)
        server.audit.record(
            Actor(user.name, server.source(self.request)),
            "token.issue",
            f"{self.GRANT_TYPE} sign-in of {user.name} on {client.get_client_id()}",
        )
        return token


class S256CodeChallenge(CodeChallenge):
    """PKCE, S256 only (RFC 7636 §4.2; `plain` offers no protection against an intercepted code),
    required of every client at the authorization endpoint."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)


class RunyardOpenIDCode(OpenIDCode):
    """ID tokens for the `openid` scope, signed RS256 with the provider key (published as JWKS)."""

    def __init__(self, server: OAuthServer) -> None:
        super().__init__(require_nonce=False)
        self._server = server

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # codes are single-use rows; a nonce only has to reach the ID token

    def resolve_client_private_key(self, client: Client) -> Any:
        return self._server.keys.signing_key()

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self._server.keys.signing_key().kid or ""}

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": request.runyard_issuer,
            "aud": [request.client.get_client_id()],
            "iat": now,
            "exp": now + self._server.issuer.access_token_ttl,
            "auth_time": now,
        }

    def generate_user_info(self, user: Principal, scope: str) -> UserInfo:
        return self._server.user_info(user, scope)


class AuthorizationCodeGrant(_IssuesRunyardTokens, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        principal: Principal = request.user
        record = AuthorizationCodeRecord(
            code_hash=token_digest(code),
            client_id=request.client.get_client_id(),
            principal_id=principal.id,
            redirect_uri=request.payload.redirect_uri or "",
            scope=request.scope or "",
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=getattr(request, "runyard_auth_time", None) or int(time.time()),
            expires_at=now_ms() + CODE_TTL_SECONDS * 1000,
            used_at=None,
        )
        with _server(self).db.write() as conn:
            oauth_store.insert_code(conn, record)

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        digest = token_digest(code)
        now = now_ms()
        server = _server(self)
        with server.db.write() as conn:
            record = oauth_store.code(conn, digest)
            if record is None or record.client_id != client.get_client_id():
                return None
            if not oauth_store.spend_code(conn, digest, now):
                # A code presented twice: whatever the first exchange issued is revoked too (RFC
                # 6749 §4.1.2), as the code may have been stolen.
                if record.family_id is not None:
                    oauth_store.revoke_family(conn, record.family_id, now, "authorization code reuse")
                return None
            if record.expires_at <= now:
                return None
        self.request.runyard_auth_time = record.auth_time
        self.request.runyard_code_hash = digest
        return AuthorizationCode(record)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        pass  # spent when it was read

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Principal | None:
        return _enabled_principal(self, authorization_code.record.principal_id)


class RefreshTokenGrant(_IssuesRunyardTokens, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        server = _server(self)
        digest = token_digest(refresh_token)
        now = now_ms()
        with server.db.write() as conn:
            record = oauth_store.refresh_token(conn, digest)
            if record is None:
                return None
            if record.used_at is not None or not oauth_store.spend_refresh_token(conn, digest, now):
                replayed = oauth_store.revoke_family(conn, record.family.id, now, "refresh token reuse")
            elif not record.family.usable(now) or record.expires_at <= now:
                return None
            else:
                principal = principal_store.get(conn, record.family.principal_id)
                if principal is None or principal.credential_version != record.family.credential_version:
                    # New password, secret, or a disable since the sign-in: the sign-in ends.
                    oauth_store.revoke_family(conn, record.family.id, now, "credentials changed")
                    return None
                self.request.runyard_family_id = record.family.id
                return RefreshToken(record)
        if replayed:
            with server.db.read() as conn:
                principal = principal_store.get(conn, record.family.principal_id)
            name = principal.name if principal is not None else None
            server.audit.record(
                Actor(name, server.source(self.request)),
                "token.revoke",
                f"sign-in family {record.family.id}: a spent refresh token was presented again",
            )
        return None

    def authenticate_user(self, refresh_token: RefreshToken) -> Principal | None:
        return _enabled_principal(self, refresh_token.record.family.principal_id)

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        pass  # spent when it was read


class DeviceGrant(_IssuesRunyardTokens, DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = _CLIENT_AUTH

    def query_device_credential(self, device_code: str) -> DeviceCredential | None:
        with _server(self).db.read() as conn:
            record = oauth_store.device_by_code(conn, token_digest(device_code))
        return DeviceCredential(record) if record is not None else None

    def query_user_grant(self, user_code: str) -> tuple[Principal | None, bool] | None:
        credential: DeviceCredential = self.request.runyard_device_credential
        record = credential.record
        if record.decision is None:
            return None
        if record.decision != "approved" or record.principal_id is None:
            return None, False
        principal = _enabled_principal(self, record.principal_id)
        if principal is None:
            return None, False
        with _server(self).db.write() as conn:
            if not oauth_store.spend_device(conn, record.device_code_hash, now_ms()):
                raise InvalidGrantError("The device code has already been used.")
        return principal, True

    def validate_device_credential(self, credential: DeviceCredential) -> Principal:
        self.request.runyard_device_credential = credential
        user: Principal = super().validate_device_credential(credential)
        return user

    def should_slow_down(self, credential: DeviceCredential) -> bool:
        """RFC 8628 §3.5: polling faster than the interval answers `slow_down`, and the interval
        grows by 5 seconds for this and every later request."""
        record = credential.record
        now = now_ms()
        interval = record.poll_interval
        too_fast = record.last_poll_at is not None and now - record.last_poll_at < interval * 1000
        if too_fast:
            interval += SLOW_DOWN_STEP_SECONDS
        with _server(self).db.write() as conn:
            oauth_store.record_poll(conn, record.device_code_hash, now, interval)
        return too_fast


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """A service principal's id and secret for a short-lived access token (no refresh token)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def generate_token(
        self,
        user: Principal | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> TokenResponse:
        server = _server(self)
        client: Client = self.request.client
        principal = client.principal
        assert principal is not None
        token = server.issuer.bearer(principal, client.get_client_id(), scope or "", None, False)
        server.audit.record(
            Actor(principal.name, server.source(self.request)), "token.issue", f"access token of {principal.name}"
        )
        return token
