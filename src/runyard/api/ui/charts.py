"""Downsampled metric series for the web UI's charts: `GET /ajax-api/2.0/runyard/metrics/downsampled`
(also under `/api/2.0/runyard`), access rule `run:read`.

Query parameters: `run_id` (repeated, 1 to 100 runs), `metric_key` (repeated, 1 to 10 keys; at most
200 series in all), `x_axis` = `step` (default) | `wall` (timestamp, ms) | `relative` (ms since the
run's start_time), `points` = the point budget per series (10 to 5000, default 1000: about the
chart's width in pixels), `min_x` / `max_x` = the visible x range, inclusive, integers on the
chosen axis (both optional). Anything else is INVALID_PARAMETER_VALUE (400); a run that does not
exist in the caller's workspace is RESOURCE_DOES_NOT_EXIST (404).

Answer, one series per (run, key), runs in the order asked, keys within each run:

    {"series": [{"run_id": "...", "metric_key": "loss", "x_axis": "step",
                 "count": 100000, "sampled": true, "x_min": 0, "x_max": 99999,
                 "start_time": 1700000000000,
                 "step": [0, 17, ...], "timestamp": [...], "value": [0.93, "NaN", ...]}]}

- `step`, `timestamp`, `value`: the points, columns of equal length, in x order (points that share
  an x: by step, timestamp, value). x is `step`, `timestamp`, or `timestamp - start_time`.
- `value`: a number, or "NaN", "Infinity", "-Infinity" (as MLflow's JSON writes them). Such points
  never count as a bucket's lowest or highest value; the chart shows them as markers.
- `count`: the series' points within [min_x, max_x] (all of them without a range); `sampled`: the
  points are M4's choice of those (`count` > `points`), else all of them.
- `buckets` (sampled series only): how many of the points each bucket kept, in order (they sum to
  the points' count). A bucket's lowest and highest finite points are always among them, so the
  chart draws each bucket's exact min/max band.
- `x_min` / `x_max`: the whole series' extent on the x axis, whatever the range asked (the chart's
  zoom-out bounds); null for a series without points (a key the run never logged).
- `start_time`: the run's start time (ms), which `relative` counts from (the series' first
  timestamp for a run without one); null when neither exists.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok, parse_query
from runyard.api.mlflow.messages import Message
from runyard.api.mlflow.render import number
from runyard.api.routing import Endpoint, in_context, services
from runyard.domain.validation import parse_ascii_int
from runyard.services.metric_charts import DEFAULT_POINTS, ChartSeries

_INT64_MIN = -(2**63)


class GetDownsampledMetrics(Message):
    run_id: list[str] = Field(default_factory=list)
    metric_key: list[str] = Field(default_factory=list)
    x_axis: str = "step"
    points: str | None = None
    min_x: str | None = None
    max_x: str | None = None


def _int(value: str | None, field: str) -> int | None:
    return None if value is None else parse_ascii_int(value, field, minimum=_INT64_MIN)


async def get_downsampled_metrics(request: Request) -> Response:
    q = parse_query(request, GetDownsampledMetrics)
    points = _int(q.points, "points")
    found = await in_context(
        request,
        services(request).metric_charts.downsampled,
        q.run_id,
        q.metric_key,
        q.x_axis,
        DEFAULT_POINTS if points is None else points,
        _int(q.min_x, "min_x"),
        _int(q.max_x, "max_x"),
    )
    return ok({"series": [_series(s, q.x_axis) for s in found]})


def _series(s: ChartSeries, x_axis: str) -> dict[str, Any]:
    points = s.points
    rendered: dict[str, Any] = {
        "run_id": s.run_id,
        "metric_key": s.metric_key,
        "x_axis": x_axis,
        "count": s.count,
        "sampled": s.sampled,
        "x_min": s.x_min,
        "x_max": s.x_max,
        "start_time": s.start_time,
        "step": [p[1] for p in points],
        "timestamp": [p[2] for p in points],
        # `v - v == 0` is false exactly for NaN and the infinities, which `number` spells as strings.
        "value": [v if v - v == 0 else number(v) for _, _, _, v in points],
    }
    if s.sampled:
        rendered["buckets"] = s.bucket_sizes
    return rendered


ENDPOINTS = [Endpoint("GET", "/metrics/downsampled", get_downsampled_metrics, "run:read")]
