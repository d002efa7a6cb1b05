"""`GET /metrics`: the Prometheus text exposition (`--metrics`; see `runyard.observe.metrics`).

Mounted only when metrics are on (otherwise the path is unknown: 404). Its rule is `admin`: with
authentication on, a scraper signs in as an administrator (a personal access token of one, sent as
a bearer token); with it off, like every route, it is open to whoever can reach the port."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import call
from runyard.api.routing import Endpoint


async def metrics(request: Request) -> Response:
    from runyard.observe.metrics import CONTENT_TYPE, Metrics

    collected: Metrics = request.app.state.metrics
    return Response(await call(collected.render), media_type=CONTENT_TYPE)


ENDPOINTS = [Endpoint("GET", "/metrics", metrics, "admin")]
