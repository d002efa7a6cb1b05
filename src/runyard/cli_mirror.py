"""Dual tracking on the command line: `runyard workspace link / links / unlink / pause / resume /
retry / status` (directly against the database, like the other admin commands) and `runyard mirror`
(the replicator as a process of its own, for servers started with `--no-mirror`).

Credentials are never arguments (they would show in `ps` and shell history): the options name the
environment variables that hold them, read once here, sealed, and stored encrypted.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import click

from runyard.cli import _fail_cleanly, _store_options, workspace
from runyard.cli_identity.common import JSON_OPTION, emit, format_time, opened
from runyard.config import ENV_PREFIX


def _from_env(option: str, name: str | None) -> str:
    if not name:
        return ""
    value = os.environ.get(name, "")
    if not value:
        raise click.UsageError(f"{option} {name}: the variable {name} is not set or empty.")
    return value


def _credentials(
    token_env: str | None,
    username_env: str | None,
    password_env: str | None,
    client_id_env: str | None,
    client_secret_env: str | None,
) -> object:
    from runyard.domain.mirror import TargetCredentials

    chosen = [bool(token_env), bool(username_env or password_env), bool(client_id_env or client_secret_env)]
    if sum(chosen) > 1:
        raise click.UsageError(
            "Give one kind of credentials: --token-env, --username-env/--password-env, "
            "or --client-id-env/--client-secret-env."
        )
    if token_env:
        return TargetCredentials(kind="token", token=_from_env("--token-env", token_env))
    if username_env or password_env:
        if not (username_env and password_env):
            raise click.UsageError("--username-env and --password-env go together.")
        return TargetCredentials(
            kind="basic",
            username=_from_env("--username-env", username_env),
            password=_from_env("--password-env", password_env),
        )
    if client_id_env or client_secret_env:
        if not (client_id_env and client_secret_env):
            raise click.UsageError("--client-id-env and --client-secret-env go together.")
        return TargetCredentials(
            kind="client_credentials",
            client_id=_from_env("--client-id-env", client_id_env),
            client_secret=_from_env("--client-secret-env", client_secret_env),
        )
    return TargetCredentials()


def _show(status: dict[str, object]) -> str:
    sent = status["sent"]
    assert isinstance(sent, dict)
    backfill = status["backfill"]
    assert isinstance(backfill, dict)
    lines = [
        f"{status['name']}: {status['state']} → {status['target']}",
        f"  pending: {status['pending_items']} item(s), lag {status['lag_seconds']} s"
        + (f", oldest {format_time(status['oldest_pending_at'])}" if status["oldest_pending_at"] else ""),  # type: ignore[arg-type]
        f"  back-fill: {backfill['state']} ({backfill['done']}/{backfill['total']})",
        f"  sent: {sent['runs']} run(s), {sent['points']} point(s), {sent['bytes']} byte(s)",
        f"  parked: {status['parked_items']}",
    ]
    if status["last_error"]:
        lines.append(f"  last error ({format_time(status['last_error_at'])}): {status['last_error']}")  # type: ignore[arg-type]
    return "\n".join(lines)


@workspace.command("link")
@click.argument("source")
@click.option("--to", "url", required=True, help="The target tracking server's URL (Runyard or MLflow).")
@click.option("--target-workspace", default=None, help="Workspace on the target (sent as X-MLFLOW-WORKSPACE).")
@click.option("--token-env", default=None, metavar="VAR", help="Variable holding a bearer token for the target.")
@click.option("--username-env", default=None, metavar="VAR", help="Variable holding the basic-auth user name.")
@click.option("--password-env", default=None, metavar="VAR", help="Variable holding the basic-auth password.")
@click.option("--client-id-env", default=None, metavar="VAR", help="Variable holding a service principal's id.")
@click.option("--client-secret-env", default=None, metavar="VAR", help="Variable holding its client secret.")
@click.option("--name", default=None, help="Link name (default: the target's host-port[-workspace]).")
@click.option(
    "--experiments", "experiments_filter", default=None, help="Mirror only experiments matching this MLflow filter."
)
@click.option("--no-check", is_flag=True, help="Do not contact the target now (it may be down).")
@_store_options
@_fail_cleanly
def workspace_link(
    source: str,
    url: str,
    target_workspace: str | None,
    token_env: str | None,
    username_env: str | None,
    password_env: str | None,
    client_id_env: str | None,
    client_secret_env: str | None,
    name: str | None,
    experiments_filter: str | None,
    no_check: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Mirror workspace SOURCE into a workspace of another tracking server (what it holds is back-filled)."""
    from runyard.domain.mirror import TargetCredentials
    from runyard.services.mirror.links import LinkRequest

    credentials = _credentials(token_env, username_env, password_env, client_id_env, client_secret_env)
    assert isinstance(credentials, TargetCredentials)
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        links = services.mirror_links
        request = LinkRequest(url, target_workspace, credentials, name, experiments_filter)
        status = links.link(source, request, created_by="cli", check=not no_check)
        click.echo(_show(status.as_json()))


@workspace.command("links")
@click.argument("source")
@JSON_OPTION
@_store_options
@_fail_cleanly
def workspace_links(
    source: str, as_json: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """List the mirror links of workspace SOURCE."""
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        found = services.mirror_links.status(source)
    if as_json:
        emit([s.as_json() for s in found])
        return
    for s in found:
        click.echo(f"{s.name}\t{s.state}\t{s.target}\t{s.auth}\t{s.experiments_filter or ''}")


@workspace.command("status")
@click.argument("source")
@click.argument("name", required=False)
@JSON_OPTION
@_store_options
@_fail_cleanly
def workspace_status(
    source: str,
    name: str | None,
    as_json: bool,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Delivery state of the mirror links of workspace SOURCE (or of link NAME)."""
    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        found = services.mirror_links.status(source, name)
    if as_json:
        emit([s.as_json() for s in found])
        return
    if not found:
        click.echo(f"Workspace '{source}' has no mirror links.")
    for s in found:
        click.echo(_show(s.as_json()))


def _link_command(command: str, summary: str) -> None:
    @workspace.command(command, help=summary)
    @click.argument("source")
    @click.argument("name")
    @_store_options
    @_fail_cleanly
    def run(
        source: str, name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
    ) -> None:
        with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
            links = services.mirror_links
            if command == "unlink":
                links.unlink(source, name)
                click.echo(f"Removed mirror link '{name}' of workspace '{source}'.")
            elif command == "retry":
                count = links.retry(source, name)
                click.echo(f"{count} parked item(s) of link '{name}' will be sent again.")
            else:
                status = links.set_paused(source, name, command == "pause")
                click.echo(_show(status.as_json()))


_link_command("unlink", "Remove mirror link NAME of workspace SOURCE (what the target holds stays).")
_link_command("pause", "Stop sending to mirror link NAME; writes are kept and sent on resume.")
_link_command("resume", "Send to mirror link NAME again, starting with what was kept while paused.")
_link_command("retry", "Send the parked items of mirror link NAME again.")


@click.command("mirror")
@_store_options
@click.option(
    "--public-url",
    envvar=ENV_PREFIX + "PUBLIC_URL",
    default=None,
    help="The URL of the Runyard server users reach (mirrored runs point back to it).",
)
@_fail_cleanly
def mirror(
    data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None, public_url: str | None
) -> None:
    """Run the dual-tracking replicator in the foreground (for servers started with --no-mirror).

    Any number may run: one is elected through the database, the others stand by.
    """
    from runyard.mirror.replicator import Replicator

    with opened(data_dir, backend_store_uri, artifacts_destination, create=False) as services:
        replicator = Replicator.of(services, public_url)

        def stop(_signum: int, _frame: FrameType | None) -> None:
            replicator.request_stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(f"runyard mirror: replicating as {replicator.holder} (Ctrl-C to stop)")
        replicator.run_forever()


def register(main: click.Group) -> None:
    main.add_command(mirror)
