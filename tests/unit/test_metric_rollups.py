"""Metric rollups on both stores: kept equal to a fresh build whatever order points arrive in, and
covering an x range with blocks that hold exactly its points."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from runyard.domain.downsampling import Block, Logged, merge, summarize
from runyard.store import fastsql
from runyard.store import metric_rollups as rollups
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.migrate import upgrade
from tests.unit.point_store import make_run, migrated_database

KEY = 1


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from migrated_database(request, tmp_path)


def _log(db: Database, pk: int, points: Sequence[Logged]) -> None:
    with db.write() as conn:
        batch = [("m", v, t, s) for s, t, v in points]
        run_store.insert_points(conn, pk, run_store.prepare_points(batch, {"m": KEY}))


def _refresh(db: Database, pk: int) -> None:
    with db.write() as conn:
        rollups.refresh_all(conn, [(pk, KEY)])


def _comparable(blocks: Sequence[Block]) -> list[tuple[Any, ...]]:
    return [tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in b) for b in blocks]


def _stored(db: Database, pk: int) -> tuple[list[Logged], dict[int, list[Block]], int | None]:
    """The series' points (step order), its rollups by level, and its stale mark."""
    with db.read() as conn:
        rows = fastsql.execute(
            conn,
            "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_id = ? AND key_id = ? "
            "ORDER BY step, timestamp, value, is_nan",
            (pk, KEY),
        ).fetchall()
        points: list[Logged] = [(s, t, math.nan if n else v) for s, t, v, n in rows]
        state = rollups.state(conn, pk, KEY)
        levels = {
            level: rollups._blocks(conn, pk, KEY, level, 0, 2**40)
            for level in range(0 if state.top is None else state.top + 1)
        }
    return points, levels, state.stale_from


def _fresh_build(points: list[Logged]) -> dict[int, list[Block]]:
    level = [summarize(points[i : i + rollups.LEAF]) for i in range(0, len(points), rollups.LEAF)]
    out = {0: level}
    while len(level) > rollups.FANOUT:
        level = [merge(level[i : i + rollups.FANOUT]) for i in range(0, len(level), rollups.FANOUT)]
        out[len(out)] = level
    return out


def _check_current(db: Database, pk: int) -> list[Logged]:
    points, levels, stale = _stored(db, pk)
    assert stale is None
    expected = _fresh_build(points)
    assert {k: _comparable(v) for k, v in levels.items()} == {k: _comparable(v) for k, v in expected.items()}
    return points


def _value(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice([math.nan, math.inf, -math.inf])
    return round(rng.uniform(-100, 100), 2)


@pytest.mark.parametrize("seed", range(4))
def test_rollups_stay_a_fresh_build_whatever_order_points_come_in(store: Database, seed: int) -> None:
    rng = random.Random(seed)
    pk = make_run(store, f"r{seed}").pk
    steps = 3000
    _log(store, pk, [(s, 1000 + s, _value(rng)) for s in range(0, steps, 2)])
    _refresh(store, pk)
    _check_current(store, pk)
    for round_ in range(12):
        kind = rng.choice(["append", "middle", "same-step", "replay", "start"])
        if kind == "append":
            base = steps + round_ * 100
            batch = [(s, 5000 + s, _value(rng)) for s in range(base, base + rng.randint(1, 60))]
        elif kind == "middle":
            size = rng.randint(1, 20)
            batch = [(rng.randrange(1, steps, 2), rng.randrange(10_000), _value(rng)) for _ in range(size)]
        elif kind == "same-step":
            step = rng.randrange(steps)
            batch = [(step, rng.randrange(10_000), _value(rng)) for _ in range(40)]
        elif kind == "replay":
            batch = [(s, 1000 + s, 0.0) for s in range(0, 40, 2)]  # may equal stored points: no change
        else:
            batch = [(-5 - i, 1, _value(rng)) for i in range(3)]
        _log(store, pk, batch)
        if rng.random() < 0.7:
            _refresh(store, pk)
            _check_current(store, pk)
    _refresh(store, pk)
    _check_current(store, pk)


def test_refresh_rebuilds_only_the_tail_of_an_appended_series(store: Database) -> None:
    pk = make_run(store, "tail").pk
    _log(store, pk, [(s, s, float(s)) for s in range(5000)])
    _refresh(store, pk)
    with store.read() as conn:
        before = rollups._blocks(conn, pk, KEY, 0, 0, 2**40)
    _log(store, pk, [(5000, 5000, -1.0)])
    with store.read() as conn:
        assert rollups.state(conn, pk, KEY).stale_from == 5000
    _refresh(store, pk)
    points = _check_current(store, pk)
    assert len(points) == 5001
    with store.read() as conn:
        after = rollups._blocks(conn, pk, KEY, 0, 0, 2**40)
    # 5,000 points: 312 full leaves and one of 8; the point appended rebuilds that one only.
    assert len(before) == len(after) == 313
    assert after[:-1] == before[:-1] and (before[-1][0], after[-1][0]) == (8, 9)


def test_points_written_while_refreshing_leave_the_series_stale(store: Database) -> None:
    """A writer racing a refresh: afterwards the series is either current or marked stale, and a
    refresh then matches a fresh build (on PostgreSQL the refresh locks the series' row)."""
    pk = make_run(store, "race").pk
    _log(store, pk, [(s, s, float(s % 17)) for s in range(4000)])
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        step = 4000
        try:
            while not stop.is_set() and step < 6000:
                _log(store, pk, [(step, step, float(step % 13)), (step // 2, step, 0.5)])
                step += 1
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(15):
            _refresh(store, pk)
    finally:
        stop.set()
        thread.join()
    assert not errors
    _refresh(store, pk)
    _check_current(store, pk)


@pytest.mark.parametrize("seed", range(3))
def test_cover_holds_exactly_the_points_in_range(store: Database, seed: int) -> None:
    rng = random.Random(seed)
    pk = make_run(store, f"c{seed}").pk
    series: list[Logged] = []
    ts = 10_000
    for s in range(20_000):
        for _ in range(1 if rng.random() < 0.9 else rng.randint(2, 4)):
            ts += rng.randint(0, 3)
            series.append((s * 3, ts, _value(rng)))
    _log(store, pk, series)
    _refresh(store, pk)
    points = _check_current(store, pk)
    with store.read() as conn:
        top = rollups.state(conn, pk, KEY).top
        assert top is not None
        for _ in range(25):
            by_time = rng.random() < 0.5
            at = 1 if by_time else 0
            first, last = int(points[0][at]), int(points[-1][at])
            a, b = sorted(rng.randint(first - 50, last + 50) for _ in range(2))
            want = rng.choice([5, 50, 500])
            covered = rollups.cover(conn, pk, KEY, top, by_time=by_time, lo=a, hi=b, want=want)
            assert covered is not None
            assert covered.extent == (points[0][at], points[-1][at])
            inside = [p for p in points if a <= p[at] <= b]
            if covered.blocks is None:
                if inside:
                    assert covered.span is not None
                    between = rollups.points_between(conn, pk, KEY, *covered.span)
                    assert set(inside) <= set(between)
                continue
            assert len(covered.blocks) >= want - 2  # cutting the ends may drop two
            assert _comparable([merge(covered.blocks)]) == _comparable([summarize(inside)])


def test_time_axis_needs_timestamps_in_step_order(store: Database) -> None:
    pk = make_run(store, "unordered").pk
    _log(store, pk, [(s, 10_000 - s if s == 2500 else s, 1.0) for s in range(5000)])
    _refresh(store, pk)
    with store.read() as conn:
        top = rollups.state(conn, pk, KEY).top
        assert top is not None
        assert rollups.cover(conn, pk, KEY, top, by_time=True, lo=None, hi=None, want=10) is None
        assert rollups.extent(conn, pk, KEY, top, by_time=True) is None
        assert rollups.extent(conn, pk, KEY, top, by_time=False) == (0, 4999)


def test_has_more_points(store: Database) -> None:
    pk = make_run(store, "few").pk
    _log(store, pk, [(s, s, 1.0) for s in range(10)])
    with store.read() as conn:
        assert rollups.has_more_points(conn, pk, KEY, 9)
        assert not rollups.has_more_points(conn, pk, KEY, 10)
        assert fastsql.execute(conn, "SELECT stale_from FROM latest_metrics WHERE run_id = ?", (pk,)).fetchone() == (0,)


def test_each_key_is_marked_stale_from_its_own_lowest_step(store: Database) -> None:
    pk = make_run(store, "keys").pk
    with store.write() as conn:
        batch = [("a", 1.0, 1, 50), ("b", 1.0, 1, 7), ("a", 1.0, 1, 40), ("b", 1.0, 1, 9)]
        run_store.insert_points(conn, pk, run_store.prepare_points(batch, {"a": 1, "b": 2}))
    with store.write() as conn:
        run_store.insert_points(conn, pk, run_store.prepare_points([("a", 2.0, 2, 60)], {"a": 1}))
        rows = fastsql.execute(conn, "SELECT key_id, stale_from, step FROM latest_metrics WHERE run_id = ?", (pk,))
        assert sorted(rows.fetchall()) == [(1, 40, 60), (2, 7, 9)]
    _refresh(store, pk)
    with store.write() as conn:
        run_store.insert_points(conn, pk, run_store.prepare_points([("a", 0.5, 3, 45)], {"a": 1}))
        rows = fastsql.execute(conn, "SELECT key_id, stale_from, step FROM latest_metrics WHERE run_id = ?", (pk,))
        assert sorted(rows.fetchall()) == [(1, 45, 60), (2, 7, 9)]


def test_the_chart_service_builds_rollups_and_a_workspace_delete_removes_them(tmp_path: Path) -> None:
    from runyard.config import Settings
    from runyard.services.container import Services
    from runyard.services.context import RequestContext

    settings = Settings(data_dir=tmp_path)
    upgrade(settings.database_url)
    services = Services.build(settings)
    try:
        workspace = services.workspaces.create("charts")
        ctx = RequestContext(workspace=workspace)
        experiment = services.experiments.create(ctx, "e", None, [])
        run = services.runs.create(ctx, experiment_id=experiment, user_id=None, run_name="r", start_time=0, tags=[])
        run_id = run.info.run_uuid
        for start in range(0, 3000, 1000):
            points = [("m", float(i % 7), i, i, None, None, None) for i in range(start, start + 1000)]
            services.runs.log_batch(ctx, run_id, metrics=points, params=[], tags=[])
        (series,) = services.metric_charts.downsampled(ctx, [run_id], ["m"], "step", 100)
        assert series.sampled and series.count == 3000 and len(series.points) <= 100

        def rollup_rows() -> int:
            with services.db.read() as conn:
                return int(fastsql.execute(conn, "SELECT COUNT(*) FROM metric_rollups").fetchone()[0])

        assert rollup_rows() > 3000 // rollups.LEAF
        services.workspaces.delete("charts", "CASCADE")
        assert rollup_rows() == 0
    finally:
        services.close()
