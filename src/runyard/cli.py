"""The `runyard` command line: `server`, `db upgrade`, `workspace create|list|show|update|delete`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runyard import __version__
from runyard.config import DEFAULT_SQLITE_CACHE_MIB, DEFAULT_SQLITE_MMAP_MIB, Settings

if TYPE_CHECKING:
    from runyard.domain.entities import Workspace
    from runyard.services.container import Services


@click.group()
@click.version_option(__version__, prog_name="runyard")
def main() -> None:
    """Runyard: a self-hosted ML workspace server that speaks the MLflow REST protocol."""


@main.command()
@click.option("--host", envvar="RUNYARD_HOST", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", envvar="RUNYARD_PORT", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--data-dir",
    envvar="RUNYARD_DATA_DIR",
    default="./runyard-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the embedded SQLite database and local artifacts.",
)
@click.option(
    "--backend-store-uri",
    envvar="RUNYARD_BACKEND_STORE_URI",
    default=None,
    help="Database URL: sqlite:///path or postgresql://user@host/db (default: SQLite in the data dir).",
)
@click.option(
    "--artifacts-destination",
    envvar="RUNYARD_ARTIFACTS_DESTINATION",
    default=None,
    help="Where artifact bytes are stored (default: <data-dir>/artifacts).",
)
@click.option(
    "--allowed-artifact-roots",
    envvar="RUNYARD_ALLOWED_ARTIFACT_ROOTS",
    default="",
    callback=lambda _ctx, _param, value: _folder_list(value),
    help="Comma-separated absolute folders where a workspace's artifact root may also be set through the "
    "REST API (besides the artifact destination).",
)
@click.option(
    "--workers",
    envvar="RUNYARD_WORKERS",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Server processes.",
)
@click.option(
    "--sqlite-cache-mib",
    envvar="RUNYARD_SQLITE_CACHE_MIB",
    default=DEFAULT_SQLITE_CACHE_MIB,
    show_default=True,
    type=click.IntRange(1),
    help="SQLite page cache per database connection, in MiB.",
)
@click.option(
    "--sqlite-mmap-mib",
    envvar="RUNYARD_SQLITE_MMAP_MIB",
    default=DEFAULT_SQLITE_MMAP_MIB,
    show_default=True,
    type=click.IntRange(0),
    help="How much of the SQLite file is read through a memory mapping, in MiB (0: none).",
)
def server(
    host: str,
    port: int,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    allowed_artifact_roots: tuple[str, ...],
    workers: int,
    sqlite_cache_mib: int,
    sqlite_mmap_mib: int,
) -> None:
    """Serve the MLflow REST protocol."""
    from runyard.server import serve

    serve(
        Settings(
            host=host,
            port=port,
            data_dir=data_dir,
            backend_store_uri=backend_store_uri,
            artifacts_destination=artifacts_destination,
            allowed_artifact_roots=allowed_artifact_roots,
            workers=workers,
            sqlite_cache_mib=sqlite_cache_mib,
            sqlite_mmap_mib=sqlite_mmap_mib,
        )
    )


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
@click.option("--data-dir", envvar="RUNYARD_DATA_DIR", default="./runyard-data", type=click.Path(path_type=Path))
@click.option("--backend-store-uri", envvar="RUNYARD_BACKEND_STORE_URI", default=None)
def db_upgrade(data_dir: Path, backend_store_uri: str | None) -> None:
    """Create or migrate the schema to the newest version."""
    from runyard.store.migrate import current_revision, upgrade

    settings = Settings(data_dir=data_dir, backend_store_uri=backend_store_uri)
    upgrade(settings.database_url)
    click.echo(f"Database schema is at revision {current_revision(settings.database_url)}.")


# --- workspaces -------------------------------------------------------------------------------


def _store_options(fn: Any) -> Any:
    fn = click.option("--backend-store-uri", envvar="RUNYARD_BACKEND_STORE_URI", default=None, help="Database URL.")(fn)
    fn = click.option(
        "--artifacts-destination", envvar="RUNYARD_ARTIFACTS_DESTINATION", default=None, help="Artifact root."
    )(fn)
    return click.option(
        "--data-dir",
        envvar="RUNYARD_DATA_DIR",
        default="./runyard-data",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
    )(fn)


def _services(data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> Services:
    from runyard.services.container import Services
    from runyard.store.migrate import upgrade

    settings = Settings(
        data_dir=data_dir, backend_store_uri=backend_store_uri, artifacts_destination=artifacts_destination
    )
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


def _fail_on_mlflow_error(fn: Any) -> Any:
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from runyard.domain.errors import MlflowError

        try:
            return fn(*args, **kwargs)
        except MlflowError as e:
            raise click.ClickException(f"{e.error_code}: {e.message}") from None

    return wrapper


@main.group()
def workspace() -> None:
    """Workspace administration, directly against the database (no server needed)."""


@workspace.command("create")
@click.argument("name")
@click.option("--naming", type=click.Choice(["flat", "path"]), default="flat", show_default=True)
@click.option("--description", default=None)
@click.option("--artifact-root", default=None, help="Absolute folder for this workspace's artifacts.")
@click.option("--path-root", "path_roots", multiple=True, help="Root folder for path naming (repeatable).")
@_store_options
@_fail_on_mlflow_error
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
    services = _services(data_dir, backend_store_uri, artifacts_destination)
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
@_fail_on_mlflow_error
def workspace_list(data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """List workspaces."""
    services = _services(data_dir, backend_store_uri, artifacts_destination)
    try:
        for w in services.workspaces.list_all():
            click.echo(f"{w.name}\t{w.naming}\t{w.description or ''}")
    finally:
        services.close()


@workspace.command("show")
@click.argument("name")
@_store_options
@_fail_on_mlflow_error
def workspace_show(name: str, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None) -> None:
    """Show workspace NAME."""
    services = _services(data_dir, backend_store_uri, artifacts_destination)
    try:
        click.echo(_show(services.workspaces.get(name)))
    finally:
        services.close()


@workspace.command("update")
@click.argument("name")
@click.option("--description", default=None)
@click.option("--artifact-root", default=None)
@_store_options
@_fail_on_mlflow_error
def workspace_update(
    name: str,
    description: str | None,
    artifact_root: str | None,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
) -> None:
    """Change the description or (while empty) the artifact root of workspace NAME."""
    services = _services(data_dir, backend_store_uri, artifacts_destination)
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
@_fail_on_mlflow_error
def workspace_delete(
    name: str, force: bool, data_dir: Path, backend_store_uri: str | None, artifacts_destination: str | None
) -> None:
    """Delete workspace NAME (refused while it holds anything, unless --force)."""
    services = _services(data_dir, backend_store_uri, artifacts_destination)
    try:
        services.workspaces.delete(name, "CASCADE" if force else "RESTRICT")
        click.echo(f"Deleted workspace '{name}'.")
    finally:
        services.close()
