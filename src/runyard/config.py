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

# Connection limits (see `runyard.http_protocol`): seconds, bytes per second, connections per process.
DEFAULT_REQUEST_HEAD_TIMEOUT = 30.0
DEFAULT_REQUEST_BODY_TIMEOUT = 30.0
DEFAULT_MIN_BODY_RATE = 1024
DEFAULT_KEEP_ALIVE_TIMEOUT = 60.0
DEFAULT_MAX_CONNECTIONS = 1000


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
    # Extra `Host` values and foreign origins the server answers to (see `runyard.api.security`).
    allowed_hosts: tuple[str, ...] = ()
    cors_allowed_origins: tuple[str, ...] = ()
    request_head_timeout: float = DEFAULT_REQUEST_HEAD_TIMEOUT
    request_body_timeout: float = DEFAULT_REQUEST_BODY_TIMEOUT
    min_body_rate: int = DEFAULT_MIN_BODY_RATE
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

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
            "ALLOWED_HOSTS": ",".join(self.allowed_hosts),
            "CORS_ALLOWED_ORIGINS": ",".join(self.cors_allowed_origins),
            "REQUEST_HEAD_TIMEOUT": str(self.request_head_timeout),
            "REQUEST_BODY_TIMEOUT": str(self.request_body_timeout),
            "MIN_BODY_RATE": str(self.min_body_rate),
            "KEEP_ALIVE_TIMEOUT": str(self.keep_alive_timeout),
            "MAX_CONNECTIONS": str(self.max_connections),
        }
        if self.backend_store_uri:
            env["BACKEND_STORE_URI"] = self.backend_store_uri
        if self.artifacts_destination:
            env["ARTIFACTS_DESTINATION"] = self.artifacts_destination
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
            allowed_hosts=split_list(get("ALLOWED_HOSTS")),
            cors_allowed_origins=split_list(get("CORS_ALLOWED_ORIGINS")),
            request_head_timeout=float(get("REQUEST_HEAD_TIMEOUT") or DEFAULT_REQUEST_HEAD_TIMEOUT),
            request_body_timeout=float(get("REQUEST_BODY_TIMEOUT") or DEFAULT_REQUEST_BODY_TIMEOUT),
            min_body_rate=int(get("MIN_BODY_RATE") or DEFAULT_MIN_BODY_RATE),
            keep_alive_timeout=float(get("KEEP_ALIVE_TIMEOUT") or DEFAULT_KEEP_ALIVE_TIMEOUT),
            max_connections=int(get("MAX_CONNECTIONS") or DEFAULT_MAX_CONNECTIONS),
        )


def split_list(value: str | None) -> tuple[str, ...]:
    """A comma-separated setting (`a, b,c`) as its non-empty items."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def normalise_database_url(uri: str) -> str:
    """Map user-facing URLs to SQLAlchemy ones: `postgresql://` uses the psycopg (v3) driver."""
    for prefix in ("postgresql://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri
