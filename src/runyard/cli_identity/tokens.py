"""`runyard token`: personal access tokens — create (on the database, or through a server's API
for the signed-in user), list, revoke."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from runyard.cli import _fail_cleanly, _store_options
from runyard.cli_identity.common import (
    JSON_OPTION,
    actor,
    emit,
    format_time,
    opened,
    parse_duration_ms,
)

if TYPE_CHECKING:
    from runyard.domain.identity import AccessToken


def _token_json(t: AccessToken) -> dict[str, object]:
    return {
        "id": t.id,
        "user": t.principal_name,
        "name": t.name,
        "creation_time": t.creation_time,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
    }


@click.group()
def token() -> None:
    """Personal access tokens: create, list, revoke."""


@token.command("create")
@click.option(
    "--user", "owner", default=None, help="The user (or service principal) the token acts for (in the database)."
)
@click.option(
    "--server",
    default=None,
    help="Create it through SERVER's API for the signed-in user instead (a URL or runyard:// URI; no --user).",
)
@click.option("--name", "label", required=True, help="A label to recognise the token by.")
@click.option("--expires-in", default=None, help="Lifetime such as 30d, 12h or 2w (default: no expiry).")
@JSON_OPTION
@_store_options
@_fail_cleanly
def token_create(
    owner: str | None,
    server: str | None,
    label: str,
    expires_in: str | None,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Create a personal access token (printed once: keep it): for --user directly in the database,
    or with --server through the server's API for the user signed in there (`runyard login`)."""
    from runyard.services.context import now_ms

    if server is not None:
        if owner is not None:
            raise click.UsageError("--server makes a token for the signed-in user: leave out --user.")
        from runyard.plugin.cli import create_token_via_api

        create_token_via_api(server, label, parse_duration_ms(expires_in) if expires_in else None, as_json)
        return
    if owner is None:
        raise click.UsageError("Name the token's owner with --user (database), or use --server URL (signed-in user).")
    expires_at = now_ms() + parse_duration_ms(expires_in) if expires_in else None
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        issued = services.identity.accounts.create_token(actor(), owner, label, expires_at)
    if as_json:
        emit({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at})
        return
    click.echo(f"Created token {issued.id} for '{owner}' (expires: {format_time(issued.expires_at)}).")
    click.echo(f"token: {issued.token}")


@token.command("list")
@click.option("--user", "owner", default=None, help="Only this user's tokens.")
@JSON_OPTION
@_store_options
@_fail_cleanly
def token_list(
    owner: str | None, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """List personal access tokens (never the tokens themselves)."""
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        tokens = services.identity.accounts.list_tokens(owner)
    if as_json:
        emit([_token_json(t) for t in tokens])
        return
    for t in tokens:
        state = "revoked" if t.revoked_at is not None else f"expires {format_time(t.expires_at)}"
        click.echo(f"{t.id}  {t.principal_name}  {t.name}  {state}  last used {format_time(t.last_used_at)}")


@token.command("revoke")
@click.argument("token_id")
@_store_options
@_fail_cleanly
def token_revoke(
    token_id: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Revoke token TOKEN_ID."""
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        services.identity.accounts.revoke_token(actor(), token_id)
    click.echo(f"Revoked token {token_id}.")
