"""`runyard grant`: permissions on experiments, registered models, workspaces and folders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runyard.cli import _fail_cleanly, _store_options
from runyard.cli_identity.common import (
    JSON_OPTION,
    PERMISSION_CHOICE,
    actor,
    emit,
    opened,
    principal_option,
    require_kind,
)

if TYPE_CHECKING:
    from runyard.domain.identity import GrantRecord


def _grant_json(g: GrantRecord) -> dict[str, object]:
    from runyard.domain.permissions import NAMES

    return {
        "id": g.id,
        "principal": g.principal,
        "workspace": g.workspace,
        "resource_type": g.resource_type,
        "resource": g.pattern,
        "permission": NAMES[g.level],
    }


def _target(
    experiment: str | None, registered_model: str | None, workspace: str | None, folder: str | None, in_workspace: str
) -> tuple[str, str, str]:
    """(workspace, resource type, pattern) from exactly one resource selector."""
    chosen = [v for v in (experiment, registered_model, workspace, folder) if v is not None]
    if len(chosen) != 1:
        raise click.UsageError("Give exactly one of --experiment, --registered-model, --workspace, --folder.")
    if experiment is not None:
        return in_workspace, "experiment", experiment
    if registered_model is not None:
        return in_workspace, "registered_model", registered_model
    if workspace is not None:
        return workspace, "workspace", "*"
    assert folder is not None
    return in_workspace, "folder", folder


def _grant_selectors(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--user", "user_name", default=None, help="The user the grant is for."),
            click.option("--sp", "sp_name", default=None, help="The service principal the grant is for."),
            click.option("--experiment", default=None, help="An experiment id."),
            click.option("--registered-model", default=None, help="A registered model's name."),
            click.option("--workspace", default=None, help="Everything in workspace NAME."),
            click.option("--folder", default=None, help="A folder such as /Shared/team/ (path workspaces)."),
            click.option(
                "--in-workspace",
                default="default",
                show_default=True,
                help="The workspace of the experiment, model or folder.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


@click.group()
def grant() -> None:
    """Grants of a permission on a resource to a user or service principal: add, list, remove."""


@grant.command("add")
@_grant_selectors
@click.option("--permission", required=True, type=PERMISSION_CHOICE, help="The level granted (DENY: a veto).")
@JSON_OPTION
@_store_options
@_fail_cleanly
def grant_add(
    user_name: str | None,
    sp_name: str | None,
    experiment: str | None,
    registered_model: str | None,
    workspace: str | None,
    folder: str | None,
    in_workspace: str,
    permission: str,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Grant (or change) a permission."""
    from runyard.domain.permissions import parse_permission

    name, kind = principal_option(user_name, sp_name)
    where, resource_type, pattern = _target(experiment, registered_model, workspace, folder, in_workspace)
    assert name is not None and kind is not None
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        require_kind(services, name, kind)
        record = services.identity.grants.put(
            actor(), name, where, resource_type, pattern, parse_permission(permission)
        )
    if as_json:
        emit(_grant_json(record))
    else:
        click.echo(f"Granted {permission.upper()} on {resource_type} {pattern} in {where} to '{name}'.")


@grant.command("list")
@click.option("--user", "user_name", default=None, help="Only this user's grants.")
@click.option("--sp", "sp_name", default=None, help="Only this service principal's grants.")
@JSON_OPTION
@_store_options
@_fail_cleanly
def grant_list(
    user_name: str | None,
    sp_name: str | None,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """List grants."""
    name, kind = principal_option(user_name, sp_name, required=False)
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        if name is not None and kind is not None:
            require_kind(services, name, kind)
        records = services.identity.grants.list(principal=name)
    if as_json:
        emit([_grant_json(g) for g in records])
        return
    for g in records:
        row = _grant_json(g)
        click.echo(
            f"{row['principal']}  {row['workspace']}  {row['resource_type']} {row['resource']}  {row['permission']}"
        )


@grant.command("remove")
@_grant_selectors
@_store_options
@_fail_cleanly
def grant_remove(
    user_name: str | None,
    sp_name: str | None,
    experiment: str | None,
    registered_model: str | None,
    workspace: str | None,
    folder: str | None,
    in_workspace: str,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Remove a grant."""
    name, kind = principal_option(user_name, sp_name)
    where, resource_type, pattern = _target(experiment, registered_model, workspace, folder, in_workspace)
    assert name is not None and kind is not None
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        require_kind(services, name, kind)
        services.identity.grants.remove(actor(), name, where, resource_type, pattern)
    click.echo(f"Removed the grant on {resource_type} {pattern} in {where} from '{name}'.")
