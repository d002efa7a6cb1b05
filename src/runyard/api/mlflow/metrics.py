"""Metric history endpoints: full paginated history, the UI's bulk history of several runs, and
sampled multi-run history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok, parse_query, rendered_page_response
from runyard.api.mlflow import messages as m
from runyard.api.mlflow import render
from runyard.api.routing import Endpoint, in_context, services
from runyard.domain.validation import parse_ascii_int, require_value


async def get_metric_history(request: Request) -> Response:
    q = parse_query(request, m.GetMetricHistory)
    run_id = require_value(q.target, "run_id")
    key = require_value(q.metric_key, "metric_key")
    page = await in_context(request, services(request).metric_history.history, run_id, key, q.max_results, q.page_token)
    return rendered_page_response("metrics", render.series_points(q.metric_key, page.items), page.next_page_token)


async def get_metric_history_bulk_interval(request: Request) -> Response:
    q = parse_query(request, m.GetMetricHistoryBulkInterval)
    require_value(q.metric_key, "metric_key")
    points = await in_context(
        request,
        services(request).metric_history.sampled,
        q.run_ids,
        q.metric_key,
        q.start_step,
        q.end_step,
        q.max_results,
    )
    out: dict[str, object] = {}
    if points:
        out["metrics"] = [{**render.metric(p.metric), "run_id": p.run_id} for p in points]
    return ok(out)


async def get_metric_history_bulk(request: Request) -> Response:
    """The UI's full histories of several runs (`run_id` repeated, `metric_key`, `max_results`);
    unlike the proto endpoints it always answers `metrics`, an empty list included."""
    q = request.query_params
    raw_max = q.get("max_results")
    max_results = None if raw_max is None else parse_ascii_int(raw_max, "max_results")
    points = await in_context(
        request, services(request).metric_history.bulk, q.getlist("run_id"), q.get("metric_key"), max_results
    )
    return ok({"metrics": [{**render.metric(p.metric), "run_id": p.run_id} for p in points]})


ENDPOINTS = [
    Endpoint("GET", "/metrics/get-history", get_metric_history, "run:read"),
    Endpoint("GET", "/metrics/get-history-bulk-interval", get_metric_history_bulk_interval, "run:read"),
]

# Served under `/ajax-api/2.0/mlflow` only, as the reference does.
AJAX_ENDPOINTS = [Endpoint("GET", "/metrics/get-history-bulk", get_metric_history_bulk, "run:read")]
