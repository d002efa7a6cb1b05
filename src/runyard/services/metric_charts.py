"""Metric series for the web UI's charts, downsampled on the server without losing spikes.

Each (run, key) series is cut to the visible x range and, when it holds more points than the
chart's budget, reduced by M4 (`domain.downsampling`): per bucket of the x axis its first, last,
lowest and highest point. Runs are read as any run read is: a run that does not exist in the
caller's workspace is RESOURCE_DOES_NOT_EXIST (404), one whose experiment the caller may not read
is PERMISSION_DENIED.

x axes: `step`; `wall` (the point's timestamp, ms); `relative` (ms since the run's start_time, or
since the series' first timestamp when the run has none).

Two ways to read a series. A short one (at most `metric_rollups.MIN_POINTS` points, and no
rollups yet) is read point by point and downsampled exactly. A longer one is read from its
rollups (`store.metric_rollups`: blocks of 16, 64, 256... points), built the first time a chart
reads it and brought up to date on later reads: 10 runs of 100,000 points cost ~1,000 block
rows each instead of 100,000 points, and the range's few hundred points are read as points when
it holds few. On the time axes rollups answer for series whose timestamps never decrease along
their steps (the rule); others are read point by point (a scan of the series and a sort).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Connection

from runyard.domain.downsampling import SIZE, Point, downsample, downsample_blocks
from runyard.domain.errors import invalid, not_found
from runyard.domain.validation import invalid_value_message, missing_value_message
from runyard.services.context import RequestContext
from runyard.services.metric_history import MetricHistoryService
from runyard.store import metric_inbox
from runyard.store import metric_ranges as ranges
from runyard.store import metric_rollups as rollups
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry
from runyard.store.runs import RunRow

X_AXES = ("step", "wall", "relative")
MAX_RUNS = 100
MAX_KEYS = 10
MAX_SERIES = 200
MIN_POINTS = 10
MAX_POINTS = 5000
DEFAULT_POINTS = 1000


@dataclass(frozen=True)
class ChartSeries:
    """One run's series of one key within the asked range. `count`: its points in the range;
    `x_min`/`x_max`: the whole series' extent on the x axis (None when it has no point);
    `start_time`: what the relative axis counts from (None for a run without a start time and no
    point); `points`: all of them, or M4's choice when `sampled`; `bucket_sizes`: then how many of
    them each bucket kept, in order (`domain.downsampling.Downsampled`)."""

    run_id: str
    metric_key: str
    count: int
    sampled: bool
    x_min: int | None
    x_max: int | None
    start_time: int | None
    points: list[Point]
    bucket_sizes: list[int] = field(default_factory=list)


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def check_request(
    run_ids: Sequence[str], keys: Sequence[str], x_axis: str, points: int, min_x: int | None, max_x: int | None
) -> None:
    """INVALID_PARAMETER_VALUE for a request outside the endpoint's limits."""
    if not run_ids or not all(run_ids):
        raise invalid(missing_value_message("run_id"))
    if len(run_ids) > MAX_RUNS:
        raise invalid(f"At most {MAX_RUNS} runs may be charted at once (parameter 'run_id'); got {len(run_ids)}.")
    if not keys or not all(keys):
        raise invalid(missing_value_message("metric_key"))
    if len(keys) > MAX_KEYS:
        raise invalid(
            f"At most {MAX_KEYS} metric keys may be charted at once (parameter 'metric_key'); got {len(keys)}."
        )
    if len(run_ids) * len(keys) > MAX_SERIES:
        raise invalid(
            f"At most {MAX_SERIES} series (runs times metric keys) may be charted at once; "
            f"got {len(run_ids)} runs and {len(keys)} keys."
        )
    if x_axis not in X_AXES:
        raise invalid(invalid_value_message("x_axis", x_axis, f"must be one of {', '.join(X_AXES)}"))
    if not MIN_POINTS <= points <= MAX_POINTS:
        raise invalid(invalid_value_message("points", points, f"must be from {MIN_POINTS} to {MAX_POINTS}"))
    if min_x is not None and max_x is not None and min_x > max_x:
        raise invalid(f"min_x must not be greater than max_x. Found min_x={min_x} and max_x={max_x}.")


class _Plan(NamedTuple):
    """How one (run, key) series is read: `key_id` None for a key never logged; `rollups`: from
    its blocks (else its points); `refresh`: the blocks need bringing up to date first."""

    run: RunRow
    key: str
    key_id: int | None
    rollups: bool = False
    refresh: bool = False
    top: int | None = None

    @property
    def series(self) -> tuple[int, int]:
        return (self.run.pk, self.key_id if self.key_id is not None else -1)


class MetricChartService:
    def __init__(self, db: Database, keys: KeyRegistry, history: MetricHistoryService) -> None:
        self._db = db
        self._keys = keys
        self._history = history

    def downsampled(
        self,
        ctx: RequestContext,
        run_ids: Sequence[str],
        keys: Sequence[str],
        x_axis: str = "step",
        points: int = DEFAULT_POINTS,
        min_x: int | None = None,
        max_x: int | None = None,
    ) -> list[ChartSeries]:
        """The series of every (run, key), runs in the order asked and keys within each run
        (repeated ids and keys count once)."""
        run_ids, keys = _unique(run_ids), _unique(keys)
        check_request(run_ids, keys, x_axis, points, min_x, max_x)
        key_ids = {key: self._keys.existing_id(key) for key in keys}
        self._history.move_waiting_points()
        with self._db.read() as conn:
            runs = self._readable_runs(conn, ctx, run_ids)
            plans = self._plans(conn, runs, keys, key_ids)
        stale = [p for p in plans if p.refresh]
        if stale:
            tops = self._refresh(stale)
            plans = [p._replace(refresh=False, top=tops.get(p.series)) if p.refresh else p for p in plans]
        query = _Query(x_axis, points, min_x, max_x)
        with self._db.read() as conn:
            return [_series(conn, plan, query) for plan in plans]

    @staticmethod
    def _readable_runs(conn: Connection, ctx: RequestContext, run_ids: list[str]) -> list[RunRow]:
        found = {row.info.run_uuid: row for row in run_store.get_many(conn, run_ids)}
        out = []
        for run_id in run_ids:
            row = found.get(run_id)
            if row is None or row.workspace_id != ctx.workspace.id:
                raise not_found(f"Run with id={run_id} not found")
            ctx.authorize_experiment(row.info.experiment_id, conn=conn)
            out.append(row)
        return out

    @staticmethod
    def _plans(conn: Connection, runs: list[RunRow], keys: list[str], key_ids: dict[str, int | None]) -> list[_Plan]:
        """How to read each series: from its points when it is short and has no rollups yet, else
        from its rollups (refreshed first when out of date or never built)."""
        wanted = [(run.pk, key_id) for run in runs for key_id in key_ids.values() if key_id is not None]
        states = rollups.states(conn, wanted)
        plans = []
        for run in runs:
            for key in keys:
                key_id = key_ids[key]
                state = None if key_id is None else states.get((run.pk, key_id))
                if key_id is None or state is None:
                    plans.append(_Plan(run, key, key_id))
                elif state.current:
                    plans.append(_Plan(run, key, key_id, rollups=True, top=state.top))
                elif state.top is None and not rollups.has_more_points(conn, run.pk, key_id, rollups.MIN_POINTS):
                    plans.append(_Plan(run, key, key_id))
                else:
                    plans.append(_Plan(run, key, key_id, rollups=True, refresh=True, top=state.top))
        return plans

    def _refresh(self, plans: list[_Plan]) -> dict[tuple[int, int], int]:
        """Bring the plans' rollups up to date; their top levels. Series being logged to rebuild a
        few blocks each (~1 ms), in one write transaction; a first build (~150 ms for 100,000
        points) has a transaction of its own, so that writers wait for one at most. On SQLite each
        transaction first moves the points waiting in the inbox (they have marked their series
        stale already): the point writer may have appended some since `move_waiting_points`."""
        series = sorted({p.series: p.top is None for p in plans if p.key_id is not None}.items())
        groups = [[s for s, first in series if not first], *([s] for s, first in series if first)]
        tops: dict[tuple[int, int], int] = {}
        for group in filter(None, groups):
            with self._db.write() as conn:
                if self._db.is_sqlite and metric_inbox.pending(conn):
                    metric_inbox.move_all(conn)
                tops.update(rollups.refresh_all(conn, group))
        return tops


class _Query(NamedTuple):
    x_axis: str
    budget: int
    min_x: int | None
    max_x: int | None


def _series(conn: Connection, plan: _Plan, q: _Query) -> ChartSeries:
    run = plan.run
    if plan.key_id is None:
        return ChartSeries(run.info.run_uuid, plan.key, 0, False, None, None, run.info.start_time, [])
    if plan.rollups and plan.top is not None:
        found = _from_rollups(conn, plan, plan.key_id, plan.top, q)
        if found is not None:
            return found
    return _from_points(conn, run, plan.key, plan.key_id, q)


def _from_points(conn: Connection, run: RunRow, key: str, key_id: int, q: _Query) -> ChartSeries:
    """A series read point by point (short series, or timestamps out of step order)."""
    start_time = run.info.start_time
    pk = run.pk
    offset = 0
    if q.x_axis == "step":
        extent = ranges.step_extent(conn, pk, key_id)
    else:
        extent = ranges.time_extent(conn, pk, key_id)
        if q.x_axis == "relative" and extent is not None:
            offset = extent[0] if start_time is None else start_time
            start_time = offset
            extent = (extent[0] - offset, extent[1] - offset)
    if extent is None:
        return ChartSeries(run.info.run_uuid, key, 0, False, None, None, start_time, [])
    lo = extent[0] if q.min_x is None else max(q.min_x, extent[0])
    hi = extent[1] if q.max_x is None else min(q.max_x, extent[1])
    found: list[Point] = []
    if lo <= hi:
        if q.x_axis == "step":
            found = ranges.points_by_step(conn, pk, key_id, lo, hi)
        else:
            found = ranges.points_by_time(conn, pk, key_id, lo, hi, offset)
    kept = downsample(found, q.budget)
    return ChartSeries(
        run.info.run_uuid, key, len(found), kept.sampled, *extent, start_time, kept.points, kept.bucket_sizes
    )


def _blocks_wanted(budget: int) -> int:
    """Blocks to read at least for a budget (when the range holds that many leaves): 1.5 per
    bucket of M4. Bucket edges then move to block edges by up to a block; a block more per bucket
    costs another thousand rows per 100,000 points read, for edges a fraction less uneven."""
    return 3 * budget // 8


def _from_rollups(conn: Connection, plan: _Plan, key_id: int, top: int, q: _Query) -> ChartSeries | None:
    """A series read from its rollups; None when they cannot answer (timestamps out of step order)."""
    run, pk = plan.run, plan.run.pk
    by_time = q.x_axis != "step"
    start_time = run.info.start_time
    offset = 0
    if q.x_axis == "relative":
        if start_time is None:
            wall = rollups.extent(conn, pk, key_id, top, by_time=True)
            if wall is None:
                return None
            start_time = wall[0]
        offset = start_time
    lo = None if q.min_x is None else q.min_x + offset
    hi = None if q.max_x is None else q.max_x + offset
    cover = rollups.cover(conn, pk, key_id, top, by_time=by_time, lo=lo, hi=hi, want=_blocks_wanted(q.budget))
    if cover is None:
        return None
    x_min, x_max = cover.extent[0] - offset, cover.extent[1] - offset
    lo = cover.extent[0] if lo is None else max(lo, cover.extent[0])
    hi = cover.extent[1] if hi is None else min(hi, cover.extent[1])
    blocks = cover.blocks
    count = sum(b[SIZE] for b in blocks) if blocks is not None else 0
    if blocks is None or count <= q.budget:
        points: list[Point] = []
        if cover.span is not None:
            if by_time:
                points = [
                    (t, s, t, v) for s, t, v in rollups.points_between(conn, pk, key_id, *cover.span) if lo <= t <= hi
                ]
            else:
                points = ranges.points_by_step(conn, pk, key_id, lo, hi)
        kept = downsample(points, q.budget)
        return ChartSeries(
            run.info.run_uuid,
            plan.key,
            len(points),
            kept.sampled,
            x_min,
            x_max,
            start_time,
            kept.points,
            kept.bucket_sizes,
        )
    kept = downsample_blocks(blocks, q.budget, by_time=by_time)
    return ChartSeries(
        run.info.run_uuid, plan.key, count, True, x_min, x_max, start_time, kept.points, kept.bucket_sizes
    )
