"""`runyard sp`: service principals for jobs — create, list, update (redirect URIs), rotate-secret, delete."""

from __future__ import annotations

from pathlib import Path

import click

from runyard.cli import _fail_cleanly, _store_options
from runyard.cli_identity.common import (
    JSON_OPTION,
    actor,
    emit,
    list_principals,
    opened,
    require_kind,
)


@click.group()
def sp() -> None:
    """Service principals (OAuth clients): create, list, update, rotate-secret, delete."""


def _issued(name: str, client_id: str, secret: str, as_json: bool, verb: str) -> None:
    if as_json:
        emit({"name": name, "client_id": client_id, "client_secret": secret})
        return
    click.echo(f"{verb} service principal '{name}'.")
    click.echo(f"client_id: {client_id}")
    click.echo(f"client_secret: {secret}")


REDIRECT_URI_OPTION = click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="An absolute http(s) URL (no fragment) the application receives sign-ins at (repeatable): makes the "
    "service principal a confidential client of the authorization-code flow, e.g. another server's "
    "https://host/login/sso/callback.",
)


@sp.command("create")
@click.argument("name")
@REDIRECT_URI_OPTION
@JSON_OPTION
@_store_options
@_fail_cleanly
def sp_create(
    name: str,
    redirect_uris: tuple[str, ...],
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Create service principal NAME (its client secret is printed once)."""
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        issued = services.identity.accounts.create_service_principal(actor(), name, redirect_uris)
    _issued(issued.name, issued.client_id, issued.client_secret, as_json, "Created")


@sp.command("update")
@click.argument("name")
@REDIRECT_URI_OPTION
@click.option("--no-redirect-uris", is_flag=True, help="Remove every redirect URI (no authorization-code flow).")
@JSON_OPTION
@_store_options
@_fail_cleanly
def sp_update(
    name: str,
    redirect_uris: tuple[str, ...],
    no_redirect_uris: bool,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Replace the redirect URIs of service principal NAME (give --redirect-uri once per URI)."""
    from runyard.domain.identity import SERVICE_PRINCIPAL

    if bool(redirect_uris) == no_redirect_uris:
        raise click.UsageError("Give --redirect-uri (one or more) or --no-redirect-uris.")
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        require_kind(services, name, SERVICE_PRINCIPAL)
        uris = services.identity.accounts.set_redirect_uris(actor(), name, redirect_uris)
    if as_json:
        emit({"name": name, "redirect_uris": list(uris)})
        return
    click.echo(f"Updated service principal '{name}'.")
    for uri in uris:
        click.echo(f"redirect_uri: {uri}")
    if not uris:
        click.echo("redirect_uris: (none)")


@sp.command("list")
@JSON_OPTION
@_store_options
@_fail_cleanly
def sp_list(as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """List service principals."""
    from runyard.domain.identity import SERVICE_PRINCIPAL

    list_principals(SERVICE_PRINCIPAL, as_json, data_dir, backend_store_uri, artifacts_destination)


@sp.command("rotate-secret")
@click.argument("name")
@JSON_OPTION
@_store_options
@_fail_cleanly
def sp_rotate_secret(
    name: str, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Replace NAME's client secret (the new one is printed once; the old one stops working)."""
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        issued = services.identity.accounts.rotate_secret(actor(), name)
    _issued(issued.name, issued.client_id, issued.client_secret, as_json, "Rotated the secret of")


@sp.command("delete")
@click.argument("name")
@_store_options
@_fail_cleanly
def sp_delete(name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """Delete service principal NAME."""
    from runyard.domain.identity import SERVICE_PRINCIPAL

    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        require_kind(services, name, SERVICE_PRINCIPAL)
        services.identity.accounts.delete(actor(), name)
    click.echo(f"Deleted service principal '{name}'.")
