"""Mirror link administration: link, list, unlink, pause, resume, retry parked entries, and status.

Used by the `runyard workspace link …` commands (directly on the database) and by the API under
`/api/2.0/runyard/workspaces/{workspace}/links` (authorization is the caller's job: the API checks
MANAGE on the workspace, and administrator for targets on other servers). A new link starts with a
back-fill of what the workspace already holds; its outbox cursor starts at the newest entry, so
nothing is sent twice that the back-fill sends anyway (and if it were, every send is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc

from runyard.domain.errors import already_exists, not_found
from runyard.domain.mirror import (
    ACTIVE,
    FAILING,
    PAUSED,
    TargetCredentials,
    default_link_name,
    validate_link_name,
    validate_target_url,
)
from runyard.domain.search_filter import EXPERIMENT_GRAMMAR, parse_filter
from runyard.domain.workspaces import validate_workspace_name
from runyard.services.context import now_ms
from runyard.services.mirror.secrets import SecretBox
from runyard.store import mirror as mirror_store
from runyard.store import mirror_source
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.integrity import is_foreign_key_violation
from runyard.store.mirror import LinkRow

TargetProbe = Callable[[str, "str | None", TargetCredentials], None]
"""Checks that a target answers with these credentials and that its workspace exists (raising an
MlflowError that says what is wrong); None skips the check."""


@dataclass(frozen=True)
class LinkRequest:
    url: str
    target_workspace: str | None
    credentials: TargetCredentials
    name: str | None = None
    experiments_filter: str | None = None


@dataclass(frozen=True)
class LinkStatus:
    """One link as `status` shows it (never its credentials)."""

    name: str
    source_workspace: str
    target_url: str
    target_workspace: str | None
    auth: str
    experiments_filter: str | None
    state: str
    pending_items: int
    lag_seconds: float
    oldest_pending_at: int | None
    last_error: str | None
    last_error_at: int | None
    parked_items: int
    backfill: str
    backfill_done: int
    backfill_total: int
    sent_items: int
    sent_runs: int
    sent_points: int
    sent_bytes: int
    created_at: int
    created_by: str | None
    last_success_at: int | None

    @property
    def target(self) -> str:
        return f"{self.target_url} [{self.target_workspace}]" if self.target_workspace else self.target_url

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source_workspace": self.source_workspace,
            "target": self.target,
            "target_url": self.target_url,
            "target_workspace": self.target_workspace,
            "auth": self.auth,
            "experiments": self.experiments_filter,
            "state": self.state,
            "pending_items": self.pending_items,
            "lag_seconds": self.lag_seconds,
            "oldest_pending_at": self.oldest_pending_at,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "parked_items": self.parked_items,
            "backfill": {"state": self.backfill, "done": self.backfill_done, "total": self.backfill_total},
            "sent": {
                "items": self.sent_items,
                "runs": self.sent_runs,
                "points": self.sent_points,
                "bytes": self.sent_bytes,
            },
            "created_at": self.created_at,
            "created_by": self.created_by,
            "last_success_at": self.last_success_at,
        }


def state_of(row: LinkRow) -> str:
    if row.paused:
        return PAUSED
    return FAILING if row.failing_since is not None else ACTIVE


class LinkService:
    def __init__(self, db: Database, secrets: SecretBox, probe: TargetProbe | None = None) -> None:
        self._db = db
        self.secrets = secrets
        self._probe = probe

    def _workspace_id(self, conn: Any, name: str) -> int:
        workspace = ws_store.get_by_name(conn, name)
        if workspace is None:
            raise not_found(f"Workspace '{name}' not found")
        return workspace.id

    def _row(self, conn: Any, workspace: str, name: str) -> LinkRow:
        row = mirror_store.link_named(conn, self._workspace_id(conn, workspace), name)
        if row is None:
            raise not_found(f"Workspace '{workspace}' has no mirror link named '{name}'.")
        return row

    def link(
        self, workspace: str, request: LinkRequest, *, created_by: str | None = None, check: bool = True
    ) -> LinkStatus:
        url = validate_target_url(request.url)
        target_workspace = validate_workspace_name(request.target_workspace) if request.target_workspace else None
        name = validate_link_name(request.name or default_link_name(url, target_workspace))
        credentials = request.credentials.validate()
        experiments_filter = (request.experiments_filter or "").strip() or None
        if experiments_filter:
            parse_filter(experiments_filter, EXPERIMENT_GRAMMAR)
        with self._db.read() as conn:
            workspace_id = self._workspace_id(conn, workspace)
            if mirror_store.link_named(conn, workspace_id, name) is not None:
                raise already_exists(f"Workspace '{workspace}' already has a mirror link named '{name}'.")
        if check and self._probe is not None:
            self._probe(url, target_workspace, credentials)
        sealed = self.secrets.seal(credentials)
        try:
            with self._db.write() as conn:
                workspace_id = self._workspace_id(conn, workspace)
                # In the transaction that fixes the cursor: older objects are back-filled, newer
                # ones reach the target through the outbox, and nothing is sent twice.
                runs = len(mirror_source.run_ids(conn, workspace_id))
                models = len(mirror_source.model_ids(conn, workspace_id))
                mirror_store.insert_link(
                    conn,
                    workspace_id=workspace_id,
                    name=name,
                    target_url=url,
                    target_workspace=target_workspace,
                    auth_kind=credentials.kind,
                    secret=sealed,
                    experiments_filter=experiments_filter,
                    paused=False,
                    creation_time=now_ms(),
                    created_by=created_by,
                    cursor=mirror_store.last_seq(conn, workspace_id),
                    backfill="pending",
                    backfill_runs=runs,
                    backfill_models=models,
                    backfill_total=runs + models,
                )
        except exc.IntegrityError as e:
            if is_foreign_key_violation(e):  # the workspace was deleted meanwhile
                raise not_found(f"Workspace '{workspace}' not found") from None
            raise already_exists(f"Workspace '{workspace}' already has a mirror link named '{name}'.") from None
        return self.status(workspace, name)[0]

    def unlink(self, workspace: str, name: str) -> None:
        with self._db.write() as conn:
            row = self._row(conn, workspace, name)
            mirror_store.delete_link(conn, row.id)
            mirror_store.trim(conn, row.workspace_id)

    def set_paused(self, workspace: str, name: str, paused: bool) -> LinkStatus:
        with self._db.write() as conn:
            row = self._row(conn, workspace, name)
            mirror_store.update_link(conn, row.id, paused=paused)
        return self.status(workspace, name)[0]

    def retry(self, workspace: str, name: str) -> int:
        """Send the link's parked entries again (and try a failing target at once)."""
        with self._db.write() as conn:
            row = self._row(conn, workspace, name)
            mirror_store.update_link(conn, row.id, failing_since=None)
            return mirror_store.request_retry(conn, row.id)

    def status(self, workspace: str, name: str | None = None) -> list[LinkStatus]:
        """Every link of the workspace (or the one named), with its counters."""
        now = now_ms()
        with self._db.read() as conn:
            workspace_id = self._workspace_id(conn, workspace)
            rows = mirror_store.links_of(conn, workspace_id)
            if name is not None:
                rows = [r for r in rows if r.name == name]
                if not rows:
                    raise not_found(f"Workspace '{workspace}' has no mirror link named '{name}'.")
            return [self._status_of(conn, row, workspace, now) for row in rows]

    def overview(self) -> list[LinkStatus]:
        """Every link of every workspace, with its counters (the metrics' mirror lag, at scrape time)."""
        now = now_ms()
        with self._db.read() as conn:
            names = {w.id: w.name for w in ws_store.list_all(conn)}
            return [
                self._status_of(conn, row, names.get(row.workspace_id, str(row.workspace_id)), now)
                for row in mirror_store.all_links(conn)
            ]

    @staticmethod
    def _status_of(conn: Any, row: LinkRow, workspace: str, now: int) -> LinkStatus:
        count, oldest = mirror_store.pending(conn, row.workspace_id, row.cursor)
        if row.backfill != "done":
            count += max(0, row.backfill_total - row.backfill_done) or 1
            oldest = min(oldest or row.creation_time, row.creation_time)
        return LinkStatus(
            name=row.name,
            source_workspace=workspace,
            target_url=row.target_url,
            target_workspace=row.target_workspace,
            auth=row.auth_kind,
            experiments_filter=row.experiments_filter,
            state=state_of(row),
            pending_items=count,
            lag_seconds=round(max(0, now - oldest) / 1000, 3) if oldest is not None else 0.0,
            oldest_pending_at=oldest,
            last_error=row.last_error,
            last_error_at=row.last_error_time,
            parked_items=mirror_store.parked_count(conn, row.id),
            backfill=row.backfill,
            backfill_done=row.backfill_done,
            backfill_total=row.backfill_total,
            sent_items=row.sent_items,
            sent_runs=row.sent_runs,
            sent_points=row.sent_points,
            sent_bytes=row.sent_bytes,
            created_at=row.creation_time,
            created_by=row.created_by,
            last_success_at=row.last_success_time,
        )
