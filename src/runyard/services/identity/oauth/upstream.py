"""Single sign-on through an upstream OpenID provider (`--oidc-issuer`): this server as a relying
party. `begin` stores a sign-in state (its SHA-256 only, with the nonce, the PKCE verifier and the
`next` path; usable once, for 10 minutes — any process on any host can finish it) and answers the
provider's authorization URL; `finish` spends the state, exchanges the code, validates the ID token
and answers the local principal (see `upstream_accounts` for linking and the claim mappings)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from runyard.config import Settings
from runyard.domain.identity import Principal
from runyard.domain.oauth import UPSTREAM_STATE_TTL_SECONDS
from runyard.domain.sso import parse_admin_claim
from runyard.services.context import now_ms
from runyard.services.identity.access import PermissionCache
from runyard.services.identity.audit import FAILURE, Actor, AuditLog
from runyard.services.identity.oauth.upstream_accounts import ClaimMapping, SignInRefused, UpstreamAccounts
from runyard.services.identity.oauth.upstream_provider import (
    UpstreamClient,
    UpstreamProvider,
    UpstreamRefused,
    UpstreamUnavailable,
)
from runyard.services.identity.secrets import token_digest
from runyard.store.database import Database
from runyard.store.identity import oauth as oauth_store

__all__ = ["SignInRefused", "UpstreamSignIn"]


@dataclass(frozen=True)
class Finished:
    principal: Principal
    next_path: str


class UpstreamSignIn:
    def __init__(self, db: Database, settings: Settings, audit: AuditLog, permissions: PermissionCache) -> None:
        assert settings.oidc_issuer is not None and settings.oidc_client_id is not None
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.display_name = urlsplit(self.issuer).netloc
        self._db = db
        self._audit = audit
        self._provider = UpstreamProvider(
            UpstreamClient(self.issuer, settings.oidc_client_id, settings.oidc_client_secret())
        )
        admin = parse_admin_claim(settings.oidc_admin_claim) if settings.oidc_admin_claim else None
        self._accounts = UpstreamAccounts(db, audit, permissions, ClaimMapping(admin, settings.oidc_role_claim))

    @property
    def method(self) -> str:
        """The browser session's sign-in method."""
        return f"sso:{self.issuer}"

    def begin(self, next_path: str, redirect_uri: str) -> str:
        """The provider's authorization URL for a new sign-in that returns to `next_path`
        (SignInRefused, 502, when the provider cannot be reached)."""
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        try:
            url = self._provider.authorization_url(redirect_uri, state, nonce, verifier)
        except UpstreamUnavailable as e:
            raise self._unreachable(e) from None
        now = now_ms()
        with self._db.write() as conn:
            oauth_store.insert_upstream_state(
                conn,
                state_hash=token_digest(state),
                nonce=nonce,
                code_verifier=verifier,
                return_to=next_path,
                now=now,
                expires_at=now + UPSTREAM_STATE_TTL_SECONDS * 1000,
            )
        return url

    def cancel(self, state: str) -> None:
        """The provider answered an error: the state is spent, so it cannot be finished later."""
        if state:
            with self._db.write() as conn:
                oauth_store.take_upstream_state(conn, token_digest(state), now_ms())

    def finish(self, state: str, code: str, redirect_uri: str, source: str | None) -> Finished:
        """The signed-in principal and where to go (SignInRefused with the page's message)."""
        with self._db.write() as conn:
            taken = oauth_store.take_upstream_state(conn, token_digest(state), now_ms()) if state else None
        if taken is None:
            self._audit.record(Actor(None, source), "auth.failure", "single sign-on: unknown or expired state", FAILURE)
            raise SignInRefused("This sign-in link is not valid or has expired. Start the sign-in again.", 400)
        nonce, verifier, next_path = taken
        try:
            claims = self._provider.sign_in(code, redirect_uri, verifier, nonce)
        except UpstreamUnavailable as e:
            raise self._unreachable(e) from None
        except UpstreamRefused as e:
            self._audit.record(
                Actor(None, source), "auth.failure", f"single sign-on through {self.issuer}: {e}", FAILURE
            )
            raise SignInRefused(f"The sign-in through {self.display_name} did not succeed: {e}.", 400) from None
        principal = self._accounts.sign_in(self.issuer, claims, source)
        return Finished(principal, next_path)

    def _unreachable(self, e: UpstreamUnavailable) -> SignInRefused:
        return SignInRefused(
            f"The sign-in provider {self.display_name} cannot be used right now: {e}. Try again later.", 502
        )
