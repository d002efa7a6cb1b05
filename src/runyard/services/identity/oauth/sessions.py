"""Browser sessions: what the login page's cookie stands for. The cookie holds 256 random bits;
the database holds their SHA-256, the user and when the session ends — so a session started on
one host is good on every host, and signing out (or disabling the user) ends it everywhere within
`REVALIDATE_SECONDS` (the per-process cache's lifetime)."""

from __future__ import annotations

import secrets
import threading
import time

from runyard.domain.identity import Principal
from runyard.domain.oauth import SESSION_TTL_SECONDS, BrowserSession
from runyard.services.context import now_ms
from runyard.services.identity.audit import Actor, AuditLog
from runyard.services.identity.secrets import token_digest
from runyard.store.database import Database
from runyard.store.identity import oauth as oauth_store
from runyard.store.identity import principals as principal_store

SESSION_PREFIX = "ryd_s_"
REVALIDATE_SECONDS = 3.0
_MAX_ENTRIES = 10_000


class BrowserSessions:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self._cache: dict[str, tuple[float, Principal, BrowserSession]] = {}
        self._lock = threading.Lock()

    def start(self, principal: Principal, method: str, source: str | None) -> str:
        """A new session for the principal; returns the cookie value (shown to the browser only)."""
        value = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = now_ms()
        with self._db.write() as conn:
            oauth_store.insert_session(
                conn,
                session_id=secrets.token_hex(16),
                secret_hash=token_digest(value),
                principal_id=principal.id,
                credential_version=principal.credential_version,
                method=method,
                now=now,
                expires_at=now + SESSION_TTL_SECONDS * 1000,
            )
        self._audit.record(Actor(principal.name, source), "auth.sign-in", f"browser session ({method})")
        return value

    def find(self, cookie: str) -> tuple[Principal, BrowserSession] | None:
        """The signed-in principal and session of a cookie value, or None."""
        if not cookie.startswith(SESSION_PREFIX) or len(cookie) > 128:
            return None
        digest = token_digest(cookie)
        hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[0] < REVALIDATE_SECONDS and now_ms() < hit[2].expires_at:
            return hit[1], hit[2]
        with self._db.read() as conn:
            found = oauth_store.session(conn, digest, now_ms())
            principal = principal_store.get(conn, found.principal_id) if found is not None else None
        if (
            found is None
            or principal is None
            or not principal.enabled
            or principal.credential_version != found.credential_version
        ):
            self._cache.pop(digest, None)
            return None
        with self._lock:
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
            self._cache[digest] = (time.monotonic(), principal, found)
        return principal, found

    def end(self, cookie: str, source: str | None) -> None:
        digest = token_digest(cookie)
        found = self.find(cookie)
        with self._db.write() as conn:
            oauth_store.revoke_session(conn, digest, now_ms())
        self._cache.pop(digest, None)
        if found is not None:
            self._audit.record(Actor(found[0].name, source), "auth.sign-out", "browser session")
