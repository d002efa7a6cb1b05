"""Per request, around everything else (error handling included): the request id, and — only when
they are on — the access line and the metrics.

- Request id (always): the client's `X-Request-Id` if well-formed, else a fresh one
  (`observe.request_ids`); set in the context for the log records of the request, and sent back as
  `X-Request-Id` on every response the application sends (error responses included).
- Access line (`--access-log`): once the response is sent, with its status and duration.
- Metrics (`--metrics`): the request's route template (recorded by the router in the scope's
  `ROUTE_SLOT`), status and duration, and the in-flight count.

Without either of the last two, a request pays one header scan, one id and one wrapped `send`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.api.routing import ROUTE_SLOT
from runyard.observe import request_ids
from runyard.observe.logs import log_access, request_target

if TYPE_CHECKING:
    from runyard.observe.metrics import Metrics


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: logging.Logger | None, metrics: Metrics | None) -> None:
        self.app = app
        self._access = access_log
        self._metrics = metrics
        self._plain = access_log is None and metrics is None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope["headers"]:
            if key == request_ids.HEADER_KEY:
                incoming = value
                break
        request_id = request_ids.from_header(incoming)
        header = (request_ids.HEADER_KEY, request_id.encode("ascii"))
        token = request_ids.CURRENT.set(request_id)
        try:
            if self._plain:

                async def send_with_id(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message.get("headers", ()), header]
                    await send(message)

                await self.app(scope, receive, send_with_id)
            else:
                await self._observed(scope, receive, send, header)
        finally:
            request_ids.CURRENT.reset(token)

    async def _observed(self, scope: Scope, receive: Receive, send: Send, header: tuple[bytes, bytes]) -> None:
        started = time.perf_counter()
        status = 0
        metrics = self._metrics
        slot: list[object | None] = [None]
        if metrics is not None:
            scope[ROUTE_SLOT] = slot
            metrics.in_flight += 1

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            if metrics is not None:
                metrics.in_flight -= 1
                metrics.request_done(scope["method"], route_label(slot[0]), status, seconds)
            if self._access is not None:
                client = scope.get("client")
                log_access(
                    self._access,
                    client=f"{client[0]}:{client[1]}" if client else "-",
                    method=scope["method"],
                    target=request_target(scope.get("raw_path") or scope["path"].encode(), scope["query_string"]),
                    http_version=scope.get("http_version", "1.1"),
                    status=status,
                    duration_ms=seconds * 1000,
                )


UNMATCHED = "unmatched"


def route_label(route: object | None) -> str:
    """The route template a request matched (`path_format`: `{name}` without its convertor), or
    `unmatched`: never the raw path, so ids and names cannot multiply the series."""
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED
