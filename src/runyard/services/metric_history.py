"""Metric history: the full paginated series of one run, and evenly sampled series of many runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection

from runyard.domain import limits
from runyard.domain.entities import Metric, Page, SeriesPoint
from runyard.domain.errors import invalid
from runyard.domain.validation import missing_value_message
from runyard.services.context import RequestContext
from runyard.services.runs import RunService
from runyard.store import metric_inbox
from runyard.store import metric_sampling as sampling
from runyard.store import metric_series as series
from runyard.store import runs as run_store
from runyard.store import search as search_sql
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry


class RunMetric(NamedTuple):
    run_id: str
    metric: Metric


def evenly_spaced(total: int, count: int) -> list[int]:
    """The positions (0-based, of `total` ordered points) the reference (3.17.2) samples when
    `count` are wanted: it splits the points into `count` NTILE buckets (the first `total % count`
    one point longer), keeps the first point of each, and puts the series' last point in place of
    the last sample, so the first and the last point are always kept."""
    if total <= 0:
        return []
    if total <= count:
        return list(range(total))
    size, longer = divmod(total, count)
    picks = [i * size + min(i, longer) for i in range(count)]
    picks[-1] = total - 1
    return picks


class MetricHistoryService:
    def __init__(self, db: Database, keys: KeyRegistry, runs: RunService) -> None:
        self._db = db
        self._keys = keys
        self._runs = runs

    def move_waiting_points(self) -> None:
        """Points acknowledged by the SQLite point writer may still wait in `metric_inbox`, which
        the history queries do not read: move them into `metrics` first (chart reads too:
        `services.metric_charts`)."""
        if not self._db.is_sqlite:
            return
        with self._db.read() as conn:
            waiting = metric_inbox.pending(conn)
        if waiting:
            with self._db.write() as conn:
                metric_inbox.move_all(conn)

    def history(
        self, ctx: RequestContext, run_id: str, key: str, max_results: int | None, page_token: str | None
    ) -> Page[SeriesPoint]:
        """One page of run `run_id`'s series `key`, in the reference order (timestamp, step, value); a
        run that does not exist (in the caller's workspace) has an empty history, as in the reference."""
        if max_results is not None and max_results <= 0:
            raise invalid(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer."
            )
        offset, after = search_sql.decode_page_token_with_position(page_token)
        position = None if after is None else series.parse_position(after)
        if after is not None and position is None:
            raise invalid(f"Invalid page token, it does not mark a point of a metric history: '{page_token}'")
        key_id = self._keys.existing_id(key)
        self.move_waiting_points()
        with self._db.read() as conn:
            row = self._runs.find(conn, ctx, run_id)
            if row is None or key_id is None:
                return Page([], None)
            limit = None if max_results is None else max_results + 1
            points = series.read_page(conn, row.pk, key_id, after=position, offset=offset, limit=limit)
        token = None
        if max_results is not None and len(points) > max_results:
            points = points[:max_results]
            token = search_sql.encode_page_token(offset + max_results, series.position_of(points[-1]))
        return Page(points, token)

    def sampled(
        self,
        ctx: RequestContext,
        run_ids: Sequence[str],
        key: str,
        start_step: int | None,
        end_step: int | None,
        max_results: int | None,
    ) -> list[RunMetric]:
        if not run_ids:
            raise invalid(missing_value_message("run_ids"))
        if len(run_ids) > limits.BULK_INTERVAL_MAX_RUNS:
            raise invalid(
                f"GetMetricHistoryBulkInterval request must specify at most {limits.BULK_INTERVAL_MAX_RUNS} "
                f"run_ids. Received {len(run_ids)} run_ids."
            )
        count = limits.BULK_INTERVAL_MAX_RESULTS if max_results is None else max_results
        if not 1 <= count <= limits.BULK_INTERVAL_MAX_RESULTS:
            raise invalid(f"max_results must be between 1 and {limits.BULK_INTERVAL_MAX_RESULTS}.")
        if (start_step is None) != (end_step is None):
            raise invalid("If either start step or end step are specified, both must be specified.")
        if start_step is not None and end_step is not None and start_step > end_step:
            raise invalid(
                f"end_step must be greater than start_step. Found start_step={start_step} and end_step={end_step}."
            )
        key_id = self._keys.existing_id(key)
        self.move_waiting_points()
        out: list[RunMetric] = []
        with self._db.read() as conn:
            # Runs that do not exist (in the caller's workspace) contribute nothing, as in the reference.
            rows = [self._runs.find(conn, ctx, run_id) for run_id in run_ids]
            if key_id is None:
                return []
            for row in filter(None, rows):
                run_uuid = row.info.run_uuid
                out += [RunMetric(run_uuid, p) for p in _sample(conn, row.pk, key_id, key, start_step, end_step, count)]
        return out

    def bulk(
        self, ctx: RequestContext, run_ids: Sequence[str], key: str | None, max_results: int | None
    ) -> list[RunMetric]:
        """The full series `key` of several runs, at most `max_results` points (25,000) in all: by
        run id, then timestamp, step and value, as the reference. Unknown ids, and runs of other
        workspaces, contribute nothing (the reference skips ids it does not find)."""
        if not run_ids:
            raise invalid("GetMetricHistoryBulk request must specify at least one run_id.")
        if len(run_ids) > limits.HISTORY_BULK_MAX_RUNS:
            raise invalid(
                f"GetMetricHistoryBulk request cannot specify more than {limits.HISTORY_BULK_MAX_RUNS} run_ids. "
                f"Received {len(run_ids)} run_ids."
            )
        if key is None:
            raise invalid("GetMetricHistoryBulk request must specify a metric_key.")
        remaining = limits.HISTORY_BULK_MAX_RESULTS if max_results is None else max_results
        remaining = min(remaining, limits.HISTORY_BULK_MAX_RESULTS)
        key_id = self._keys.existing_id(key)
        if key_id is None or remaining == 0:
            return []
        self.move_waiting_points()
        out: list[RunMetric] = []
        with self._db.read() as conn:
            rows = run_store.get_many(conn, sorted({r for r in run_ids if r}))
            for row in sorted(rows, key=lambda r: r.info.run_uuid):
                if row.workspace_id != ctx.workspace.id or remaining <= 0:
                    continue
                ctx.authorize_experiment(row.info.experiment_id, conn=conn)
                points = series.read_page(conn, row.pk, key_id, after=None, offset=0, limit=remaining)
                remaining -= len(points)
                out += [RunMetric(row.info.run_uuid, Metric(key, v, ts, step)) for v, ts, step, _ in points]
        return out


def _sample(
    conn: Connection, pk: int, key_id: int, key: str, start_step: int | None, end_step: int | None, count: int
) -> list[Metric]:
    """At most `count` points of one series, the reference's sample (see `evenly_spaced`): exactly
    its points when every step of the range holds the same number of points or the series is
    sampled by position; a series with gaps only at steps the samples skip is sampled by step."""
    bounds = sampling.step_bounds(conn, pk, key_id, start_step, end_step)
    if bounds is None:
        return []
    lo, hi = bounds
    span = hi - lo + 1
    if span > count:
        # Usually one point per step: position p is then step lo + p, and the samples are read by
        # index seeks without counting the series. When a target step was never logged (gaps), the
        # positions are taken from the numbered series instead.
        targets = [lo + p for p in evenly_spaced(span, count)]
        picked = sampling.points_at_steps(conn, pk, key_id, key, targets, hi, only_logged=True)
        if picked is not None:
            return picked
    total = sampling.count_points(conn, pk, key_id, lo, hi)
    return sampling.points_at_positions(conn, pk, key_id, key, lo, hi, evenly_spaced(total, count))
