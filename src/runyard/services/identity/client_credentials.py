"""The OAuth 2.0 client-credentials grant (RFC 6749 §4.4): a service principal's client id and
secret exchanged for a short-lived signed access token.

Failed attempts count toward the `FailureLimiter` (per address and per client id, checked before the
secret is hashed) and are audited as `auth.failure`; each issued token as `token.issue`. Neither the
secret nor the token ever reaches the audit log: only the principal's name and the client id."""

from __future__ import annotations

from dataclasses import dataclass

from runyard.domain.identity import CLIENT_ID_PREFIX
from runyard.services.identity.audit import FAILURE, Actor, AuditLog
from runyard.services.identity.failures import FailureLimiter
from runyard.services.identity.passwords import verify_secret
from runyard.services.identity.signing import Signer
from runyard.store.database import Database
from runyard.store.identity import principals as principal_store


class InvalidClient(Exception):
    """Unknown client, wrong secret, or a disabled service principal (one answer for all three)."""


@dataclass(frozen=True)
class IssuedAccessToken:
    access_token: str
    expires_in: int


class ClientCredentialsGrant:
    def __init__(self, db: Database, signer: Signer, limiter: FailureLimiter, audit: AuditLog) -> None:
        self._db = db
        self._signer = signer
        self._limiter = limiter
        self._audit = audit

    def issue(self, client_id: str, client_secret: str, source: str | None) -> IssuedAccessToken:
        """An access token for the service principal `client_id`; InvalidClient, or TooManyFailures
        (raised before any hash is computed) once the address or the client is over the limit."""
        account = f"client:{client_id}"
        self._limiter.check(source, account)
        with self._db.read() as conn:
            found = principal_store.by_client_id(conn, client_id)
        principal, stored = found if found is not None else (None, None)
        if not verify_secret(stored, client_secret) or principal is None or not principal.enabled:
            self._limiter.record(source, account)
            name = principal.name if principal is not None else None
            self._audit.record(Actor(name, source), "auth.failure", _describe(client_id), FAILURE)
            raise InvalidClient()
        token, ttl = self._signer.issue(principal.id, principal.name, principal.credential_version)
        self._audit.record(Actor(principal.name, source), "token.issue", f"access token of {principal.name}")
        return IssuedAccessToken(token, ttl)


def _describe(client_id: str) -> str:
    """The client an attempt named, for the audit log: a client id of the form the server issues,
    else not at all (a secret pasted into the id field must not be recorded)."""
    if client_id.startswith(CLIENT_ID_PREFIX) and len(client_id) <= 64 and client_id.isascii():
        return f"client {client_id}"
    return "client (not a client id)"
