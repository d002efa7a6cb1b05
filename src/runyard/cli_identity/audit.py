"""`runyard audit`: the audit log, filtered by time, actor and action."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from runyard.cli import _fail_cleanly, _store_options
from runyard.cli_identity.common import (
    JSON_OPTION,
    emit,
    format_time,
    opened,
    parse_since_ms,
)

if TYPE_CHECKING:
    from runyard.domain.identity import AuditEvent


def _event_json(e: AuditEvent) -> dict[str, object]:
    return {
        "id": e.id,
        "time": e.time,
        "actor": e.actor,
        "source": e.source,
        "action": e.action,
        "resource": e.resource,
        "outcome": e.outcome,
        "detail": e.detail,
    }


@click.command("audit")
@click.option("--since", default=None, help="An ISO 8601 time or a duration back from now (24h, 7d).")
@click.option("--actor", default=None, help="Only events of this actor.")
@click.option("--action", default=None, help="Only this action (e.g. user.create, grant.put).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@JSON_OPTION
@_store_options
@_fail_cleanly
def audit(
    since: str | None,
    actor: str | None,
    action: str | None,
    limit: int,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Read the audit log, newest first."""
    from runyard.services.context import now_ms

    since_ms = parse_since_ms(since, now_ms()) if since else None
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        events = services.identity.audit.query(since=since_ms, actor=actor, action=action, limit=limit)
    if as_json:
        emit([_event_json(e) for e in events])
        return
    for e in events:
        click.echo(
            f"{format_time(e.time)}  {e.actor or '-'}@{e.source or '-'}  {e.action}  {e.resource or ''}  {e.outcome}"
            + (f"  ({e.detail})" if e.detail else "")
        )
