"""`runyard role`: roles — named sets of permissions in one workspace — and their members."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
    from runyard.domain.identity import Principal, Role, RolePermission


def _role_json(r: Role, permissions: list[RolePermission], members: list[Principal]) -> dict[str, object]:
    from runyard.domain.permissions import NAMES

    return {
        "id": r.id,
        "name": r.name,
        "workspace": r.workspace,
        "description": r.description,
        "permissions": [
            {"id": p.id, "resource_type": p.resource_type, "resource": p.pattern, "permission": NAMES[p.level]}
            for p in permissions
        ],
        "members": [m.name for m in members],
    }


@click.group()
def role() -> None:
    """Workspace roles: create, add-permission, assign, list."""


@role.command("create")
@click.argument("name")
@click.option("--workspace", required=True, help="The workspace the role belongs to.")
@click.option("--description", default=None)
@JSON_OPTION
@_store_options
@_fail_cleanly
def role_create(
    name: str,
    workspace: str,
    description: str | None,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Create role NAME in a workspace."""
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        created = services.identity.grants.create_role(actor(), workspace, name, description)
    if as_json:
        emit(_role_json(created, [], []))
    else:
        click.echo(f"Created role '{created.name}' in workspace '{created.workspace}' (id {created.id}).")


@role.command("add-permission")
@click.argument("role_name")
@click.option("--workspace", required=True, help="The role's workspace.")
@click.option("--experiment", default=None, help="An experiment id, or * for every experiment.")
@click.option("--registered-model", default=None, help="A registered model's name, or * for every model.")
@click.option("--workspace-wide", is_flag=True, help="Everything in the workspace.")
@click.option("--permission", required=True, type=PERMISSION_CHOICE)
@_store_options
@_fail_cleanly
def role_add_permission(
    role_name: str,
    workspace: str,
    experiment: str | None,
    registered_model: str | None,
    workspace_wide: bool,
    permission: str,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Add a permission to role ROLE_NAME."""
    from runyard.domain.permissions import parse_permission

    chosen = [c for c in (experiment is not None, registered_model is not None, workspace_wide) if c]
    if len(chosen) != 1:
        raise click.UsageError("Give exactly one of --experiment, --registered-model, --workspace-wide.")
    if experiment is not None:
        resource_type, pattern = "experiment", experiment
    elif registered_model is not None:
        resource_type, pattern = "registered_model", registered_model
    else:
        resource_type, pattern = "workspace", "*"
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        found = services.identity.grants.role_by_name(workspace, role_name)
        services.identity.grants.add_role_permission(
            actor(), found.id, resource_type, pattern, parse_permission(permission)
        )
    click.echo(f"Role '{role_name}' in '{workspace}': {permission.upper()} on {resource_type} {pattern}.")


@role.command("assign")
@click.argument("role_name")
@click.option("--workspace", required=True, help="The role's workspace.")
@click.option("--user", "user_name", default=None)
@click.option("--sp", "sp_name", default=None)
@_store_options
@_fail_cleanly
def role_assign(
    role_name: str,
    workspace: str,
    user_name: str | None,
    sp_name: str | None,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Give role ROLE_NAME to a user or service principal."""
    name, kind = principal_option(user_name, sp_name)
    assert name is not None and kind is not None
    with opened(data_dir, backend_store_uri, artifacts_destination) as services:
        require_kind(services, name, kind)
        found = services.identity.grants.role_by_name(workspace, role_name)
        services.identity.grants.assign(actor(), found.id, name)
    click.echo(f"Assigned role '{role_name}' in '{workspace}' to '{name}'.")


@role.command("list")
@click.option("--workspace", default=None, help="Only this workspace's roles.")
@JSON_OPTION
@_store_options
@_fail_cleanly
def role_list(
    workspace: str | None,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """List roles with their permissions and members."""
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        grants = services.identity.grants
        rows = [
            _role_json(r, list(grants.role_permissions(r.id)), list(grants.members(r.id)))
            for r in grants.roles(workspace)
        ]
    if as_json:
        emit(rows)
        return
    for row in rows:
        perms = ", ".join(f"{p['permission']} {p['resource_type']} {p['resource']}" for p in row["permissions"])  # type: ignore[attr-defined]
        members = ", ".join(row["members"])  # type: ignore[arg-type]
        click.echo(f"{row['workspace']}/{row['name']}  [{perms}]  members: {members}")
