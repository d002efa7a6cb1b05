"""Audit retention: `AuditLog.purge` (run hourly by the app's lifespan) drops events older than
`--audit-retention-days`; 0 keeps them all."""

from __future__ import annotations

from pathlib import Path

from runyard.services.context import now_ms
from runyard.services.identity.audit import Actor, AuditLog
from runyard.store.database import Database
from runyard.store.identity import audit as audit_store
from runyard.store.migrate import upgrade


def test_purge_drops_only_events_past_retention(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runyard.db'}"
    upgrade(url)
    db = Database(url)
    try:
        log = AuditLog(db, retention_days=1)
        with db.write() as conn:
            old = now_ms() - 2 * 86_400_000
            audit_store.append(
                conn, time=old, actor="a", source="s", action="old", resource=None, outcome="success", detail=None
            )
        log.record(Actor("b", "127.0.0.1"), "new")
        assert log.purge() == 1
        assert [e.action for e in log.query()] == ["new"]
        assert AuditLog(db, retention_days=0).purge() == 0
    finally:
        db.dispose()
