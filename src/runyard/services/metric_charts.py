"""Metric series for the web UI's charts, downsampled on the server without losing spikes.

Each (run, key) series is cut to the visible x range and, when it holds more points than the
chart's budget, reduced by M4 (`domain.downsampling`): per bucket of the x axis its first, last,
lowest and highest point. Runs are read as any run read is: a run that does not exist in the
caller's workspace is RESOURCE_DOES_NOT_EXIST (404), one whose experiment the caller may not read
is PERMISSION_DENIED.

x axes: `step`; `wall` (the point's timestamp, ms); `relative` (ms since the run's start_time, or
since the series' first timestamp when the run has none).

Series are read point by point: a step range is an index range of `metrics`; a time range reads
the series and sorts it by timestamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection

from runyard.domain.downsampling import Point, downsample
from runyard.domain.errors import invalid, not_found
from runyard.domain.validation import invalid_value_message, missing_value_message
from runyard.services.context import RequestContext
from runyard.services.metric_history import MetricHistoryService
from runyard.store import metric_ranges as ranges
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
    point); `points`: all of them, or M4's choice when `sampled`."""

    run_id: str
    metric_key: str
    count: int
    sampled: bool
    x_min: int | None
    x_max: int | None
    start_time: int | None
    points: list[Point]


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
        query = _Query(x_axis, points, min_x, max_x)
        with self._db.read() as conn:
            runs = self._readable_runs(conn, ctx, run_ids)
            return [_series(conn, run, key, key_ids[key], query) for run in runs for key in keys]

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


class _Query(NamedTuple):
    x_axis: str
    budget: int
    min_x: int | None
    max_x: int | None


def _series(conn: Connection, run: RunRow, key: str, key_id: int | None, q: _Query) -> ChartSeries:
    if key_id is None:
        return ChartSeries(run.info.run_uuid, key, 0, False, None, None, run.info.start_time, [])
    return _from_points(conn, run, key, key_id, q)


def _from_points(conn: Connection, run: RunRow, key: str, key_id: int, q: _Query) -> ChartSeries:
    """A series read point by point."""
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
    return ChartSeries(run.info.run_uuid, key, len(found), kept.sampled, *extent, start_time, kept.points)
