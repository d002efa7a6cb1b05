"""Server settings: one immutable object built from command-line flags or `RUNYARD_*` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "RUNYARD_"

# SQLite's memory per server process: a page cache per connection (MiB) and a read-only mapping of
# the database file (MiB). Larger figures read large databases faster and show as a larger RSS.
DEFAULT_SQLITE_CACHE_MIB = 16
DEFAULT_SQLITE_MMAP_MIB = 128
DEFAULT_UPLOAD_PURGE_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class Settings:
    """Everything a server process needs to know; worker processes rebuild it from the environment."""

    host: str = "127.0.0.1"
    port: int = 5000
    data_dir: Path = field(default_factory=lambda: Path("./runyard-data"))
    backend_store_uri: str | None = None
    artifacts_destination: str | None = None
    workers: int = 1
    sqlite_cache_mib: int = DEFAULT_SQLITE_CACHE_MIB
    sqlite_mmap_mib: int = DEFAULT_SQLITE_MMAP_MIB
    # Folders besides the artifact destination where a workspace's root may be set through the API.
    allowed_artifact_roots: tuple[str, ...] = ()
    # Upload left-overs (crashed or abandoned uploads) are purged at start-up and this often.
    upload_purge_interval_seconds: float = DEFAULT_UPLOAD_PURGE_INTERVAL_SECONDS

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the backend store (SQLite in the data folder unless told otherwise)."""
        uri = self.backend_store_uri or f"sqlite:///{(self.data_dir / 'runyard.db').resolve()}"
        return normalise_database_url(uri)

    @property
    def artifact_root(self) -> str:
        """Where artifact bytes live: a local folder path (or, later, an object-store URI)."""
        dest = self.artifacts_destination or str((self.data_dir / "artifacts").resolve())
        if dest.startswith("file://"):
            dest = dest[len("file://") :]
        return dest

    def to_env(self) -> dict[str, str]:
        """The environment that makes `Settings.from_env()` rebuild these settings in a worker process."""
        env = {
            "HOST": self.host,
            "PORT": str(self.port),
            "DATA_DIR": str(self.data_dir.resolve()),
            "WORKERS": str(self.workers),
            "SQLITE_CACHE_MIB": str(self.sqlite_cache_mib),
            "SQLITE_MMAP_MIB": str(self.sqlite_mmap_mib),
        }
        if self.backend_store_uri:
            env["BACKEND_STORE_URI"] = self.backend_store_uri
        if self.artifacts_destination:
            env["ARTIFACTS_DESTINATION"] = self.artifacts_destination
        if self.allowed_artifact_roots:
            env["ALLOWED_ARTIFACT_ROOTS"] = ",".join(self.allowed_artifact_roots)
        env["UPLOAD_PURGE_INTERVAL_SECONDS"] = str(self.upload_purge_interval_seconds)
        return {ENV_PREFIX + k: v for k, v in env.items()}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value else None

        return cls(
            host=get("HOST") or "127.0.0.1",
            port=int(get("PORT") or 5000),
            data_dir=Path(get("DATA_DIR") or "./runyard-data"),
            backend_store_uri=get("BACKEND_STORE_URI"),
            artifacts_destination=get("ARTIFACTS_DESTINATION"),
            workers=int(get("WORKERS") or 1),
            sqlite_cache_mib=int(get("SQLITE_CACHE_MIB") or DEFAULT_SQLITE_CACHE_MIB),
            sqlite_mmap_mib=int(get("SQLITE_MMAP_MIB") or DEFAULT_SQLITE_MMAP_MIB),
            allowed_artifact_roots=parse_folder_list(get("ALLOWED_ARTIFACT_ROOTS") or ""),
            upload_purge_interval_seconds=float(
                get("UPLOAD_PURGE_INTERVAL_SECONDS") or DEFAULT_UPLOAD_PURGE_INTERVAL_SECONDS
            ),
        )


def parse_folder_list(value: str) -> tuple[str, ...]:
    """A comma-separated list of absolute folders (blank entries ignored); ValueError if one is relative."""
    folders = tuple(part.strip() for part in value.split(",") if part.strip())
    relative = [f for f in folders if not f.startswith("/")]
    if relative:
        raise ValueError(f"expected absolute folders, got {', '.join(relative)}")
    return folders


def normalise_database_url(uri: str) -> str:
    """Map user-facing URLs to SQLAlchemy ones: `postgresql://` uses the psycopg (v3) driver."""
    for prefix in ("postgresql://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri
