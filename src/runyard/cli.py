"""The `runyard` command line: `server`, `db upgrade`, `workspace create|list|show|update|delete`, and
(from `runyard.cli_identity`) `user`, `token`, `sp`, `grant`, `role`, `audit`, and (from
`runyard.plugin.cli`, the client side) `login`, `logout`, `whoami`, `uri`.

Every `runyard server` option lives in `SERVER_OPTIONS` (a flag, its `RUNYARD_*` variable and, where
`mlflow server` has the same setting, its `MLFLOW_*` variable, which `RUNYARD_*` overrides) and
arrives in `server()` as a keyword argument named like the `Settings` field it fills.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from runyard import __version__
from runyard.config import (
    DEFAULT_ACCESS_TOKEN_TTL,
    DEFAULT_AUDIT_RETENTION_DAYS,
    DEFAULT_AUTH_FAILURE_LIMIT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_LOG_FORMAT,
    DEFAULT_LOG_LEVEL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MIN_BODY_RATE,
    DEFAULT_PERMISSION,
    DEFAULT_REQUEST_BODY_TIMEOUT,
    DEFAULT_REQUEST_HEAD_TIMEOUT,
    DEFAULT_SQLITE_CACHE_MIB,
    DEFAULT_SQLITE_MMAP_MIB,
    DEFAULT_STALE_UPLOAD_SECONDS,
    ENV_PREFIX,
    LOG_FORMATS,
    LOG_LEVELS,
    MIN_ACCESS_TOKEN_TTL,
    SOURCE_COMMAND_LINE,
    SOURCE_DEFAULT,
    SOURCE_MLFLOW_ENV,
    SOURCE_RUNYARD_ENV,
    Settings,
    StartupError,
    resolve_artifacts_destination,
    split_list,
)

if TYPE_CHECKING:
    from runyard.domain.entities import Workspace
    from runyard.services.container import Services

Decorator = Callable[[Any], Any]


def env(name: str, mlflow: str | None = None) -> list[str]:
    """The variables an option reads, strongest first: `RUNYARD_<name>`, then `mlflow server`'s name."""
    return [ENV_PREFIX + name] + ([mlflow] if mlflow else [])


def _option(*decls: str, **kwargs: Any) -> Decorator:
    return click.option(*decls, show_envvar=True, **kwargs)


DATA_DIR_OPTION = _option(
    "--data-dir",
    envvar=env("DATA_DIR"),
    default="./runyard-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the embedded SQLite database and local artifacts.",
)
BACKEND_STORE_URI_OPTION = _option(
    "--backend-store-uri",
    envvar=env("BACKEND_STORE_URI", "MLFLOW_BACKEND_STORE_URI"),
    default=None,
    help="Database URL: sqlite:///path or postgresql://user@host/db (default: SQLite in the data dir).",
)
ARTIFACTS_DESTINATION_OPTION = _option(
    "--artifacts-destination",
    envvar=env("ARTIFACTS_DESTINATION", "MLFLOW_ARTIFACTS_DESTINATION"),
    default=None,
    help="Where artifact bytes are stored: a local folder (path or file:///path) or an S3 bucket "
    "(s3://bucket/prefix; endpoint, region and credentials from the standard AWS_* environment and config) "
    "(default: <data-dir>/artifacts).",
)

SERVER_OPTIONS: list[Decorator] = [
    _option(
        "--host",
        "-h",
        envvar=env("HOST", "MLFLOW_HOST"),
        default="127.0.0.1",
        show_default=True,
        help="Interface to bind (0.0.0.0 or :: for all interfaces).",
    ),
    _option(
        "--port",
        "-p",
        envvar=env("PORT", "MLFLOW_PORT"),
        default=5000,
        show_default=True,
        type=click.IntRange(0, 65535),
        help="Port to listen on (0: any free port).",
    ),
    DATA_DIR_OPTION,
    BACKEND_STORE_URI_OPTION,
    ARTIFACTS_DESTINATION_OPTION,
    _option(
        "--allowed-artifact-roots",
        envvar=env("ALLOWED_ARTIFACT_ROOTS"),
        default="",
        callback=lambda _ctx, _param, value: _folder_list(value),
        help="Comma-separated absolute folders or s3://bucket/prefix URIs where a workspace's artifact root may "
        "also be set through the REST API (besides the artifact destination).",
    ),
    _option(
        "--stale-upload-seconds",
        envvar=env("STALE_UPLOAD_SECONDS"),
        default=DEFAULT_STALE_UPLOAD_SECONDS,
        show_default=True,
        type=click.FloatRange(min=0),
        help="Abandoned uploads are purged this long after their last part arrived (an S3 multipart upload: "
        "after it was started).",
    ),
    _option(
        "--default-artifact-root",
        envvar=["MLFLOW_DEFAULT_ARTIFACT_ROOT"],
        default=None,
        help="mlflow server's flag, accepted for its habit: a local folder or s3:// bucket is used as "
        "--artifacts-destination "
        "(Runyard always proxies artifacts; experiments get mlflow-artifacts:/ locations), mlflow-artifacts:/ "
        "is the default.",
    ),
    _option(
        "--workers",
        "-w",
        envvar=env("WORKERS", "MLFLOW_WORKERS"),
        default=1,
        show_default=True,
        type=click.IntRange(1),
        help="Server processes.",
    ),
    _option(
        "--sqlite-cache-mib",
        envvar=env("SQLITE_CACHE_MIB"),
        default=DEFAULT_SQLITE_CACHE_MIB,
        show_default=True,
        type=click.IntRange(1),
        help="SQLite page cache per database connection, in MiB.",
    ),
    _option(
        "--sqlite-mmap-mib",
        envvar=env("SQLITE_MMAP_MIB"),
        default=DEFAULT_SQLITE_MMAP_MIB,
        show_default=True,
        type=click.IntRange(0),
        help="How much of the SQLite file is read through a memory mapping, in MiB (0: none).",
    ),
    _option(
        "--log-level",
        envvar=env("LOG_LEVEL"),
        default=DEFAULT_LOG_LEVEL,
        show_default=True,
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        callback=lambda _ctx, _param, value: value.lower(),
        help="Level of the runyard.* and uvicorn log lines (on stderr).",
    ),
    _option(
        "--access-log/--no-access-log",
        envvar=env("ACCESS_LOG"),
        default=False,
        show_default=True,
        help="Log one line per request (on stdout): method, path, status, duration, request id.",
    ),
    _option(
        "--log-format",
        envvar=env("LOG_FORMAT"),
        default=DEFAULT_LOG_FORMAT,
        show_default=True,
        type=click.Choice(LOG_FORMATS, case_sensitive=False),
        callback=lambda _ctx, _param, value: value.lower(),
        help="text: 'time LEVEL logger: message'; json: one JSON object per line (timestamp, level, logger, "
        "message, request_id; access lines also method, path, status, duration_ms).",
    ),
    # --- observability (runyard.observe) ---
    _option(
        "--metrics/--no-metrics",
        envvar=env("METRICS"),
        default=False,
        show_default=True,
        help="Serve Prometheus metrics at GET /metrics (administrators only when authentication is on).",
    ),
    _option(
        "--expose-prometheus",
        "--metrics-dir",
        "metrics_dir",
        envvar=env("METRICS_DIR", "MLFLOW_EXPOSE_PROMETHEUS"),
        default=None,
        metavar="DIR",
        help="mlflow server's flag: serve /metrics (as --metrics) and keep the worker processes' metric files "
        "in DIR (created if missing; its metric files are cleared at start-up). Default: a temporary folder.",
    ),
    # --- request security and connection limits (runyard.api.security, runyard.http_protocol) ---
    _option(
        "--allowed-hosts",
        envvar=env("ALLOWED_HOSTS", "MLFLOW_SERVER_ALLOWED_HOSTS"),
        default="",
        callback=lambda _ctx, _param, value: split_list(value),
        help="Comma-separated Host header values to answer besides localhost and the bound address "
        "(name, name:port, '*' wildcards: 'mlflow.example.com,10.0.*'; '*' alone: any host). "
        "Other hosts are refused (DNS rebinding).",
    ),
    _option(
        "--cors-allowed-origins",
        envvar=env("CORS_ALLOWED_ORIGINS", "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"),
        default="",
        callback=lambda _ctx, _param, value: split_list(value),
        help="Comma-separated web origins allowed to call the API from a browser "
        "('https://app.example.com', '*' wildcards). Other origins cannot change anything.",
    ),
    _option(
        "--request-head-timeout",
        envvar=env("REQUEST_HEAD_TIMEOUT"),
        default=DEFAULT_REQUEST_HEAD_TIMEOUT,
        show_default=True,
        type=click.FloatRange(0),
        help="Seconds a client has to send a request's headers (0: no limit).",
    ),
    _option(
        "--request-body-timeout",
        envvar=env("REQUEST_BODY_TIMEOUT"),
        default=DEFAULT_REQUEST_BODY_TIMEOUT,
        show_default=True,
        type=click.FloatRange(0),
        help="Seconds a request body may stall; also the window --min-body-rate is averaged over (0: no limit).",
    ),
    _option(
        "--min-body-rate",
        envvar=env("MIN_BODY_RATE"),
        default=DEFAULT_MIN_BODY_RATE,
        show_default=True,
        type=click.IntRange(0),
        help="Slowest request body accepted, in bytes per second (0: no limit).",
    ),
    _option(
        "--keep-alive-timeout",
        envvar=env("KEEP_ALIVE_TIMEOUT"),
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        show_default=True,
        type=click.FloatRange(0, min_open=True),
        help="Seconds an idle keep-alive connection stays open.",
    ),
    # --- identity and access (runyard.services.identity) ---
    _option(
        "--auth",
        envvar=env("AUTH"),
        default=None,
        type=click.Choice(["on", "off"], case_sensitive=False),
        callback=lambda _ctx, _param, value: value.lower() if value else None,
        help="Require sign-in on every route but the probes (default: off when --host is a loopback "
        "address, on otherwise; off with another host is refused).",
    ),
    _option(
        "--default-permission",
        envvar=env("DEFAULT_PERMISSION"),
        default=DEFAULT_PERMISSION,
        show_default=True,
        type=click.Choice(["NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE"], case_sensitive=False),
        callback=lambda _ctx, _param, value: value.upper(),
        help="What a workspace member may do with experiments and models nobody granted them.",
    ),
    _option(
        "--access-token-ttl",
        envvar=env("ACCESS_TOKEN_TTL"),
        default=DEFAULT_ACCESS_TOKEN_TTL,
        show_default=True,
        type=click.IntRange(MIN_ACCESS_TOKEN_TTL),
        help="Lifetime of access tokens from POST /oauth/token, in seconds.",
    ),
    _option(
        "--auth-failure-limit",
        envvar=env("AUTH_FAILURE_LIMIT"),
        default=DEFAULT_AUTH_FAILURE_LIMIT,
        show_default=True,
        type=click.IntRange(0),
        help="Failed sign-ins per client address or account per minute before further attempts get 429 (0: no limit).",
    ),
    _option(
        "--audit-retention-days",
        envvar=env("AUDIT_RETENTION_DAYS"),
        default=DEFAULT_AUDIT_RETENTION_DAYS,
        show_default=True,
        type=click.FloatRange(0),
        help="Days audit events are kept (0: forever).",
    ),
    # --- single sign-on through an upstream OpenID provider (runyard.services.identity.oauth.upstream) ---
    _option(
        "--oidc-issuer",
        envvar=env("OIDC_ISSUER"),
        default=None,
        help="Offer 'Sign in with ...' through this OpenID provider (its issuer URL; needs --auth on, "
        "--oidc-client-id and --oidc-client-secret-env). Register <this server>/login/sso/callback there.",
    ),
    _option(
        "--oidc-client-id",
        envvar=env("OIDC_CLIENT_ID"),
        default=None,
        help="This server's client id at the --oidc-issuer provider.",
    ),
    _option(
        "--oidc-client-secret-env",
        envvar=env("OIDC_CLIENT_SECRET_ENV"),
        default=None,
        metavar="VAR",
        help="Name of the environment variable holding the client secret (read at start-up; never a flag).",
    ),
    _option(
        "--oidc-admin-claim",
        envvar=env("OIDC_ADMIN_CLAIM"),
        default=None,
        metavar="CLAIM=VALUE",
        help="A single sign-on user is an administrator iff this ID-token claim equals VALUE (or is a list "
        "holding it); applied at every sign-in. Without it, administrators are made by hand.",
    ),
    _option(
        "--oidc-role-claim",
        envvar=env("OIDC_ROLE_CLAIM"),
        default=None,
        metavar="CLAIM",
        help="ID-token claim naming roles as <workspace>/<role> (or <role> in default): at every sign-in the "
        "user joins those that exist here and leaves those single sign-on added that are no longer named.",
    ),
    _option(
        "--mirror/--no-mirror",
        envvar=env("MIRROR"),
        default=True,
        show_default=True,
        help="Run the dual-tracking replicator in this server (one process of all that share the database "
        "sends; the others stand by). --no-mirror: run `runyard mirror` instead.",
    ),
    _option(
        "--public-url",
        envvar=env("PUBLIC_URL"),
        default=None,
        help="The URL users reach this server at; mirrored runs point back to it (default: http://HOST:PORT).",
    ),
    _option(
        "--max-connections",
        envvar=env("MAX_CONNECTIONS"),
        default=DEFAULT_MAX_CONNECTIONS,
        show_default=True,
        type=click.IntRange(0),
        help="Open connections per server process; more are answered 429 (Retry-After) and closed (0: no limit).",
    ),
]


def _apply(options: list[Decorator]) -> Decorator:
    def decorate(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _fail_cleanly(fn: Any) -> Any:
    """Start-up problems and MLflow-shaped refusals become a short `Error: ...` and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from runyard.domain.errors import MlflowError

        try:
            return fn(*args, **kwargs)
        except StartupError as e:
            raise click.ClickException(str(e)) from None
        except MlflowError as e:
            raise click.ClickException(f"{e.error_code}: {e.message}") from None

    return wrapper


def _source(ctx: click.Context, name: str, runyard_var: str | None) -> int:
    source = ctx.get_parameter_source(name)
    if source == ParameterSource.COMMANDLINE:
        return SOURCE_COMMAND_LINE
    if source == ParameterSource.ENVIRONMENT:
        return SOURCE_RUNYARD_ENV if runyard_var and os.environ.get(runyard_var) else SOURCE_MLFLOW_ENV
    return SOURCE_DEFAULT


@click.group()
@click.version_option(__version__, prog_name="runyard")
def main() -> None:
    """Runyard: a self-hosted ML workspace server that speaks the MLflow REST protocol."""


@main.command()
@_apply(SERVER_OPTIONS)
@click.pass_context
@_fail_cleanly
def server(ctx: click.Context, default_artifact_root: str | None, **options: Any) -> None:
    """Serve the MLflow REST protocol.

    Every option can be set by the environment variable shown; where `mlflow server` has the same
    setting its MLFLOW_* variable works too, and RUNYARD_* wins when both are set.
    """
    from runyard.server import serve

    options["artifacts_destination"] = resolve_artifacts_destination(
        options["artifacts_destination"],
        _source(ctx, "artifacts_destination", ENV_PREFIX + "ARTIFACTS_DESTINATION"),
        default_artifact_root,
        _source(ctx, "default_artifact_root", None),
    )
    # Not a flag (it would show in `ps`): only the environment variable sets it.
    options["secret_key"] = os.environ.get(ENV_PREFIX + "SECRET_KEY") or None
    serve(Settings(**options))


def _folder_list(value: str) -> tuple[str, ...]:
    from runyard.config import parse_folder_list

    try:
        return parse_folder_list(value or "")
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@main.group()
def db() -> None:
    """Database administration."""


@db.command("upgrade")
@DATA_DIR_OPTION
@BACKEND_STORE_URI_OPTION
@_fail_cleanly
def db_upgrade(data_dir: Path, backend_store_uri: str | None) -> None:
    """Create or migrate the schema to the newest version."""
    from runyard.store.migrate import current_revision, upgrade

    settings = Settings(data_dir=data_dir, backend_store_uri=backend_store_uri)
    upgrade(settings.database_url)
    click.echo(f"Database schema is at revision {current_revision(settings.database_url)}.")


# --- workspaces -------------------------------------------------------------------------------


def _store_options(fn: Any) -> Any:
    return _apply([DATA_DIR_OPTION, BACKEND_STORE_URI_OPTION, ARTIFACTS_DESTINATION_OPTION])(fn)


def _services(
    data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None, *, create: bool
) -> Services:
    """The services over the store, migrated to the newest schema. `create=False` (commands that only
    read): a missing or empty database is reported (`NoDatabase`) instead of being created."""
    from runyard.services.container import Services
    from runyard.store.migrate import known_revisions, upgrade
    from runyard.store.preflight import require_existing

    settings = Settings(
        data_dir=data_dir,
        backend_store_uri=backend_store_uri,
        artifacts_destination=artifacts_destination,
        # The key mirror links' credentials are sealed with (see `services.mirror.secrets`).
        secret_key=os.environ.get(ENV_PREFIX + "SECRET_KEY") or None,
    )
    if not create:
        require_existing(settings.database_url, known_revisions())
    upgrade(settings.database_url)
    return Services.build(settings)


def _show(w: Workspace) -> str:
    lines = [
        f"name:          {w.name}",
        f"naming:        {w.naming}" + (f" (roots: {', '.join(w.path_roots)})" if w.path_roots else ""),
        f"description:   {w.description or ''}",
        f"artifact root: {w.artifact_root or '(server default)'}",
    ]
    return "\n".join(lines)


@main.group()
def workspace() -> None:
    """Workspace administration, directly against the database (no server needed)."""


@workspace.command("create")
@click.argument("name")
@click.option("--naming", type=click.Choice(["flat", "path"]), default="flat", show_default=True)
@click.option("--description", default=None)
@click.option(
    "--artifact-root", default=None, help="Absolute folder or s3://bucket/prefix for this workspace's artifacts."
)
@click.option("--path-root", "path_roots", multiple=True, help="Root folder for path naming (repeatable).")
@_store_options
@_fail_cleanly
def workspace_create(
    name: str,
    naming: str,
    description: str | None,
    artifact_root: str | None,
    path_roots: tuple[str, ...],
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Create workspace NAME."""
    services = _services(data_dir, backend_store_uri, artifacts_destination, create=True)
    try:
        created = services.workspaces.create(
            name,
            description=description,
            naming=naming,
            artifact_root=artifact_root,
            path_roots=path_roots or None,
            operator=True,
        )
        click.echo(_show(created))
    finally:
        services.close()


@workspace.command("list")
@_store_options
@_fail_cleanly
def workspace_list(data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """List workspaces."""
    services = _services(data_dir, backend_store_uri, artifacts_destination, create=False)
    try:
        for w in services.workspaces.list_all():
            click.echo(f"{w.name}\t{w.naming}\t{w.description or ''}")
    finally:
        services.close()


@workspace.command("show")
@click.argument("name")
@_store_options
@_fail_cleanly
def workspace_show(name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """Show workspace NAME."""
    services = _services(data_dir, backend_store_uri, artifacts_destination, create=False)
    try:
        click.echo(_show(services.workspaces.get(name)))
    finally:
        services.close()


@workspace.command("update")
@click.argument("name")
@click.option("--description", default=None)
@click.option(
    "--artifact-root", default=None, help="Absolute folder or s3://bucket/prefix (while the workspace is empty)."
)
@_store_options
@_fail_cleanly
def workspace_update(
    name: str,
    description: str | None,
    artifact_root: str | None,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Change the description or (while empty) the artifact root of workspace NAME."""
    services = _services(data_dir, backend_store_uri, artifacts_destination, create=False)
    try:
        click.echo(
            _show(services.workspaces.update(name, description=description, artifact_root=artifact_root, operator=True))
        )
    finally:
        services.close()


@workspace.command("delete")
@click.argument("name")
@click.option("--force", is_flag=True, help="Also delete everything the workspace holds.")
@_store_options
@_fail_cleanly
def workspace_delete(
    name: str, force: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Delete workspace NAME (refused while it holds anything, unless --force)."""
    services = _services(data_dir, backend_store_uri, artifacts_destination, create=False)
    try:
        services.workspaces.delete(name, "CASCADE" if force else "RESTRICT")
        click.echo(f"Deleted workspace '{name}'.")
    finally:
        services.close()


# The identity commands (`user`, `token`, `sp`, `grant`, `role`, `audit`) live in their own module.
from runyard import cli_identity  # noqa: E402

cli_identity.register(main)

# Dual tracking: `workspace link/links/unlink/pause/resume/retry/status` and `mirror`.
from runyard import cli_mirror  # noqa: E402

cli_mirror.register(main)

# The client commands (`login`, `logout`, `whoami`, `uri`) of the mlflow plugin: no server module.
from runyard.plugin import cli as plugin_cli  # noqa: E402

plugin_cli.register(main)
