"""A signed-in user's answer to a device's sign-in request (RFC 8628 §3.3): approve or deny the
user code, once, while it is valid. Unknown codes count toward the failure limiter (per address and
per user), so the 20^8 code space cannot be searched at speed."""

from __future__ import annotations

import enum

from runyard.domain.identity import Principal
from runyard.services.context import now_ms
from runyard.services.identity.audit import FAILURE, Actor, AuditLog
from runyard.services.identity.failures import FailureLimiter
from runyard.store.database import Database
from runyard.store.identity import oauth as oauth_store


class DeviceDecision(enum.Enum):
    APPROVED = "approved"
    DENIED = "denied"
    UNKNOWN = "That code is not valid. Check it and try again."
    EXPIRED = "That code has expired. Start the sign-in on your device again."
    DECIDED = "That code has already been used."


class DeviceApproval:
    def __init__(self, db: Database, limiter: FailureLimiter, audit: AuditLog) -> None:
        self._db = db
        self._limiter = limiter
        self._audit = audit

    def decide(self, user_code: str, approve: bool, principal: Principal, source: str | None) -> DeviceDecision:
        account = f"device:{principal.name}"
        self._limiter.check(source, account)
        now = now_ms()
        with self._db.write() as conn:
            record = oauth_store.device_by_user_code(conn, user_code) if user_code else None
            if record is None:
                outcome = DeviceDecision.UNKNOWN
            elif record.expired(now):
                outcome = DeviceDecision.EXPIRED
            elif record.decision is not None:
                outcome = DeviceDecision.DECIDED
            elif oauth_store.decide_device(conn, user_code, "approved" if approve else "denied", principal.id, now):
                outcome = DeviceDecision.APPROVED if approve else DeviceDecision.DENIED
            else:
                outcome = DeviceDecision.DECIDED
        actor = Actor(principal.name, source)
        if outcome is DeviceDecision.UNKNOWN:
            self._limiter.record(source, account)
            self._audit.record(actor, "auth.failure", "device sign-in: unknown user code", FAILURE)
        elif outcome in (DeviceDecision.APPROVED, DeviceDecision.DENIED):
            self._audit.record(actor, "auth.device", f"device sign-in {outcome.value} by {principal.name}")
        return outcome
