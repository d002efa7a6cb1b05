"""The authorization server: Authlib's framework-neutral `AuthorizationServer`, given Runyard's
clients, grants, endpoints and store. The HTTP layer hands it an `OAuthHttpRequest` (method, URL,
headers, query, form — already parsed) and renders the `OAuthAnswer` it returns; everything here
runs on the worker thread pool (it reads and writes the database)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint
from authlib.oidc.core import UserInfo
from sqlalchemy.exc import IntegrityError

from runyard.domain.identity import CLIENT_ID_PREFIX, Principal
from runyard.domain.oauth import (
    CLI_CLIENT_ID,
    DEVICE_CODE_TTL_SECONDS,
    DEVICE_POLL_INTERVAL_SECONDS,
    SCOPES_SUPPORTED,
    DeviceAuthorization,
)
from runyard.services.context import now_ms
from runyard.services.identity.audit import FAILURE, Actor, AuditLog
from runyard.services.identity.client_names import describe_client
from runyard.services.identity.oauth import grants
from runyard.services.identity.oauth.keys import ProviderKeys
from runyard.services.identity.oauth.models import Client, RefreshToken, cli_client
from runyard.services.identity.oauth.tokens import TokenIssuer
from runyard.services.identity.secrets import token_digest
from runyard.services.identity.signing import Signer, looks_like_jwt
from runyard.store.database import Database
from runyard.store.identity import oauth as oauth_store
from runyard.store.identity import principals as principal_store
from runyard.store.identity import roles as role_store

JsonBody = dict[str, Any]


@dataclass
class OAuthHttpRequest:
    """What the authorization server needs of an HTTP request (parsed by the HTTP layer)."""

    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]
    issuer: str  # this server's base URL as the client addressed it
    source: str | None  # the caller's address (rate limits, audit)
    auth_time: int | None = None  # when the signed-in user authenticated (seconds)


@dataclass(frozen=True)
class OAuthAnswer:
    status: int
    body: JsonBody
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)


class _Request(OAuth2Request):
    def __init__(self, http: OAuthHttpRequest) -> None:
        super().__init__(http.method, http.url, headers=http.headers)
        self._http = http
        self.payload = BasicOAuth2Payload(http.form if http.method == "POST" else http.query)
        self.runyard_issuer = http.issuer
        self.runyard_source = http.source
        self.runyard_auth_time = http.auth_time

    @property
    def args(self) -> dict[str, str]:
        return self._http.query

    @property
    def form(self) -> dict[str, str]:
        return self._http.form


class _DeviceAuthorization(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]
    EXPIRES_IN = DEVICE_CODE_TTL_SECONDS
    INTERVAL = DEVICE_POLL_INTERVAL_SECONDS

    def create_endpoint_response(self, request: _Request) -> tuple[int, JsonBody, list[tuple[str, str]]]:
        self.authenticate_client(request)
        self.server.validate_requested_scope(request.payload.scope)
        client: Client = request.client
        scope = client.get_allowed_scope(request.payload.scope)
        verification_uri = f"{request.runyard_issuer}/device"
        server: OAuthServer = self.server
        for _ in range(3):
            device_code, user_code = self.generate_device_code(), self.generate_user_code()
            now = now_ms()
            record = DeviceAuthorization(
                device_code_hash=token_digest(device_code),
                user_code=user_code,
                client_id=client.get_client_id(),
                scope=scope,
                creation_time=now,
                expires_at=now + self.EXPIRES_IN * 1000,
                poll_interval=self.INTERVAL,
                last_poll_at=None,
                decision=None,
                principal_id=None,
                used_at=None,
            )
            try:
                with server.db.write() as conn:
                    oauth_store.insert_device(conn, record)
                break
            except IntegrityError:
                continue  # a user code in use: draw again
        data: JsonBody = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": add_params_to_uri(verification_uri, [("user_code", user_code)]),
            "expires_in": self.EXPIRES_IN,
            "interval": self.INTERVAL,
        }
        return 200, data, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]


class _AccessTokenFamily:
    """An access token presented for revocation: it names its sign-in family."""

    def __init__(self, family_id: str, client_id: str) -> None:
        self.family_id = family_id
        self._client_id = client_id

    def check_client(self, client: Client) -> bool:
        return self._client_id == client.get_client_id()


class _Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> RefreshToken | _AccessTokenFamily | None:
        server: OAuthServer = self.server
        if looks_like_jwt(token_string):
            claims = server.signer.verify(token_string)
            if claims is None or claims.family_id is None:
                return None
            with server.db.read() as conn:
                family = oauth_store.family(conn, claims.family_id)
            return _AccessTokenFamily(family.id, family.client_id) if family is not None else None
        with server.db.read() as conn:
            record = oauth_store.refresh_token(conn, token_digest(token_string))
        return RefreshToken(record) if record is not None else None

    def revoke_token(self, token: RefreshToken | _AccessTokenFamily, request: _Request) -> None:
        server: OAuthServer = self.server
        family_id = token.family_id if isinstance(token, _AccessTokenFamily) else token.record.family.id
        with server.db.write() as conn:
            revoked = oauth_store.revoke_family(conn, family_id, now_ms(), "revoked by the client")
        if revoked:
            server.audit.record(Actor(None, request.runyard_source), "token.revoke", f"sign-in family {family_id}")


class OAuthServer(AuthorizationServer):
    def __init__(self, db: Database, signer: Signer, audit: AuditLog) -> None:
        super().__init__(scopes_supported=list(SCOPES_SUPPORTED))
        self.db = db
        self.signer = signer
        self.audit = audit
        self.keys = ProviderKeys(db)
        self.issuer = TokenIssuer(db, signer)
        self.register_grant(
            grants.AuthorizationCodeGrant, [grants.S256CodeChallenge(required=True), grants.RunyardOpenIDCode(self)]
        )
        self.register_grant(grants.RefreshTokenGrant)
        self.register_grant(grants.DeviceGrant)
        self.register_grant(grants.ClientCredentialsGrant)
        self.register_endpoint(_DeviceAuthorization)
        self.register_endpoint(_Revocation)

    # --- Authlib's integration points ---
    def query_client(self, client_id: str) -> Client | None:
        if client_id == CLI_CLIENT_ID:
            return cli_client()
        if not client_id.startswith(CLIENT_ID_PREFIX) or len(client_id) > 64:
            return None
        with self.db.read() as conn:
            found = principal_store.by_client_id(conn, client_id)
            if found is None or not found[0].enabled:
                return None
            uris = oauth_store.redirect_uris(conn, found[0].id)
        return Client(client_id, found[0], found[1], tuple(json.loads(uris)) if uris else ())

    def save_token(self, token: JsonBody, request: _Request) -> None:
        pass  # every token is stored (or signed) as it is generated

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: OAuthHttpRequest | _Request) -> _Request:
        return request if isinstance(request, _Request) else _Request(request)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> OAuthAnswer:
        return OAuthAnswer(status, body if isinstance(body, dict) else {}, list(headers))

    # --- what the HTTP layer calls ---
    def token(self, http: OAuthHttpRequest) -> OAuthAnswer:
        answer: OAuthAnswer = self.create_token_response(http)
        return answer

    def device_authorization(self, http: OAuthHttpRequest) -> OAuthAnswer:
        answer: OAuthAnswer = self.create_endpoint_response(_DeviceAuthorization.ENDPOINT_NAME, http)
        return answer

    def revoke(self, http: OAuthHttpRequest) -> OAuthAnswer:
        answer: OAuthAnswer = self.create_endpoint_response(_Revocation.ENDPOINT_NAME, http)
        return answer

    def validate_authorization(self, http: OAuthHttpRequest) -> Any:
        """The authorization request's grant, validated (OAuth2Error when it is not valid)."""
        return self.get_consent_grant(http)

    def authorize(self, http: OAuthHttpRequest, user: Principal | None) -> OAuthAnswer:
        """The redirect back to the client: a code for `user`, `access_denied` for None."""
        request = self.create_oauth2_request(http)
        grant = self.get_consent_grant(request, end_user=user)
        answer: OAuthAnswer = self.create_authorization_response(request, grant_user=user, grant=grant)
        return answer

    def user_info(self, user: Principal, scope: str) -> UserInfo:
        info = UserInfo(sub=str(user.id))
        scopes = set(scope.split())
        if "profile" in scopes or "openid" in scopes:
            info["preferred_username"] = user.name
            info["name"] = user.name
        info["is_admin"] = user.is_admin
        with self.db.read() as conn:
            memberships = role_store.roles_of(conn, user.id)
        # `<workspace>/<role>`: what a relying party's `--oidc-role-claim roles` reads.
        info["roles"] = [f"{role.workspace}/{role.name}" for role in memberships]
        return info

    def purge_expired(self) -> None:
        """Drop codes, device codes, sessions, states and sign-ins nobody can use any more."""
        with self.db.write() as conn:
            oauth_store.delete_expired(conn, now_ms())

    def client_failure(self, client_id: str, source: str | None) -> None:
        """Audit a failed client authentication, naming the service principal when the id is one."""
        name = None
        if client_id.startswith(CLIENT_ID_PREFIX) and len(client_id) <= 64:
            with self.db.read() as conn:
                found = principal_store.by_client_id(conn, client_id)
            name = found[0].name if found is not None else None
        self.audit.record(Actor(name, source), "auth.failure", describe_client(client_id), FAILURE)

    def source(self, request: Any) -> str | None:
        value: str | None = getattr(request, "runyard_source", None)
        return value


def error_answer(error: OAuth2Error) -> OAuthAnswer:
    status, body, headers = error()
    return OAuthAnswer(status, dict(body), list(headers))
