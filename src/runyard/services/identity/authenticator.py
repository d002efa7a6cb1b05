"""Who a request acts for, from its `Authorization` header: HTTP Basic (a password), a personal
access token (`Bearer ryd_pat_…`) or a signed access token (`Bearer <JWT>` from `/oauth/token`).

Verifying a password costs an argon2 hash (tens of milliseconds), so verified credentials are
cached per process, keyed by an HMAC of the header under a per-process random key (the cache never
holds a credential, and a memory dump of it proves nothing elsewhere). A cached entry is trusted for
`REVALIDATE_SECONDS`; after that one primary-key read confirms the principal is still enabled, its
credentials unchanged (`credential_version`) and the token not revoked — so disabling a user or
revoking a token takes effect in every process within that time, without hashing again.

Each fresh verification (a credential not in the cache) is audited as `auth.sign-in`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Connection

from runyard.domain.errors import Unauthenticated
from runyard.domain.identity import TOKEN_PREFIX, Principal
from runyard.services.context import now_ms
from runyard.services.identity.audit import FAILURE, Actor, AuditLog
from runyard.services.identity.failures import FailureLimiter
from runyard.services.identity.passwords import verify_secret
from runyard.services.identity.secrets import token_digest
from runyard.services.identity.signing import Signer, looks_like_jwt
from runyard.store.database import Database
from runyard.store.identity import oauth as oauth_store
from runyard.store.identity import principals as principal_store
from runyard.store.identity import tokens as token_store

REVALIDATE_SECONDS = 3.0
# A verified password is hashed again after this long even if nothing changed.
MAX_CACHE_SECONDS = 300.0
_MAX_ENTRIES = 10_000
_TOUCH_EVERY_MS = 60_000
BAD_CREDENTIALS = "Invalid credentials: the user name, password or token is wrong, expired or revoked."


@dataclass
class _Verified:
    principal: Principal
    token_id: str | None
    expires_at: float | None  # wall-clock seconds (tokens with an expiry)
    verified_at: float  # monotonic: when the credential itself was verified
    checked_at: float  # monotonic: when the principal's state was last read
    touched_at: int = 0
    family_id: str | None = None  # an OAuth sign-in's access token: valid while its family is


class Authenticator:
    def __init__(self, db: Database, signer: Signer, limiter: FailureLimiter, audit: AuditLog) -> None:
        self._db = db
        self._signer = signer
        self._limiter = limiter
        self._audit = audit
        self._key = secrets.token_bytes(32)
        self._cache: dict[bytes, _Verified] = {}
        self._lock = threading.Lock()

    def _cache_key(self, authorization: str) -> bytes:
        return hmac.new(self._key, authorization.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def cached(self, authorization: str) -> Principal | None:
        """The principal if the header was verified and checked recently (no I/O: for the event loop)."""
        entry = self._cache.get(self._cache_key(authorization))
        if entry is None:
            return None
        if time.monotonic() - entry.checked_at > REVALIDATE_SECONDS:
            return None
        if entry.expires_at is not None and time.time() >= entry.expires_at:
            return None
        return entry.principal

    def authenticate(self, authorization: str, source: str | None) -> Principal:
        """The principal the header names, or Unauthenticated (401) / TooManyFailures (429)."""
        key = self._cache_key(authorization)
        entry = self._cache.get(key)
        now = time.monotonic()
        if entry is not None and now - entry.verified_at < MAX_CACHE_SECONDS:
            if entry.expires_at is None or time.time() < entry.expires_at:
                fresh = self._still_valid(entry)
                if fresh is not None:
                    entry.principal, entry.checked_at = fresh, time.monotonic()
                    return fresh
            self._forget(key)
            raise Unauthenticated(BAD_CREDENTIALS)
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() == "basic":
            verified = self._basic(credential, source)
        elif scheme.lower() == "bearer" and credential:
            verified = self._bearer(credential, source)
        else:
            raise Unauthenticated("Unsupported Authorization header: use Basic or Bearer credentials.")
        with self._lock:
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[key] = verified
        self._audit.record(Actor(verified.principal.name, source), "auth.sign-in", _credential_kind(verified, scheme))
        return verified.principal

    def _forget(self, key: bytes) -> None:
        with self._lock:
            self._cache.pop(key, None)

    def _still_valid(self, entry: _Verified) -> Principal | None:
        """The principal's current state if the credential still holds (one or two indexed reads)."""
        with self._db.read() as conn:
            principal = principal_store.get(conn, entry.principal.id)
            if principal is None or not principal.enabled:
                return None
            if entry.token_id is not None:
                token = token_store.get(conn, entry.token_id)
                if token is None or not token.usable(now_ms()):
                    return None
            elif principal.credential_version != entry.principal.credential_version:
                return None
            if entry.family_id is not None and not _family_live(conn, entry.family_id):
                return None
        if entry.token_id is not None and now_ms() - entry.touched_at > _TOUCH_EVERY_MS:
            entry.touched_at = now_ms()
            self._touch(entry.token_id)
        return principal

    def _fail(self, source: str | None, account: str | None, what: str) -> Unauthenticated:
        self._limiter.record(source, f"account:{account}" if account else None)
        self._audit.record(Actor(account, source), "auth.failure", what, FAILURE)
        return Unauthenticated(BAD_CREDENTIALS)

    def _basic(self, credential: str, source: str | None) -> _Verified:
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Malformed Basic credentials.") from None
        username, sep, password = decoded.partition(":")
        if not sep or not username:
            raise Unauthenticated("Malformed Basic credentials.")
        principal = self.verify_password(username, password, source)
        now = time.monotonic()
        return _Verified(principal, None, None, now, now)

    def verify_password(self, username: str, password: str, source: str | None) -> Principal:
        """The enabled user `username` if `password` is theirs; else Unauthenticated (the failure
        counted and audited) or TooManyFailures, raised before any hash is computed."""
        self._limiter.check(source, f"account:{username}")
        with self._db.read() as conn:
            found = principal_store.password_hash(conn, username)
        principal, stored = found if found is not None else (None, None)
        if not verify_secret(stored, password) or principal is None or not principal.enabled:
            raise self._fail(source, username, "password")
        return principal

    def _bearer(self, token: str, source: str | None) -> _Verified:
        self._limiter.check(source)
        now = time.monotonic()
        if token.startswith(TOKEN_PREFIX):
            with self._db.read() as conn:
                record = token_store.by_hash(conn, token_digest(token))
                principal = principal_store.get(conn, record.principal_id) if record is not None else None
            if record is None or principal is None or not principal.enabled or not record.usable(now_ms()):
                raise self._fail(source, record.principal_name if record else None, "personal access token")
            expires = record.expires_at / 1000 if record.expires_at is not None else None
            verified = _Verified(principal, record.id, expires, now, now, touched_at=now_ms())
            self._touch(record.id)
            return verified
        if looks_like_jwt(token):
            claims = self._signer.verify(token)
            if claims is not None:
                with self._db.read() as conn:
                    principal = principal_store.get(conn, claims.principal_id)
                    live = claims.family_id is None or _family_live(conn, claims.family_id)
                if (
                    principal is not None
                    and principal.enabled
                    and principal.credential_version == claims.credential_version
                    and live
                ):
                    expires = float(claims.expires_at)
                    return _Verified(principal, None, expires, now, now, family_id=claims.family_id)
            raise self._fail(source, None, "access token")
        raise self._fail(source, None, "bearer token")

    def _touch(self, token_id: str) -> None:
        try:
            with self._db.write() as conn:
                token_store.touch(conn, token_id, now_ms())
        except Exception:  # a busy database must not fail the request; the time is advisory
            pass


def _family_live(conn: Connection, family_id: str) -> bool:
    family = oauth_store.family(conn, family_id)
    return family is not None and family.usable(now_ms())


def _credential_kind(verified: _Verified, scheme: str) -> str:
    """What a sign-in used, for the audit log (never the credential itself)."""
    if scheme.lower() == "basic":
        return "password"
    if verified.token_id is not None:
        return f"personal access token {verified.token_id}"
    return "access token"
