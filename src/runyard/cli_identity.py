"""The identity commands of `runyard` (against the database directly, like `runyard workspace`):
`user`, `token`, `sp` (service principals), `grant`, `role` and `audit`.

Secrets are shown once, by the command that makes them (a generated password, a personal access
token, a client secret), and nowhere else; the audit log records the command line as actor `cli`.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runyard.cli import _fail_cleanly, _services, _store_options

if TYPE_CHECKING:
    from runyard.domain.identity import AccessToken, AuditEvent, GrantRecord, Principal, Role, RolePermission
    from runyard.services.container import Services

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output (JSON).")
PERMISSION_CHOICE = click.Choice(["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS", "DENY"], case_sensitive=False)
DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
GENERATED_PASSWORD_BYTES = 18


@contextmanager
def _opened(
    data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None, *, create: bool = True
) -> Iterator[Services]:
    """The services over the store (`create=False`: a command that only reads refuses a missing database)."""
    services = _services(data_dir, backend_store_uri, artifacts_destination, create=create)
    try:
        yield services
    finally:
        services.close()


def _actor() -> Any:
    from runyard.services.identity.audit import Actor

    return Actor.cli()


def _emit(value: object) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration_ms(text: str) -> int:
    """`30d`, `12h`, `90m`, `45s`, `2w` → milliseconds (BadParameter otherwise)."""
    match = DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise click.BadParameter(f"'{text}' is not a duration such as 30d, 12h, 90m or 2w.")
    return int(match.group(1)) * UNIT_MS[match.group(2)]


def parse_since_ms(text: str, now_ms: int) -> int:
    """An ISO 8601 time (`2026-12-01`, `2026-12-01T10:00:00Z`) or a duration back from now (`24h`)."""
    if DURATION.match(text):
        return now_ms - parse_duration_ms(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"'{text}' is neither an ISO 8601 time nor a duration such as 24h.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


def _read_password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated): one line from standard input, or a new random one."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.ClickException("No password on standard input.")
        return line, False
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES), True


def _principal_json(p: Principal) -> dict[str, object]:
    out: dict[str, object] = {
        "id": p.id,
        "name": p.name,
        "kind": p.kind,
        "is_admin": p.is_admin,
        "enabled": p.enabled,
        "creation_time": p.creation_time,
        "last_update_time": p.last_update_time,
    }
    if p.client_id is not None:
        out["client_id"] = p.client_id
    return out


def _principal_line(p: Principal) -> str:
    flags = [f for f, on in (("admin", p.is_admin), ("disabled", not p.enabled)) if on]
    extra = f"  client_id={p.client_id}" if p.client_id else ""
    return f"{p.name}{'  [' + ', '.join(flags) + ']' if flags else ''}{extra}"


def _require_kind(services: Services, name: str, kind: str) -> Principal:
    from runyard.domain.errors import MlflowError

    found = services.identity.accounts.get(name)
    if found.kind != kind:
        what = "a user" if kind == "user" else "a service principal"
        raise MlflowError(f"'{name}' is not {what}.")
    return found


# --- users ------------------------------------------------------------------------------------


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
    password, generated = _read_password(password_stdin)
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        created = services.identity.accounts.create_user(_actor(), name, password, is_admin=admin)
    if as_json:
        out = _principal_json(created)
        if generated:
            out["password"] = password
        _emit(out)
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

    _list_principals(USER, as_json, data_dir, backend_store_uri, artifacts_destination)


def _list_principals(
    kind: str, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Print the users or the service principals, a line (or a JSON object) each."""
    with _opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        found = services.identity.accounts.list(kind)
    if as_json:
        _emit([_principal_json(p) for p in found])
    else:
        for p in found:
            click.echo(_principal_line(p))


@user.command("show")
@click.argument("name")
@JSON_OPTION
@_store_options
@_fail_cleanly
def user_show(
    name: str, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Show user (or service principal) NAME."""
    with _opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        found = services.identity.accounts.get(name)
    if as_json:
        _emit(_principal_json(found))
        return
    for key, value in _principal_json(found).items():
        shown = _time(value) if key.endswith("_time") and isinstance(value, int) else value
        click.echo(f"{key + ':':<18}{shown}")


def _set_enabled(name: str, enabled: bool, data_dir: Path, backend_store_uri: str | None, dest: str | None) -> None:
    with _opened(data_dir, backend_store_uri, dest) as services:
        services.identity.accounts.set_enabled(_actor(), name, enabled)
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
    password, generated = _read_password(password_stdin)
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        services.identity.accounts.set_password(_actor(), name, password)
    if as_json:
        _emit({"name": name, **({"password": password} if generated else {})})
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
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        _require_kind(services, name, "user")
        services.identity.accounts.delete(_actor(), name)
    click.echo(f"Deleted user '{name}'.")


# --- personal access tokens -------------------------------------------------------------------


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
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        issued = services.identity.accounts.create_token(_actor(), owner, label, expires_at)
    if as_json:
        _emit({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at})
        return
    click.echo(f"Created token {issued.id} for '{owner}' (expires: {_time(issued.expires_at)}).")
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
    with _opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        tokens = services.identity.accounts.list_tokens(owner)
    if as_json:
        _emit([_token_json(t) for t in tokens])
        return
    for t in tokens:
        state = "revoked" if t.revoked_at is not None else f"expires {_time(t.expires_at)}"
        click.echo(f"{t.id}  {t.principal_name}  {t.name}  {state}  last used {_time(t.last_used_at)}")


@token.command("revoke")
@click.argument("token_id")
@_store_options
@_fail_cleanly
def token_revoke(
    token_id: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Revoke token TOKEN_ID."""
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        services.identity.accounts.revoke_token(_actor(), token_id)
    click.echo(f"Revoked token {token_id}.")


# --- service principals -----------------------------------------------------------------------


@click.group()
def sp() -> None:
    """Service principals (OAuth clients): create, list, update, rotate-secret, delete."""


def _issued(name: str, client_id: str, secret: str, as_json: bool, verb: str) -> None:
    if as_json:
        _emit({"name": name, "client_id": client_id, "client_secret": secret})
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
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        issued = services.identity.accounts.create_service_principal(_actor(), name, redirect_uris)
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
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        _require_kind(services, name, SERVICE_PRINCIPAL)
        uris = services.identity.accounts.set_redirect_uris(_actor(), name, redirect_uris)
    if as_json:
        _emit({"name": name, "redirect_uris": list(uris)})
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

    _list_principals(SERVICE_PRINCIPAL, as_json, data_dir, backend_store_uri, artifacts_destination)


@sp.command("rotate-secret")
@click.argument("name")
@JSON_OPTION
@_store_options
@_fail_cleanly
def sp_rotate_secret(
    name: str, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Replace NAME's client secret (the new one is printed once; the old one stops working)."""
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        issued = services.identity.accounts.rotate_secret(_actor(), name)
    _issued(issued.name, issued.client_id, issued.client_secret, as_json, "Rotated the secret of")


@sp.command("delete")
@click.argument("name")
@_store_options
@_fail_cleanly
def sp_delete(name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """Delete service principal NAME."""
    from runyard.domain.identity import SERVICE_PRINCIPAL

    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        _require_kind(services, name, SERVICE_PRINCIPAL)
        services.identity.accounts.delete(_actor(), name)
    click.echo(f"Deleted service principal '{name}'.")


# --- grants -----------------------------------------------------------------------------------


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


def _who(user_name: str | None, sp_name: str | None, *, required: bool = True) -> tuple[str | None, str | None]:
    """(name, kind) of `--user NAME` / `--sp NAME` (exactly one, unless not `required`)."""
    if user_name and sp_name:
        raise click.UsageError("Give --user or --sp, not both.")
    if user_name:
        return user_name, "user"
    if sp_name:
        return sp_name, "service_principal"
    if required:
        raise click.UsageError("Give --user NAME or --sp NAME.")
    return None, None


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

    name, kind = _who(user_name, sp_name)
    where, resource_type, pattern = _target(experiment, registered_model, workspace, folder, in_workspace)
    assert name is not None and kind is not None
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        _require_kind(services, name, kind)
        record = services.identity.grants.put(
            _actor(), name, where, resource_type, pattern, parse_permission(permission)
        )
    if as_json:
        _emit(_grant_json(record))
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
    name, kind = _who(user_name, sp_name, required=False)
    with _opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        if name is not None and kind is not None:
            _require_kind(services, name, kind)
        records = services.identity.grants.list(principal=name)
    if as_json:
        _emit([_grant_json(g) for g in records])
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
    name, kind = _who(user_name, sp_name)
    where, resource_type, pattern = _target(experiment, registered_model, workspace, folder, in_workspace)
    assert name is not None and kind is not None
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        _require_kind(services, name, kind)
        services.identity.grants.remove(_actor(), name, where, resource_type, pattern)
    click.echo(f"Removed the grant on {resource_type} {pattern} in {where} from '{name}'.")


# --- roles ------------------------------------------------------------------------------------


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
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        created = services.identity.grants.create_role(_actor(), workspace, name, description)
    if as_json:
        _emit(_role_json(created, [], []))
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
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        found = services.identity.grants.role_by_name(workspace, role_name)
        services.identity.grants.add_role_permission(
            _actor(), found.id, resource_type, pattern, parse_permission(permission)
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
    name, kind = _who(user_name, sp_name)
    assert name is not None and kind is not None
    with _opened(data_dir, backend_store_uri, artifacts_destination) as services:
        _require_kind(services, name, kind)
        found = services.identity.grants.role_by_name(workspace, role_name)
        services.identity.grants.assign(_actor(), found.id, name)
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
    with _opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        grants = services.identity.grants
        rows = [
            _role_json(r, list(grants.role_permissions(r.id)), list(grants.members(r.id)))
            for r in grants.roles(workspace)
        ]
    if as_json:
        _emit(rows)
        return
    for row in rows:
        perms = ", ".join(f"{p['permission']} {p['resource_type']} {p['resource']}" for p in row["permissions"])  # type: ignore[attr-defined]
        members = ", ".join(row["members"])  # type: ignore[arg-type]
        click.echo(f"{row['workspace']}/{row['name']}  [{perms}]  members: {members}")


# --- audit ------------------------------------------------------------------------------------


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
    with _opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        events = services.identity.audit.query(since=since_ms, actor=actor, action=action, limit=limit)
    if as_json:
        _emit([_event_json(e) for e in events])
        return
    for e in events:
        click.echo(
            f"{_time(e.time)}  {e.actor or '-'}@{e.source or '-'}  {e.action}  {e.resource or ''}  {e.outcome}"
            + (f"  ({e.detail})" if e.detail else "")
        )


COMMANDS = [user, token, sp, grant, role, audit]


def register(main: click.Group) -> None:
    for command in COMMANDS:
        main.add_command(command)
