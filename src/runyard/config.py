"""Server settings: one immutable object built from command-line flags or `RUNYARD_*` variables.

Adding a setting: add a field to `Settings` (worker processes get it through `to_env`/`from_env`,
which handle every field by its type), then its `click` option to `cli.SERVER_OPTIONS`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from typing_extensions import Self

from runyard.artifacts.location import ArtifactLocation, LocalFolder, LocationError, parse_location

ENV_PREFIX = "RUNYARD_"

# SQLite's memory per server process: a page cache per connection (MiB) and a read-only mapping of
# the database file (MiB). Larger figures read large databases faster and show as a larger RSS.
DEFAULT_SQLITE_CACHE_MIB = 16
DEFAULT_SQLITE_MMAP_MIB = 128
DEFAULT_UPLOAD_PURGE_INTERVAL_SECONDS = 3600.0
# Upload left-overs untouched this long (an S3 multipart upload: started this long ago) are purged.
DEFAULT_STALE_UPLOAD_SECONDS = 24 * 3600.0

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
DEFAULT_LOG_LEVEL = "info"
# `text`: `time LEVEL logger: message`; `json`: one JSON object per line (see `runyard.observe.logs`).
LOG_FORMATS = ("text", "json")
DEFAULT_LOG_FORMAT = "text"

# Database URL schemes the server has a dialect and a driver for.
SUPPORTED_DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")


class StartupError(Exception):
    """A problem the operator must fix before Runyard can start or an admin command can run.

    The message is shown as it is (at most a few lines, no traceback) and never holds a password."""


class ConfigError(StartupError):
    """A setting that Runyard cannot work with (an unsupported URL scheme, conflicting flags)."""


# Identity and access (see `runyard.services.identity`).
AUTH_MODES = ("on", "off")
DEFAULT_ACCESS_TOKEN_TTL = 3600
MIN_ACCESS_TOKEN_TTL = 5
DEFAULT_AUTH_FAILURE_LIMIT = 10
DEFAULT_AUDIT_RETENTION_DAYS = 90.0
DEFAULT_PERMISSION = "NO_PERMISSIONS"
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """Whether `host` (a bind address) only accepts connections from this machine."""
    import ipaddress

    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    log_level: str = DEFAULT_LOG_LEVEL
    access_log: bool = False
    log_format: str = DEFAULT_LOG_FORMAT
    # Prometheus metrics at `GET /metrics` (see `runyard.observe.metrics`): on with `metrics` or with a
    # `metrics_dir` (mlflow's `--expose-prometheus DIR`: where the worker processes' files are kept).
    metrics: bool = False
    metrics_dir: str | None = None
    # Folders besides the artifact destination where a workspace's root may be set through the API.
    allowed_artifact_roots: tuple[str, ...] = ()
    # Upload left-overs (crashed or abandoned uploads) are purged at start-up and this often.
    upload_purge_interval_seconds: float = DEFAULT_UPLOAD_PURGE_INTERVAL_SECONDS
    stale_upload_seconds: float = DEFAULT_STALE_UPLOAD_SECONDS

    def __post_init__(self) -> None:
        if self.artifacts_destination is not None:
            artifact_location(self.artifacts_destination, "--artifacts-destination")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"--log-level {self.log_level!r}: must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"--log-format {self.log_format!r}: must be one of {', '.join(LOG_FORMATS)}")
        if self.metrics_dir is not None and not self.metrics_dir.strip():
            raise ConfigError("--expose-prometheus: an empty value names no folder")
        if self.auth is not None and self.auth not in AUTH_MODES:
            raise ConfigError(f"--auth {self.auth!r}: must be on or off")
        if self.auth == "off" and not is_loopback(self.host):
            raise ConfigError(
                f"--auth off with --host {self.host}: refusing to serve everything to the network without "
                "authentication; bind 127.0.0.1 or use --auth on"
            )
        from runyard.domain.permissions import LEVELS

        if self.default_permission.upper() not in LEVELS:
            raise ConfigError(f"--default-permission {self.default_permission!r}: must be one of {', '.join(LEVELS)}")
        # Short lifetimes are for tests of token renewal (the client plugin renews before expiry).
        if self.access_token_ttl < MIN_ACCESS_TOKEN_TTL:
            raise ConfigError(f"--access-token-ttl {self.access_token_ttl}: at least {MIN_ACCESS_TOKEN_TTL} seconds")
        for root in self.allowed_artifact_roots:
            try:
                check_allowed_root(root)
            except ValueError as e:
                raise ConfigError(f"--allowed-artifact-roots {root!r}: {e}") from None
        self._check_oidc()

    def _check_oidc(self) -> None:
        """Single sign-on settings: all or nothing, and only with authentication on."""
        others = {
            "--oidc-client-id": self.oidc_client_id,
            "--oidc-client-secret-env": self.oidc_client_secret_env,
            "--oidc-admin-claim": self.oidc_admin_claim,
            "--oidc-role-claim": self.oidc_role_claim,
        }
        if self.oidc_issuer is None:
            given = [flag for flag, value in others.items() if value is not None]
            if given:
                raise ConfigError(f"{', '.join(given)} without --oidc-issuer: give the upstream provider's issuer URL")
            return
        parts = urlsplit(self.oidc_issuer)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(
                f"--oidc-issuer {self.oidc_issuer!r}: expected the provider's http(s) issuer URL, "
                "e.g. https://accounts.example.com"
            )
        missing = [flag for flag in ("--oidc-client-id", "--oidc-client-secret-env") if not others[flag]]
        if missing:
            raise ConfigError(f"--oidc-issuer needs {' and '.join(missing)} (this server's client at the provider)")
        if not self.auth_enabled:
            raise ConfigError("--oidc-issuer with authentication off: single sign-on needs --auth on")
        if self.oidc_admin_claim is not None:
            from runyard.domain.sso import parse_admin_claim

            try:
                parse_admin_claim(self.oidc_admin_claim)
            except ValueError as e:
                raise ConfigError(f"--oidc-admin-claim {e}") from None
        if self.oidc_role_claim is not None and not self.oidc_role_claim.strip():
            raise ConfigError("--oidc-role-claim: give a claim name, e.g. roles")

    # Extra `Host` values and foreign origins the server answers to (see `runyard.api.security`).
    allowed_hosts: tuple[str, ...] = ()
    cors_allowed_origins: tuple[str, ...] = ()
    request_head_timeout: float = DEFAULT_REQUEST_HEAD_TIMEOUT
    request_body_timeout: float = DEFAULT_REQUEST_BODY_TIMEOUT
    min_body_rate: int = DEFAULT_MIN_BODY_RATE
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # "on", "off", or None: on unless the server binds a loopback address only.
    auth: str | None = None
    default_permission: str = DEFAULT_PERMISSION
    access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL
    # Failed sign-ins per client address (and per account) per minute before 429 (0: no limit).
    auth_failure_limit: int = DEFAULT_AUTH_FAILURE_LIMIT
    audit_retention_days: float = DEFAULT_AUDIT_RETENTION_DAYS
    # Signs access tokens; unset: a key kept in the database (shared by every process and host).
    secret_key: str | None = None
    # Single sign-on through an upstream OpenID provider (see `services.identity.oauth.upstream`).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    # The NAME of the variable holding the client secret (the secret itself is never a setting).
    oidc_client_secret_env: str | None = None
    oidc_admin_claim: str | None = None  # CLAIM=VALUE
    oidc_role_claim: str | None = None
    # Dual tracking: run the replicator in this server (one process of all that share the database
    # is elected), and the URL the mirrors' back-pointer tags name (default: http://host:port).
    mirror: bool = True
    public_url: str | None = None

    @property
    def source_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            import socket

            host = socket.gethostname()
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def metrics_enabled(self) -> bool:
        """Whether `GET /metrics` is served (`--metrics`, or `--expose-prometheus DIR`)."""
        return self.metrics or self.metrics_dir is not None

    @property
    def auth_enabled(self) -> bool:
        return self.auth == "on" if self.auth is not None else not is_loopback(self.host)

    def oidc_client_secret(self, environ: typing.Mapping[str, str] | None = None) -> str:
        """The upstream client secret, from the variable `--oidc-client-secret-env` names (read at
        start-up, in every process). The message of a missing one names the variable, never a value."""
        name = self.oidc_client_secret_env or ""
        value = (os.environ if environ is None else environ).get(name, "") if name else ""
        if not value:
            raise ConfigError(
                f"--oidc-client-secret-env {name}: the variable {name} is not set or empty; "
                "put the client secret the provider issued in it"
            )
        return value

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the backend store (SQLite in the data folder unless told otherwise)."""
        return normalise_database_url(self.backend_store_uri or self.default_database_uri)

    @property
    def default_database_uri(self) -> str:
        return f"sqlite:///{(self.data_dir / 'runyard.db').resolve()}"

    @property
    def database_display(self) -> str:
        """The backend store's URL as it may be printed: any password masked."""
        return mask_password(self.backend_store_uri or self.default_database_uri)

    @property
    def artifact_root(self) -> str:
        """Where artifact bytes live: a local folder path or an `s3://bucket/prefix` URI."""
        return self.artifact_location.uri

    @property
    def artifact_location(self) -> ArtifactLocation:
        """`artifact_root` as a location value (see `runyard.artifacts.location`)."""
        if self.artifacts_destination:
            return artifact_location(self.artifacts_destination, "--artifacts-destination")
        return LocalFolder(str((self.data_dir / "artifacts").resolve()))

    def to_env(self) -> dict[str, str]:
        """The environment that makes `Settings.from_env()` rebuild these settings in a worker process.

        Every field is written (unset ones as an empty string), so nothing the worker inherits from the
        operator's shell can change what the parent process decided."""
        env: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                text = ""
            elif isinstance(value, bool):
                text = "1" if value else "0"
            elif isinstance(value, Path):
                text = str(value.resolve())
            elif isinstance(value, tuple):
                text = ",".join(value)
            else:
                text = str(value)
            env[ENV_PREFIX + f.name.upper()] = text
        return env

    @classmethod
    def from_env(cls, environ: typing.Mapping[str, str] | None = None) -> Self:
        """Settings from `RUNYARD_*` variables; an unset or empty variable leaves the default."""
        env = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            text = env.get(ENV_PREFIX + f.name.upper())
            if text:
                values[f.name] = _parse(hints[f.name], text, ENV_PREFIX + f.name.upper())
        return cls(**values)  # type: ignore[arg-type]


def _parse(kind: object, text: str, name: str) -> object:
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}={text!r}: expected true or false")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r}: expected an integer") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r}: expected a number") from None
    if kind is Path:
        return Path(text)
    if kind == tuple[str, ...]:
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if kind in (str, str | None):
        return text
    raise TypeError(f"Settings field {name}: no environment encoding for {kind!r}")


def artifact_location(destination: str, flag: str) -> ArtifactLocation:
    """The storage an artifact destination names: a local folder (a path or a `file:` URI) or an S3
    bucket prefix (`s3://bucket/prefix`); any other scheme is refused, since bytes would otherwise
    land in a folder named after the scheme."""
    try:
        return parse_location(destination)
    except LocationError as e:
        raise ConfigError(f"{flag}: {e}") from None


def check_allowed_root(root: str) -> None:
    """Refuse (ValueError) an `--allowed-artifact-roots` entry that is not an absolute folder or an S3 URI."""
    location = parse_location(root)
    if isinstance(location, LocalFolder) and not location.path.startswith("/"):
        raise ValueError("expected an absolute folder or an s3://bucket/prefix URI")


def check_database_scheme(uri: str) -> None:
    """Refuse a database URL Runyard has no dialect for, before anything tries to load a driver."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(uri)
    except ArgumentError:
        raise ConfigError(
            f"--backend-store-uri {mask_password(uri)}: not a database URL; "
            "use sqlite:///path/to/file.db or postgresql://user@host:5432/db"
        ) from None
    if url.drivername not in SUPPORTED_DATABASE_SCHEMES:
        raise ConfigError(
            f"--backend-store-uri {mask_password(uri)}: '{url.drivername}' databases are not supported; "
            "use sqlite:///path/to/file.db or postgresql://user@host:5432/db"
        )


def mask_password(uri: str) -> str:
    """`uri` with the password (in the authority or a `password=` query parameter) replaced by ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(uri)
    except ArgumentError:
        # Not parseable as a URL: still hide anything that looks like user:password@.
        scheme, sep, rest = uri.partition("://")
        if sep and "@" in rest:
            userinfo, _, host = rest.rpartition("@")
            return f"{scheme}://{userinfo.partition(':')[0]}:***@{host}" if ":" in userinfo else uri
        return uri
    return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", url.render_as_string(hide_password=True))


def parse_folder_list(value: str) -> tuple[str, ...]:
    """A comma-separated list of absolute folders or `s3://` URIs (blank entries ignored); ValueError
    naming the entries that are neither."""
    folders = split_list(value)
    refused = []
    for folder in folders:
        try:
            check_allowed_root(folder)
        except ValueError:
            refused.append(folder)
    if refused:
        raise ValueError(f"expected absolute folders or s3://bucket/prefix URIs, got {', '.join(refused)}")
    return folders


def split_list(value: str | None) -> tuple[str, ...]:
    """A comma-separated setting (`a, b,c`) as its non-empty items."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def normalise_database_url(uri: str) -> str:
    """Map user-facing URLs to SQLAlchemy ones: `postgresql://` uses the psycopg (v3) driver."""
    for prefix in ("postgresql://", "postgres://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri


def default_artifact_root_folder(root: str) -> str | None:
    """`mlflow server --default-artifact-root` in Runyard's terms: Runyard always serves artifacts
    itself (experiments get `mlflow-artifacts:/` locations), so `mlflow-artifacts:/` changes nothing
    (None) and a local folder or S3 bucket is where the bytes go, as `--artifacts-destination` would say."""
    parts = urlsplit(root)
    scheme = parts.scheme.lower()
    if scheme == "mlflow-artifacts" and not parts.netloc and parts.path in ("", "/"):
        return None
    if scheme in ("mlflow-artifacts", "http", "https"):
        raise ConfigError(
            f"--default-artifact-root {root}: Runyard serves artifacts itself at mlflow-artifacts:/ (no prefix "
            "or other server); give a local folder or s3:// bucket (used as --artifacts-destination) or leave it out"
        )
    artifact_location(root, "--default-artifact-root")
    return root


# Where a value came from, weakest first: how two flags naming one setting are reconciled.
SOURCE_DEFAULT, SOURCE_MLFLOW_ENV, SOURCE_RUNYARD_ENV, SOURCE_COMMAND_LINE = range(4)


def resolve_artifacts_destination(
    destination: str | None, destination_source: int, default_root: str | None, default_root_source: int
) -> str | None:
    """One artifact folder from `--artifacts-destination` and `--default-artifact-root`.

    The stronger source wins (command line, then `RUNYARD_*`, then `MLFLOW_*` variables); two values
    from equally strong sources that name different folders are refused rather than guessed between."""
    folder = default_artifact_root_folder(default_root) if default_root else None
    if folder is None:
        return destination
    if destination is None or default_root_source > destination_source:
        return folder
    if destination_source > default_root_source:
        return destination
    here = artifact_location(destination, "--artifacts-destination")
    there = artifact_location(folder, "--default-artifact-root")
    if isinstance(here, LocalFolder) and isinstance(there, LocalFolder):
        here, there = LocalFolder(str(Path(here.path).resolve())), LocalFolder(str(Path(there.path).resolve()))
    if here != there:
        raise ConfigError(
            f"--artifacts-destination {destination} and --default-artifact-root {default_root} name different "
            "folders; Runyard keeps all artifacts in one place (it proxies them), so give one of the two"
        )
    return destination
