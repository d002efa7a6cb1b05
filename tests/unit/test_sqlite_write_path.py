"""The SQLite write path: group commit, the metric point writer, multi-row inserts, background checkpoints."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from runyard.domain.errors import MlflowError
from runyard.store import fastsql, metric_inbox
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.group_commit import GroupCommitFailed
from runyard.store.point_writer import PointWriter
from tests.unit.point_store import make_run, require_run


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}", background_checkpoints=True)
    with database.write() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield database
    database.dispose()


def _committed(db: Database) -> dict[int, str]:
    """What another connection sees: only committed rows."""
    raw = sqlite3.connect(db.url.database or "")
    try:
        return dict(raw.execute("SELECT k, v FROM t").fetchall())
    finally:
        raw.close()


def test_a_unit_is_committed_when_it_returns(db: Database) -> None:
    with db.write() as conn:
        conn.execute(text("INSERT INTO t VALUES (1, 'a')"))
    assert _committed(db) == {1: "a"}


def test_concurrent_units_all_commit_and_a_failing_one_writes_nothing(db: Database) -> None:
    start = threading.Barrier(16)
    errors: list[BaseException] = []

    def unit(k: int) -> None:
        start.wait()
        try:
            with db.write() as conn:
                conn.execute(text("INSERT INTO t VALUES (:k, 'x')"), {"k": k})
                if k % 5 == 0:
                    conn.execute(text("INSERT INTO t VALUES (:k, 'again')"), {"k": 1000 + k})
                    raise MlflowError("refused", "INVALID_PARAMETER_VALUE")
            assert k in _committed(db)  # visible to others as soon as the unit returned
        except MlflowError:
            pass
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=unit, args=(k,)) for k in range(1, 17)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert set(_committed(db)) == {k for k in range(1, 17) if k % 5 != 0}


def test_a_failed_commit_fails_every_unit_of_the_group(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from runyard.store import group_commit

    def refuse(self: group_commit.GroupCommitter, group: group_commit._Group) -> None:
        group.error = RuntimeError("disk full")
        original(self, group)

    original = group_commit.GroupCommitter._finish
    monkeypatch.setattr(group_commit.GroupCommitter, "_finish", refuse)
    with pytest.raises(GroupCommitFailed), db.write() as conn:
        conn.execute(text("INSERT INTO t VALUES (7, 'lost')"))
    assert _committed(db) == {}


def test_nested_write_is_refused(db: Database) -> None:
    with pytest.raises(RuntimeError, match="nested"), db.write(), db.write():
        pass


def test_insert_flat_splits_statements_under_the_variable_limit(db: Database) -> None:
    rows = [(k, f"v{k}") for k in range(1, 1201)]  # 2,400 values: three statements
    with db.write() as conn:
        fastsql.insert_rows(conn, "INSERT INTO t (k, v)", rows, "ON CONFLICT (k) DO NOTHING")
        fastsql.insert_rows(conn, "INSERT INTO t (k, v)", [(5, "dup")], "ON CONFLICT (k) DO NOTHING")
    committed = _committed(db)
    assert len(committed) == 1200
    assert committed[5] == "v5"


def test_prepare_points_keeps_nan_and_the_newest_point_per_key() -> None:
    prepared = run_store.prepare_points(
        [("a", 1.0, 10, 1), ("a", math.nan, 5, 3), ("b", 2.0, 1, 0), ("a", 0.5, 20, 2)], {"a": 1, "b": 2}
    )
    assert prepared.points == [
        *(0, 1, 1, 10, 1.0, False),
        *(0, 1, 3, 5, 0.0, True),
        *(0, 2, 0, 1, 2.0, False),
        *(0, 1, 2, 20, 0.5, False),
    ]
    assert prepared.latest == [*(0, 1, 3, 5, 0.0, True), *(0, 2, 0, 1, 2.0, False)]


def test_background_checkpoints_truncate_the_wal_on_dispose(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    database = Database(f"sqlite:///{path}", background_checkpoints=True)
    with database.write() as conn:
        conn.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"))
        conn.execute(text("INSERT INTO t VALUES (1, :v)"), {"v": "x" * 100_000})
    database.dispose()
    wal = path.with_name("c.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert sqlite3.connect(path).execute("SELECT length(v) FROM t").fetchone() == (100_000,)


# --- the point writer ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Database]:
    from runyard.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    upgrade(url)
    database = Database(url)
    yield database
    database.dispose()


def _points(db: Database, pk: int) -> list[tuple[int, float]]:
    with db.read() as conn:
        rows = conn.execute(text("SELECT step, value FROM metrics WHERE run_id = :pk"), {"pk": pk})
        return [(int(s), float(v)) for s, v in rows]


def test_point_writer_commits_before_answering_and_refuses_per_request(store: Database) -> None:
    a, b = make_run(store, "a"), make_run(store, "b")
    writer = PointWriter(store)
    try:
        futures = [
            writer.submit(run.info.run_uuid, run_store.prepare_points([("m", float(i), i, i)], {"m": 1}), require_run)
            for i in range(50)
            for run in (a, b)
        ]
        missing = writer.submit("f" * 32, run_store.prepare_points([("m", 1.0, 1, 1)], {"m": 1}), require_run)
        for future in futures:
            assert future.result(timeout=30) is None
        with pytest.raises(MlflowError, match="not found"):
            missing.result(timeout=30)
    finally:
        writer.stop()
    assert sorted(_points(store, a.pk)) == [(i, float(i)) for i in range(50)]
    assert len(_points(store, b.pk)) == 50
    with pytest.raises(RuntimeError, match="stopped"):
        writer.submit(a.info.run_uuid, run_store.prepare_points([], {}), require_run)


def _inbox(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM metric_inbox")).scalar_one())


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_acknowledged_points_are_committed_to_the_inbox_and_moved_when_idle(store: Database) -> None:
    a = make_run(store, "a")
    writer = PointWriter(store)
    try:
        # The same point twice (a client's retry) and a NaN; latest values are current at once.
        points = [("m", 1.0, 10, 1), ("m", 1.0, 10, 1), ("m", math.nan, 11, 2), ("n", 5.0, 1, 0)]
        writer.submit(a.info.run_uuid, run_store.prepare_points(points, {"m": 1, "n": 2}), require_run).result(30)
        with store.read() as conn:
            latest = conn.execute(
                text("SELECT key_id, step, is_nan FROM latest_metrics WHERE run_id = :pk"), {"pk": a.pk}
            )
            assert sorted(tuple(r) for r in latest) == [(1, 2, 1), (2, 0, 0)]
        assert _wait_until(lambda: _inbox(store) == 0)
        assert sorted(_points(store, a.pk)) == [(0, 5.0), (1, 1.0), (2, 0.0)]
    finally:
        writer.stop()


def test_points_left_in_the_inbox_by_a_stopped_process_are_moved(store: Database) -> None:
    a = make_run(store, "a")
    with store.write() as conn:
        metric_inbox.append(conn, 6, [a.pk, 1, 7, 70, 0.5, False, a.pk, 1, 8, 80, 0.25, False])
    assert _inbox(store) == 2 and _points(store, a.pk) == []
    writer = PointWriter(store)
    try:
        assert _wait_until(lambda: _inbox(store) == 0)
    finally:
        writer.stop()
    assert sorted(_points(store, a.pk)) == [(7, 0.5), (8, 0.25)]


def test_moving_the_inbox_keeps_points_already_in_metrics_once(store: Database) -> None:
    a = make_run(store, "a")
    with store.write() as conn:
        run_store.insert_points(conn, a.pk, run_store.prepare_points([("m", 1.0, 1, 1)], {"m": 1}))
        metric_inbox.append(conn, 6, [a.pk, 1, 1, 1, 1.0, False, a.pk, 1, 2, 2, 2.0, False])
        assert metric_inbox.pending(conn)
        metric_inbox.move_all(conn)
        assert not metric_inbox.pending(conn)
    assert sorted(_points(store, a.pk)) == [(1, 1.0), (2, 2.0)]
