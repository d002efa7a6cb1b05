"""Metric history endpoints: full paginated history and sampled multi-run history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok, parse_query, rendered_page_response
from runyard.api.mlflow import messages as m
from runyard.api.mlflow import render
from runyard.api.routing import Endpoint, in_context, services
from runyard.domain.validation import require_value


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


ENDPOINTS = [
    Endpoint("GET", "/metrics/get-history", get_metric_history, "run:read"),
    Endpoint("GET", "/metrics/get-history-bulk-interval", get_metric_history_bulk_interval, "run:read"),
]
