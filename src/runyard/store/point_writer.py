"""The metric point writer: one thread that writes queued metric points to the store in groups.

Metric points are most of what a tracking server writes (training loops, autologging). On SQLite
every write is serialised anyway; on PostgreSQL every commit waits for a WAL flush; and in a Python
server each hand-over between threads costs a wait for the interpreter lock. So metrics-only writes
are queued here instead of each taking a service thread: the writer takes everything queued (up
to `MAX_GROUP_POINTS`), looks the runs up in one query, lets the caller's rule (`check`) accept or
refuse each request, and inserts all the accepted points with a few multi-row statements in one
transaction. Each request's future is resolved only after that transaction committed; a refused
request writes nothing; if the transaction fails, every request of the group fails.

On SQLite the points go to `metric_inbox` (see there); the writer moves the inbox into `metrics`
once it holds `MOVE_AFTER_POINTS` points, when no request has come for `IDLE_MOVE_SECONDS`, and
when it stops.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import Connection

from runyard.store import metric_inbox
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.runs import PreparedPoints, RunRow

log = logging.getLogger(__name__)

MAX_GROUP_POINTS = 20_000
# Planner statistics are refreshed (PostgreSQL) once this many points were written since the last
# ANALYZE, then each time the table has doubled: a fresh database's tables are analyzed while they
# fill. Counted over every process writing to the database (see `_analyze`), checked each time this
# process has written `ANALYZE_CHECK_POINTS` more.
ANALYZE_AFTER_POINTS = 100_000
ANALYZE_CHECK_POINTS = 20_000
# Moving fewer points at a time writes each series' page more often; more makes one move (which
# holds the write lock) longer. Measured on this project's benchmark machine: ~8k points ≈ 14 ms.
MOVE_AFTER_POINTS = 8_000
IDLE_MOVE_SECONDS = 0.05

RunCheck = Callable[[RunRow | None], None]
"""Raises (an MlflowError) if the points may not be written to this run (None: no such run)."""

PointsRecorder = Callable[[Connection, list[tuple[int, str, PreparedPoints]]], None]
"""Called in the group's transaction with (workspace id, run uuid, points) of every accepted request
(the mirror's outbox journal)."""

GroupObserver = Callable[[int, int], None]
"""Told (requests, points) of every group written, after its commit (the metrics, with `--metrics`)."""


@dataclass
class _Request:
    run_uuid: str
    points: PreparedPoints
    check: RunCheck
    future: Future[None] = field(default_factory=Future)
    refused: BaseException | None = None


class PointWriter:
    """Writes queued metric points from one thread, one transaction per group."""

    def __init__(
        self,
        db: Database,
        analyze_after_points: int = ANALYZE_AFTER_POINTS,
        recorder: PointsRecorder | None = None,
    ) -> None:
        self._db = db
        self._recorder = recorder
        self._written = 0
        self._analyze_after = analyze_after_points
        self._check_every = min(analyze_after_points, ANALYZE_CHECK_POINTS)
        self._check_at = self._check_every
        self._since_analyze = 0  # points this process wrote since it last ran ANALYZE
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._closed = False
        # SQLite: points go to the inbox (see `metric_inbox`); PostgreSQL has no page-per-commit cost.
        self._use_inbox = db.is_sqlite
        self._staged = 0  # points this writer appended to the inbox since its last move
        self.on_group: GroupObserver | None = None
        self._thread = threading.Thread(target=self._run, name="runyard-point-writer", daemon=True)
        self._thread.start()

    def submit(self, run_uuid: str, points: PreparedPoints, check: RunCheck) -> Future[None]:
        """Queue points for a run; the future completes once they are committed (or refused)."""
        if self._closed:
            raise RuntimeError("the point writer is stopped")
        request = _Request(run_uuid, points, check)
        self._queue.put(request)
        return request.future

    def queue_depth(self) -> int:
        """Requests waiting for the writer (approximate, as `qsize` is)."""
        return self._queue.qsize()

    def stop(self) -> None:
        """Write what is queued, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=60)

    def _run(self) -> None:
        # Points a previous process left in the inbox are moved at the first idle moment.
        self._staged = 1 if self._use_inbox else 0
        while True:
            try:
                first = self._queue.get(timeout=IDLE_MOVE_SECONDS if self._staged else None)
            except queue.Empty:
                self._move()
                continue
            if first is None:
                if self._use_inbox:
                    self._move()
                return
            group = [first]
            size = first.points.count
            stopping = False
            while size < MAX_GROUP_POINTS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
                size += more.points.count
            self._write(group)
            if self._written >= self._check_at:
                self._check_at = self._written + self._check_every
                self._analyze()
            if self._staged >= MOVE_AFTER_POINTS:
                self._move()
            if stopping:
                if self._use_inbox:
                    self._move()
                return

    def _analyze(self) -> None:
        """ANALYZE when the points written since the last one (by any process: the statistics
        collector's count, or this process's own when that is higher, as the collector reports with
        a delay) reach `analyze_after_points` and the table's size at that last ANALYZE. With N
        processes behind a load balancer each writes 1/N of the points: a count of its own would
        analyze a fresh table N times later."""
        try:
            analyzed_rows, changed = self._db.statistics_state("metrics")
            changed = max(changed, self._since_analyze)
            if changed >= max(self._analyze_after, analyzed_rows):
                self._db.refresh_statistics("metrics", "latest_metrics")
                self._since_analyze = 0
        except Exception:
            log.exception("refreshing planner statistics failed")

    def _move(self) -> None:
        """Move the inbox into `metrics`; on failure the points stay in the inbox (still committed)."""
        try:
            with self._db.write() as conn:
                metric_inbox.move_all(conn)
            self._staged = 0
        except Exception:
            log.exception("moving metric points out of the inbox failed; will retry")

    def _write(self, group: list[_Request]) -> None:
        try:
            with self._db.write() as conn:
                wanted = list({r.run_uuid for r in group})
                runs = {row.info.run_uuid: row for row in run_store.get_many(conn, wanted, hold=True)}
                accepted: list[tuple[int, PreparedPoints]] = []
                written: list[tuple[int, str, PreparedPoints]] = []
                for request in group:
                    row = runs.get(request.run_uuid)
                    try:
                        request.check(row)
                    except Exception as e:
                        request.refused = e
                        continue
                    assert row is not None  # a check refuses a missing run
                    accepted.append((row.pk, request.points))
                    written.append((row.workspace_id, row.info.run_uuid, request.points))
                run_store.insert_points_of_runs(conn, accepted, to_inbox=self._use_inbox)
                if self._recorder is not None:
                    self._recorder(conn, written)
        except BaseException as e:
            log.exception("writing %d metric requests failed", len(group))
            for request in group:
                request.future.set_exception(request.refused or e)
            if not isinstance(e, Exception):
                raise
            return
        for request in group:
            if request.refused is not None:
                request.future.set_exception(request.refused)
            else:
                self._written += request.points.count
                self._since_analyze += request.points.count
                self._staged += request.points.count if self._use_inbox else 0
                request.future.set_result(None)
        observer = self.on_group
        if observer is not None:
            observer(len(group), sum(r.points.count for r in group if r.refused is None))
