"""The audit log: who did what, from where, with what outcome. Recording never fails the request
it describes (a failed write is logged and dropped) and never holds a secret: callers pass names
and ids, not credentials."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from runyard.domain.identity import AuditEvent
from runyard.services.context import now_ms
from runyard.store.database import Database
from runyard.store.identity import audit as audit_store

log = logging.getLogger("runyard.audit")

SUCCESS = "success"
DENIED = "denied"
FAILURE = "failure"


@dataclass(frozen=True)
class Actor:
    """Who acted and from where (`source`: the client address, or `cli` for the command line)."""

    name: str | None
    source: str | None

    @classmethod
    def cli(cls) -> Actor:
        return cls(name="cli", source="cli")


class AuditLog:
    def __init__(self, db: Database, retention_days: float) -> None:
        self._db = db
        self._retention_ms = int(retention_days * 86_400_000)

    def record(
        self,
        actor: Actor,
        action: str,
        resource: str | None = None,
        outcome: str = SUCCESS,
        detail: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Append one event (inside `conn`'s transaction when given: recorded only if the change commits)."""
        values = {
            "time": now_ms(),
            "actor": actor.name,
            "source": actor.source,
            "action": action,
            "resource": resource,
            "outcome": outcome,
            "detail": detail,
        }
        if conn is not None:
            audit_store.append(conn, **values)  # type: ignore[arg-type]
            return
        try:
            with self._db.write() as own:
                audit_store.append(own, **values)  # type: ignore[arg-type]
        except Exception:
            log.exception("could not record audit event %s", action)

    def query(
        self,
        *,
        since: int | None = None,
        until: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> Sequence[AuditEvent]:
        with self._db.read() as conn:
            return audit_store.query(
                conn, since=since, until=until, actor=actor, action=action, before_id=before_id, limit=limit
            )

    def purge(self) -> int:
        """Drop events older than the retention period; the number dropped."""
        if self._retention_ms <= 0:
            return 0
        with self._db.write() as conn:
            return audit_store.purge_before(conn, now_ms() - self._retention_ms)
