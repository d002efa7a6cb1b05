"""The replicator: exactly one active per source database, elected through a lease row.

Every server process (with `--mirror on`, the default) and every `runyard mirror` process runs a
`Replicator`; each tries to take or renew the lease `replicator` every `RENEW_SECONDS` (it lasts
`LEASE_SECONDS`). The holder runs one `LinkWorker` thread per link that is not paused and notices
new, paused, resumed and removed links within `RENEW_SECONDS`; the others stand by. A holder that
dies (SIGKILL) is replaced once its lease expires; one that cannot renew stops its workers before
the lease can expire, so two replicators never send at the same time for longer than a pass.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import exc

from runyard.domain.entities import Workspace
from runyard.domain.workspaces import NAMING_FLAT, NAMING_PATH
from runyard.mirror.sync import LinkSync
from runyard.mirror.target import Target, TargetError
from runyard.mirror.worker import LinkWorker
from runyard.services.artifacts import ArtifactService
from runyard.services.context import RequestContext, now_ms
from runyard.services.experiments import ExperimentService
from runyard.services.mirror.secrets import SecretBox
from runyard.store import mirror as mirror_store
from runyard.store.database import Database
from runyard.store.mirror import LinkRow

if TYPE_CHECKING:
    from runyard.services.container import Services

log = logging.getLogger(__name__)

LEASE = "replicator"
LEASE_SECONDS = 10.0
RENEW_SECONDS = 2.0


def target_for(row: LinkRow, secrets: SecretBox) -> Target:
    return Target(row.target_url, row.target_workspace, secrets.open(row.auth_kind, row.secret))


def target_naming(target: Target, workspace: str | None) -> str:
    """The target workspace's naming convention: a Runyard target says so, others are flat.

    A failure that may pass (no answer, 5xx, 401/403) raises: guessing `flat` then would name the
    link's experiments wrongly on a `path` workspace for as long as the worker lives."""
    if not workspace or target.kind() != "runyard":
        return NAMING_FLAT
    try:
        found = target.call("GET", f"/api/3.0/mlflow/workspaces/{workspace}")
    except TargetError as e:
        if e.transient or e.status in (401, 403):
            raise  # asked again on the next attempt: a guess would stick for the worker's life
        return NAMING_FLAT
    naming = (found.get("workspace") or found).get("naming")
    return NAMING_PATH if naming == NAMING_PATH else NAMING_FLAT


class Replicator:
    """Competes for the lease and, while holding it, runs the links' workers."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactService,
        experiments: ExperimentService,
        secrets: SecretBox,
        *,
        source_url: str,
        make_target: Callable[[LinkRow], Target] | None = None,
        renew_seconds: float = RENEW_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._experiments = experiments
        self._secrets = secrets
        self._source_url = source_url
        self._make_target = make_target or (lambda row: target_for(row, secrets))
        self._renew = renew_seconds
        self._lease_ms = int(lease_seconds * 1000)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held_until = 0.0
        self._workers: dict[int, LinkWorker] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-replicator", daemon=True)

    @classmethod
    def of(cls, services: Services, source_url: str | None = None) -> Replicator:
        """A replicator over a process's services (the server's URL names the mirrors' source)."""
        return cls(
            services.db,
            services.artifacts,
            services.experiments,
            services.mirror_links.secrets,
            source_url=source_url or services.settings.source_url,
        )

    def start(self) -> Replicator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(15)
        self._stop_workers()
        try:
            with self._db.write() as conn:
                mirror_store.release_lease(conn, LEASE, self.holder)
        except Exception:
            log.debug("releasing the replicator lease failed", exc_info=True)

    def request_stop(self) -> None:
        """Ask `run_forever` to return (from a signal handler: no waiting here)."""
        self._stop.set()

    def run_forever(self) -> None:
        """`runyard mirror`: the loop on the calling thread, until stopped (Ctrl-C, SIGTERM)."""
        try:
            self._loop()
        finally:
            self.stop()

    @property
    def leading(self) -> bool:
        return time.monotonic() < self._held_until

    def _holding(self) -> bool:
        return self.leading and not self._stop.is_set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with self._db.write() as conn:
                    held = mirror_store.take_lease(conn, LEASE, self.holder, now_ms(), self._lease_ms)
            except exc.IntegrityError:
                held = False  # another process created the lease row first
            except Exception:
                log.exception("renewing the replicator lease failed")
                held = False
            if held:
                # Counted from before the renewal: never believe the lease lasts longer than it does.
                self._held_until = started + self._lease_ms / 1000 - self._renew
                self._sync_workers()
            else:
                self._held_until = 0.0
                self._stop_workers()
            self._stop.wait(self._renew)

    def _sync_workers(self) -> None:
        with self._db.read() as conn:
            links = {row.id: row for row in mirror_store.all_links(conn)}
        for link_id in list(self._workers):
            worker = self._workers[link_id]
            if link_id not in links or links[link_id].paused or not worker.alive:
                worker.stop(wait=0)
                del self._workers[link_id]
        for link_id, row in links.items():
            if row.paused or link_id in self._workers:
                continue
            worker = LinkWorker(self._db, link_id, self._make_target, self._make_sync, self._holding)
            self._workers[link_id] = worker
            worker.start()

    def _stop_workers(self) -> None:
        for worker in self._workers.values():
            worker.stop()
        self._workers.clear()

    def _make_sync(self, row: LinkRow, workspace: Workspace, target: Target) -> LinkSync:
        return LinkSync(
            self._db,
            self._artifacts,
            row.id,
            workspace,
            target,
            source_url=self._source_url,
            target_naming=target_naming(target, row.target_workspace),
            select_experiments=partial(self._filtered, workspace, row.experiments_filter)
            if row.experiments_filter
            else None,
        )

    def _filtered(self, workspace: Workspace, text: str | None) -> set[int]:
        """The experiments a link's filter (the MLflow experiment filter language) selects now."""
        ctx = RequestContext(workspace=workspace)
        ids: set[int] = set()
        token: str | None = None
        while True:
            page = self._experiments.search(
                ctx, view_type="ALL", max_results=1000, filter_string=text, order_by=[], page_token=token
            )
            ids.update(int(e.experiment_id) for e in page.items)
            token = page.next_page_token
            if not token:
                return ids
