"""The point writer and the many-run point insert on both stores (PostgreSQL refuses to update a
row twice in one statement, so a group's latest values must be merged per series first)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.point_writer import PointWriter
from tests.unit.point_store import make_run, migrated_database, require_run


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from migrated_database(request, tmp_path)


def _latest(db: Database, pk: int) -> dict[int, tuple[int, float, bool]]:
    with db.read() as conn:
        rows = conn.execute(
            text("SELECT key_id, step, value, is_nan FROM latest_metrics WHERE run_id = :pk"), {"pk": pk}
        )
        return {int(k): (int(s), float(v), bool(n)) for k, s, v, n in rows}


def _points(db: Database, pk: int) -> int:
    with db.read() as conn:
        query = (
            "SELECT (SELECT COUNT(*) FROM metrics WHERE run_id = :pk) "
            "+ (SELECT COUNT(*) FROM metric_inbox WHERE run_id = :pk)"
        )
        return int(conn.execute(text(query), {"pk": pk}).scalar_one())


def test_batches_of_one_run_in_one_statement_keep_the_newest_point_per_series(store: Database) -> None:
    a, b = make_run(store, "a"), make_run(store, "b")
    keys = {"m": 1, "n": 2}
    batches = [
        (a.pk, run_store.prepare_points([("m", 1.0, 10, 1), ("n", 5.0, 10, 7)], keys)),
        (b.pk, run_store.prepare_points([("m", 9.0, 10, 1)], keys)),
        (a.pk, run_store.prepare_points([("m", 2.0, 20, 2), ("n", 4.0, 30, 3)], keys)),
        (a.pk, run_store.prepare_points([("m", math.nan, 5, 2), ("m", 0.5, 1, 0)], keys)),
    ]
    with store.write() as conn:
        run_store.insert_points_of_runs(conn, batches)
    # step 2 twice: the later timestamp wins (20 > 5); n keeps step 7 over the later step-3 point.
    assert _latest(store, a.pk) == {1: (2, 2.0, False), 2: (7, 5.0, False)}
    assert _latest(store, b.pk) == {1: (1, 9.0, False)}
    assert _points(store, a.pk) == 6


def test_the_writer_groups_requests_for_the_same_runs(store: Database) -> None:
    runs = [make_run(store, name) for name in ("a", "b", "c")]
    writer = PointWriter(store)
    try:
        futures = [
            writer.submit(
                run.info.run_uuid,
                run_store.prepare_points([("m", float(i), i, i), ("n", -float(i), i, i)], {"m": 1, "n": 2}),
                require_run,
            )
            for i in range(200)
            for run in runs
        ]
        for future in futures:
            assert future.result(timeout=60) is None
    finally:
        writer.stop()
    for run in runs:
        assert _latest(store, run.pk) == {1: (199, 199.0, False), 2: (199, -199.0, False)}
        assert _points(store, run.pk) == 400


def _reltuples(db: Database) -> float:
    with db.read() as conn:
        return float(conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'metrics'")).scalar_one())


@pytest.mark.parametrize("threshold", [50, 10**9])
def test_planner_statistics_are_refreshed_as_a_fresh_table_fills(store: Database, threshold: int) -> None:
    if store.is_sqlite:
        pytest.skip("PostgreSQL planner statistics")
    run = make_run(store, "a")
    writer = PointWriter(store, analyze_after_points=threshold)
    try:
        prepared = run_store.prepare_points([("m", float(i), i, i) for i in range(100)], {"m": 1})
        writer.submit(run.info.run_uuid, prepared, require_run).result(timeout=60)
    finally:
        writer.stop()
    # A table never analyzed has reltuples -1; ANALYZE sets it to the sampled row count.
    assert _reltuples(store) == (100 if threshold == 50 else -1)
