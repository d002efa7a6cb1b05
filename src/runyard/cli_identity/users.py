"""`runyard user`: create, list, show, disable, enable, reset-password and delete users."""

from __future__ import annotations

from pathlib import Path

import click

from runyard.cli import _fail_cleanly, _store_options
from runyard.cli_identity.common import (
    JSON_OPTION,
    actor,
    emit,
    format_time,
    list_principals,
    opened,
    principal_json,
    read_password,
    require_kind,
)


@click.group()
def user() -> None:
    """Users: create, list, show, disable, enable, reset-password, delete."""


@user.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user a global administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else one is generated).")
@JSON_OPTION
@_store_options
@_fail_cleanly
def user_create(
    name: str,
    admin: bool,
    password_stdin: bool,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Create user NAME (a generated password is printed once)."""
    password, generated = read_password(password_stdin)
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        created = services.identity.accounts.create_user(actor(), name, password, is_admin=admin)
    if as_json:
        out = principal_json(created)
        if generated:
            out["password"] = password
        emit(out)
        return
    click.echo(f"Created user '{created.name}'{' (admin)' if created.is_admin else ''}.")
    if generated:
        click.echo(f"password: {password}")


@user.command("list")
@JSON_OPTION
@_store_options
@_fail_cleanly
def user_list(as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """List users."""
    from runyard.domain.identity import USER

    list_principals(USER, as_json, data_dir, backend_store_uri, artifacts_destination)


@user.command("show")
@click.argument("name")
@JSON_OPTION
@_store_options
@_fail_cleanly
def user_show(
    name: str, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Show user (or service principal) NAME."""
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        found = services.identity.accounts.get(name)
    if as_json:
        emit(principal_json(found))
        return
    for key, value in principal_json(found).items():
        shown = format_time(value) if key.endswith("format_time") and isinstance(value, int) else value
        click.echo(f"{key + ':':<18}{shown}")


def _set_enabled(name: str, enabled: bool, data_dir: Path, backend_store_uri: str | None, dest: str | None) -> None:
    with opened(data_dir, backend_store_uri, dest) as services:
        services.identity.accounts.set_enabled(actor(), name, enabled)
    click.echo(f"{'Enabled' if enabled else 'Disabled'} '{name}'.")


@user.command("disable")
@click.argument("name")
@_store_options
@_fail_cleanly
def user_disable(name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """Disable NAME: its credentials stop working (within seconds in every server process)."""
    _set_enabled(name, False, data_dir, backend_store_uri, artifacts_destination)


@user.command("enable")
@click.argument("name")
@_store_options
@_fail_cleanly
def user_enable(name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """Enable NAME again."""
    _set_enabled(name, True, data_dir, backend_store_uri, artifacts_destination)


@user.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else one is generated).")
@JSON_OPTION
@_store_options
@_fail_cleanly
def user_reset_password(
    name: str,
    password_stdin: bool,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Set a new password for user NAME (a generated one is printed once)."""
    password, generated = read_password(password_stdin)
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        services.identity.accounts.set_password(actor(), name, password)
    if as_json:
        emit({"name": name, **({"password": password} if generated else {})})
        return
    click.echo(f"Changed the password of '{name}'.")
    if generated:
        click.echo(f"password: {password}")


@user.command("delete")
@click.argument("name")
@_store_options
@_fail_cleanly
def user_delete(name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """Delete user NAME with its tokens, grants and role memberships."""
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        require_kind(services, name, "user")
        services.identity.accounts.delete(actor(), name)
    click.echo(f"Deleted user '{name}'.")
