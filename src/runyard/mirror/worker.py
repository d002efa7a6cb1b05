"""One link's delivery loop: back-fill, then the outbox in order, with retries and parking.

The loop reads the workspace's outbox after the link's cursor, groups the entries by object (a
run's state changes and tag deletions, a run's points, one file …), applies each group through
`LinkSync` and moves the cursor past every entry whose group is done. Delivery is at least once
and every send is idempotent, so the effect is exactly once:

- a transient failure (connection refused, timeout, 408/429/5xx, 401/403 — credentials may be
  fixed on the target) stops the pass; the link is `failing` and the pass is repeated after an
  exponential backoff with jitter, capped at 30 s, or after the target's `Retry-After`;
- a permanent refusal (any other 4xx) parks the group's entries with the error (which `status`
  shows as the link's last error, the link staying active) and the rest goes on; `runyard
  workspace retry` sends parked entries again;
- a crash or a lost lease repeats at most the work since the cursor was last saved.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection

from runyard.domain.entities import Workspace
from runyard.domain.errors import MlflowError
from runyard.domain.mirror import backoff_seconds
from runyard.mirror.sync import MODEL, RUN, LinkSync, Sent
from runyard.mirror.target import Target, TargetError
from runyard.services.context import now_ms
from runyard.services.mirror import journal as kinds
from runyard.store import mirror as mirror_store
from runyard.store import mirror_source
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.mirror import LinkRow, OutboxEntry

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
BACKFILL = "backfill"  # the `detail` of a parked back-fill entry: a retry sends the whole object
BATCH_ENTRIES = 2000
BATCH_PAYLOAD_BYTES = 8 << 20
SAVE_EVERY_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0

# Entry kinds grouped per object: what one `LinkSync` call handles together.
_GROUP = {
    kinds.EXPERIMENT: "experiment",
    kinds.EXPERIMENT_TAG_DELETED: "experiment",
    kinds.RUN: "run",
    kinds.RUN_TAG_DELETED: "run",
    kinds.POINTS: "points",
    kinds.POINTS_JSON: "points",
    kinds.MODEL: "model",
    kinds.MODEL_TAG_DELETED: "model",
    kinds.ARTIFACT: "file",
    kinds.ARTIFACT_DELETED: "file",
}


@dataclass
class _Unit:
    group: str
    entity: str
    entries: list[OutboxEntry] = field(default_factory=list)

    @property
    def first_seq(self) -> int:
        return self.entries[0].seq


def plan(entries: list[OutboxEntry]) -> list[_Unit]:
    """Entries grouped by object, in the order each object first appears."""
    units: dict[tuple[str, str, str | None], _Unit] = {}
    for entry in entries:
        group = _GROUP.get(entry.kind, entry.kind)
        key = (group, entry.entity, entry.detail if group == "file" else None)
        unit = units.get(key)
        if unit is None:
            unit = units[key] = _Unit(group, entry.entity)
        unit.entries.append(entry)
    return list(units.values())


def _permanent(error: Exception) -> bool:
    if isinstance(error, TargetError):
        return not error.transient and error.status not in (401, 403)
    return False


TargetFactory = Callable[[LinkRow], Target]
SyncFactory = Callable[[LinkRow, Workspace, Target], LinkSync]


class LinkWorker:
    """Delivers one link's entries on a thread of its own until stopped."""

    def __init__(
        self,
        db: Database,
        link_id: int,
        make_target: TargetFactory,
        make_sync: SyncFactory,
        holding: Callable[[], bool],
    ) -> None:
        self._db = db
        self.link_id = link_id
        self._make_target = make_target
        self._make_sync = make_sync
        self._holding = holding
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._target: Target | None = None
        self._config: tuple[object, ...] | None = None
        self._sync: LinkSync | None = None
        self._thread = threading.Thread(target=self._loop, name=f"runyard-mirror-{link_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(wait)

    def wake(self) -> None:
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _loop(self) -> None:
        attempt = 0
        while not self._stop.is_set() and self._holding():
            try:
                busy = self.step()
            except Exception as error:
                attempt += 1
                self._record_failure(error)
                wait = backoff_seconds(attempt, cap=MAX_BACKOFF_SECONDS, jitter=random.random())
                retry_after = error.retry_after if isinstance(error, TargetError) else None
                if retry_after is not None:
                    wait = min(MAX_BACKOFF_SECONDS * 2, max(wait, retry_after))
                self._sleep(wait)
                continue
            if attempt:
                attempt = 0
                self._clear_failure()
            if not busy:
                self._sleep(POLL_SECONDS)
        if self._target is not None:
            self._target.close()

    # --- status on the link -------------------------------------------------------------------

    def _record_failure(self, error: Exception) -> None:
        if isinstance(error, (TargetError, MlflowError)):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
            log.exception("mirror link %s: unexpected failure", self.link_id)
        now = now_ms()
        try:
            with self._db.write() as conn:
                row = mirror_store.link(conn, self.link_id)
                if row is not None:
                    mirror_store.update_link(
                        conn,
                        self.link_id,
                        last_error=message[:2000],
                        last_error_time=now,
                        failing_since=row.failing_since or now,
                    )
        except Exception:
            log.exception("mirror link %s: recording a failure failed", self.link_id)

    def _clear_failure(self) -> None:
        with self._db.write() as conn:
            mirror_store.update_link(conn, self.link_id, failing_since=None)

    # --- one pass -----------------------------------------------------------------------------

    def _prepare(self) -> tuple[LinkRow, Workspace, LinkSync] | None:
        with self._db.read() as conn:
            row = mirror_store.link(conn, self.link_id)
            workspace = ws_store.get(conn, row.workspace_id) if row is not None else None
        if row is None or workspace is None:
            self._stop.set()
            return None
        if row.paused:
            return None
        config = (row.target_url, row.target_workspace, row.auth_kind, row.secret, row.experiments_filter, workspace)
        if self._sync is None or config != self._config:
            if self._target is not None:
                self._target.close()
            self._target = self._make_target(row)
            self._sync = self._make_sync(row, workspace, self._target)
            self._config = config
        return row, workspace, self._sync

    def step(self) -> bool:
        """One pass; True if there was anything to do (then the next pass follows at once)."""
        prepared = self._prepare()
        if prepared is None:
            return False
        row, workspace, sync = prepared
        if row.backfill != "done":
            self._backfill(row, workspace, sync)
            return True
        if self._retry_parked(sync):
            return True
        return self._drain(row, sync)

    def _apply(self, sync: LinkSync, unit: _Unit) -> Sent:
        sent = Sent()
        entries = unit.entries
        if unit.group == "experiment":
            for e in entries:
                if e.kind == kinds.EXPERIMENT_TAG_DELETED and e.detail:
                    sync.delete_experiment_tag(int(unit.entity), e.detail)
            sync.sync_experiment(int(unit.entity))
        elif unit.group == "run":
            for e in entries:
                if e.kind == kinds.RUN_TAG_DELETED and e.detail:
                    sync.delete_run_tag(unit.entity, e.detail)
            sync.sync_run(unit.entity, sent)
        elif unit.group == "points":
            packed = [e.payload for e in entries if e.kind == kinds.POINTS and e.payload]
            sent.add(sync.send_points(unit.entity, packed))
            for e in entries:
                if e.kind == kinds.POINTS_JSON and e.payload:
                    sent.add(sync.send_metric_objects(unit.entity, e.payload))
        elif unit.group == "model":
            for e in entries:
                if e.kind == kinds.MODEL_TAG_DELETED and e.detail:
                    sync.delete_model_tag(unit.entity, e.detail)
            sync.sync_model(unit.entity, sent)
        elif unit.group == "file":
            last = entries[-1]
            owner = RUN if not unit.entity.startswith("m-") else MODEL
            if last.detail:
                if last.kind == kinds.ARTIFACT_DELETED:
                    sync.delete_file(owner, unit.entity, last.detail)
                else:
                    sent.add(sync.send_file(owner, unit.entity, last.detail))
        return sent

    def _save(self, cursor: int | None, sent: Sent, items: int) -> None:
        with self._db.write() as conn:
            if cursor is not None:
                mirror_store.update_link(conn, self.link_id, cursor=cursor)
            mirror_store.add_counters(
                conn, self.link_id, items=items, runs=sent.runs, points=sent.points, size=sent.bytes, now=now_ms()
            )

    def _drain(self, row: LinkRow, sync: LinkSync) -> bool:
        with self._db.read() as conn:
            entries = mirror_store.entries_after(conn, row.workspace_id, row.cursor, BATCH_ENTRIES)
        if not entries:
            return False
        size = 0
        for i, entry in enumerate(entries):
            size += len(entry.payload or b"")
            if size > BATCH_PAYLOAD_BYTES and i > 0:
                entries = entries[:i]
                break
        units = plan(entries)
        sent, items, saved_at = Sent(), 0, time.monotonic()
        cursor = row.cursor
        for index, unit in enumerate(units):
            if not self._holding() or self._stop.is_set():
                break
            try:
                sent.add(self._apply(sync, unit))
            except Exception as error:
                if not _permanent(error):
                    self._save(cursor, sent, items)
                    raise
                self._park(unit, str(error))
            items += len(unit.entries)
            following = units[index + 1].first_seq - 1 if index + 1 < len(units) else entries[-1].seq
            cursor = max(cursor, following)
            if time.monotonic() - saved_at > SAVE_EVERY_SECONDS:
                self._save(cursor, sent, items)
                sent, items, saved_at = Sent(), 0, time.monotonic()
        self._save(cursor, sent, items)
        with self._db.write() as conn:
            mirror_store.trim(conn, row.workspace_id)
        return True

    def _park(self, unit: _Unit, error: str) -> None:
        count = len(unit.entries)
        log.warning("mirror link %s: parked %d entr(ies) for %s: %s", self.link_id, count, unit.entity, error)
        now = now_ms()
        with self._db.write() as conn:
            for entry in unit.entries:
                mirror_store.park(conn, self.link_id, entry, error, now)
            self._note_parked(conn, unit.group, unit.entity, error, now)

    def _note_parked(self, conn: Connection, group: str, entity: str, error: str, now: int) -> None:
        """A parked item's error is the link's last error (`status` shows it); the link does not
        become failing: the rest is delivered."""
        message = f"parked {group} {entity}: {error}"
        mirror_store.update_link(conn, self.link_id, last_error=message[:2000], last_error_time=now)

    def _retry_parked(self, sync: LinkSync) -> bool:
        with self._db.read() as conn:
            waiting = mirror_store.parked(conn, self.link_id, retry_only=True, limit=100)
        if not waiting:
            return False
        for parked in waiting:
            entry = OutboxEntry(
                parked.seq, parked.kind, parked.entity, parked.detail, parked.payload, parked.creation_time
            )
            unit = _Unit(_GROUP.get(entry.kind, entry.kind), entry.entity, [entry])
            try:
                sent = self._apply_backfilled(sync, entry) if entry.detail == BACKFILL else self._apply(sync, unit)
            except Exception as error:
                if not _permanent(error):
                    raise
                now = now_ms()
                with self._db.write() as conn:
                    mirror_store.repark(conn, parked.id, str(error), now)
                    self._note_parked(conn, unit.group, unit.entity, str(error), now)
                continue
            with self._db.write() as conn:
                mirror_store.unpark(conn, parked.id)
            self._save(None, sent, 1)
        return True

    # --- back-fill ----------------------------------------------------------------------------

    def _backfill(self, row: LinkRow, workspace: Workspace, sync: LinkSync) -> None:
        """What the workspace held when it was linked: its runs and then its logged models, in
        creation order (resumed after the last one done; newer ones are in the outbox), then every
        experiment (cheap when already sent)."""
        with self._db.read() as conn:
            runs = mirror_source.run_ids(conn, workspace.id)[: row.backfill_runs]
            models = mirror_source.model_ids(conn, workspace.id)[: row.backfill_models]
            experiments = mirror_source.experiment_ids(conn, workspace.id)
        if row.backfill == "pending":
            with self._db.write() as conn:
                mirror_store.update_link(conn, self.link_id, backfill="running", backfill_done=0)
        done = row.backfill_done if row.backfill == "running" else 0
        todo: list[tuple[str, str]] = [(RUN, r) for r in runs] + [(MODEL, m) for m in models]
        for position in range(done, len(todo)):
            if not self._holding() or self._stop.is_set():
                return
            kind, entity = todo[position]
            sent = Sent()
            send = self._full_run if kind == RUN else self._full_model
            self._backfill_one(partial(send, sync, entity, sent), kind, entity)
            with self._db.write() as conn:
                mirror_store.update_link(conn, self.link_id, backfill_done=position + 1)
                mirror_store.add_counters(
                    conn, self.link_id, items=1, runs=sent.runs, points=sent.points, size=sent.bytes, now=now_ms()
                )
        for experiment_id in experiments:
            if sync.included(experiment_id):
                self._backfill_one(partial(sync.sync_experiment, experiment_id), "experiment", str(experiment_id))
        with self._db.write() as conn:
            mirror_store.update_link(conn, self.link_id, backfill="done", backfill_done=len(todo))

    def _apply_backfilled(self, sync: LinkSync, entry: OutboxEntry) -> Sent:
        sent = Sent()
        if entry.kind == kinds.RUN:
            self._full_run(sync, entry.entity, sent)
        elif entry.kind == kinds.MODEL:
            self._full_model(sync, entry.entity, sent)
        else:
            sync.sync_experiment(int(entry.entity))
        return sent

    def _full_run(self, sync: LinkSync, run_uuid: str, sent: Sent) -> None:
        if sync.sync_run(run_uuid, sent):
            sent.add(sync.send_all_points(run_uuid))
            sent.add(sync.send_tree(RUN, run_uuid))

    def _full_model(self, sync: LinkSync, model_id: str, sent: Sent) -> None:
        if sync.sync_model(model_id, sent):
            sent.add(sync.send_tree(MODEL, model_id))

    def _backfill_one(self, send: Callable[[], object], kind: str, entity: str) -> None:
        try:
            send()
        except Exception as error:
            if not _permanent(error):
                raise
            group_kind = {RUN: kinds.RUN, MODEL: kinds.MODEL}.get(kind, kinds.EXPERIMENT)
            entry = OutboxEntry(0, group_kind, entity, BACKFILL, None, now_ms())
            self._park(_Unit(kind, entity, [entry]), str(error))
