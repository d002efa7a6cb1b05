"""`GET /api/2.0/runyard/audit-events` (administrators): the audit log, newest first, filtered by
time (`since`, `until`: ms since the epoch, `until` exclusive), `actor` and `action` (`user.*`
matches a prefix), paged by event id (`max_results`, `page_token`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import call, ok, parse_query
from runyard.api.mlflow.messages import Message
from runyard.api.routing import Endpoint, services
from runyard.domain.errors import invalid
from runyard.domain.identity import AuditEvent

DEFAULT_RESULTS = 100
MAX_RESULTS = 1000


class ListAuditEvents(Message):
    since: int | None = None
    until: int | None = None
    actor: str | None = None
    action: str | None = None
    max_results: int = DEFAULT_RESULTS
    page_token: str | None = None


def render(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "time": event.time,
        "actor": event.actor,
        "source": event.source,
        "action": event.action,
        "resource": event.resource,
        "outcome": event.outcome,
        "detail": event.detail,
    }


def before_id(page_token: str | None) -> int | None:
    """A page token is the id of the last event of the previous page (events are immutable, so the
    next page is exactly what has a smaller id)."""
    if not page_token:
        return None
    if not page_token.isascii() or not page_token.isdigit() or len(page_token) > 19:
        raise invalid(f"Invalid page_token '{page_token[:40]}'.")
    return int(page_token)


async def list_audit_events(request: Request) -> Response:
    query = parse_query(request, ListAuditEvents)
    if not 1 <= query.max_results <= MAX_RESULTS:
        raise invalid(f"max_results must be between 1 and {MAX_RESULTS}, got {query.max_results}.")
    events = await call(
        services(request).identity.audit.query,
        since=query.since,
        until=query.until,
        actor=query.actor,
        action=query.action,
        before_id=before_id(query.page_token),
        limit=query.max_results + 1,
    )
    page = list(events[: query.max_results])
    out: dict[str, Any] = {"events": [render(e) for e in page]}
    if len(events) > query.max_results:
        out["next_page_token"] = str(page[-1].id)
    return ok(out)


ENDPOINTS = [Endpoint("GET", "/audit-events", list_audit_events, "admin")]
