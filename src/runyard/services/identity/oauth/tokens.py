"""The token responses the authorization server hands out: a signed access token (the `Signer`'s
JWT, carrying the sign-in's family) and, for sign-ins, an opaque refresh token stored by its hash.

Refresh tokens rotate: each refresh spends the presented token and issues the next one in the same
family. A spent token presented again is a replay — the family is revoked, which ends every
refresh token and every access token issued under that sign-in (RFC 6819 §5.2.2.3, OAuth 2.0
Security BCP §4.14)."""

from __future__ import annotations

import secrets
import time

from runyard.domain.identity import Principal
from runyard.domain.oauth import FAMILY_MAX_SECONDS, REFRESH_TOKEN_TTL_SECONDS
from runyard.services.context import now_ms
from runyard.services.identity.secrets import token_digest
from runyard.services.identity.signing import Signer
from runyard.store.database import Database
from runyard.store.identity import oauth as oauth_store

REFRESH_TOKEN_PREFIX = "ryd_rt_"
TokenResponse = dict[str, str | int]


class TokenIssuer:
    def __init__(self, db: Database, signer: Signer) -> None:
        self._db = db
        self._signer = signer

    @property
    def access_token_ttl(self) -> int:
        return self._signer.ttl_seconds

    def start_family(self, principal: Principal, client_id: str, scope: str, auth_time: int | None) -> str:
        """A new sign-in (family) for the principal on the client."""
        family_id = secrets.token_hex(16)
        now = now_ms()
        with self._db.write() as conn:
            oauth_store.insert_family(
                conn,
                family_id=family_id,
                principal_id=principal.id,
                credential_version=principal.credential_version,
                client_id=client_id,
                scope=scope,
                auth_time=auth_time if auth_time is not None else int(time.time()),
                now=now,
                expires_at=now + FAMILY_MAX_SECONDS * 1000,
            )
        return family_id

    def bearer(
        self,
        principal: Principal,
        client_id: str,
        scope: str,
        family_id: str | None,
        include_refresh_token: bool,
    ) -> TokenResponse:
        access, ttl = self._signer.issue(
            principal.id,
            principal.name,
            principal.credential_version,
            family_id=family_id,
            client_id=client_id,
            scope=scope,
        )
        token: TokenResponse = {"token_type": "Bearer", "access_token": access, "expires_in": ttl}
        if scope:
            token["scope"] = scope
        if include_refresh_token and family_id is not None:
            token["refresh_token"] = self._new_refresh_token(family_id)
        return token

    def _new_refresh_token(self, family_id: str) -> str:
        value = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = now_ms()
        with self._db.write() as conn:
            family = oauth_store.family(conn, family_id)
            cap = family.expires_at if family is not None else now
            expires_at = min(now + REFRESH_TOKEN_TTL_SECONDS * 1000, cap)
            oauth_store.insert_refresh_token(
                conn, token_hash=token_digest(value), family_id=family_id, now=now, expires_at=expires_at
            )
        return value
