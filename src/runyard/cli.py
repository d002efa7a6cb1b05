"""The `runyard` command line: `server`, `db upgrade`."""

from __future__ import annotations

from pathlib import Path

import click

from runyard import __version__
from runyard.config import Settings


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
    "--workers",
    envvar="RUNYARD_WORKERS",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Server processes.",
)
def server(
    host: str,
    port: int,
    data_dir: Path,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    workers: int,
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
            workers=workers,
        )
    )


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
