"""Runs the server: check and migrate the store, bind the port, say where to point MLflow, start uvicorn.

Start-up order: the database is inspected read-only (a foreign or unreachable one stops here,
untouched), the port is bound (a busy port stops here, before anything is written), the schema is
created or migrated, and only then the "serving on" line is printed. Problems surface as
`StartupError`s, which the command line prints as a short message with a non-zero exit.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import logging
import logging.config
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, cast

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from runyard import __version__
from runyard.api import mlflow_ui
from runyard.api.ui import pages as ui_pages
from runyard.config import Settings, StartupError
from runyard.http_protocol import ConnectionLimits, HttpProtocol
from runyard.observe import metrics_dir
from runyard.observe.logs import ACCESS_LOGGER, JsonFormatter, RequestIdFilter, TextFormatter
from runyard.services.artifacts import check_reachable, prepare_artifacts
from runyard.store import migrate
from runyard.store.preflight import display_url

log = logging.getLogger("runyard")

_BACKLOG = 2048
_ALL_INTERFACES = ("0.0.0.0", "::", "")


def serve(settings: Settings) -> None:
    """Run the server until SIGINT or SIGTERM (then exit 0 after in-flight requests finish)."""
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    logging.config.dictConfig(logging_config(settings))
    if settings.oidc_issuer is not None:
        settings.oidc_client_secret()  # refuse to start without it (workers read it again)
    migrate.check(settings.database_url)
    # An S3 bucket must be reachable with the AWS settings in force, before anything is written.
    unreachable = check_reachable(settings.artifact_root)
    if unreachable is not None:
        raise StartupError(f"Cannot start: {unreachable}")
    sock = bind(settings.host, settings.port)
    settings = dataclasses.replace(settings, port=int(sock.getsockname()[1]))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    if settings.auth_enabled:
        create_first_admin(settings)
    # Once, before any worker starts: move an artifact folder of the old layout (see `layout`).
    prepare_artifacts(settings.database_url, settings.artifact_root)
    # Before anything imports prometheus_client (it picks its mode once per process, at import).
    metrics_folder = prepare_metrics(settings)
    # Worker processes rebuild the settings from the environment.
    os.environ.update(settings.to_env())
    # The replicator runs beside the workers, in a process of its own (see `mirror.sidecar`).
    replicator = start_replicator_process() if settings.mirror else None
    os.environ.update(dataclasses.replace(settings, mirror=False).to_env())
    try:
        for line in startup_lines(settings, metrics_folder):
            print(line, flush=True)
        config = uvicorn.Config("runyard.app:create_app", factory=True, **uvicorn_options(settings))
        if settings.workers > 1:
            supervisor = _Supervisor(config, sockets=[sock])
            if metrics_folder is not None:
                supervisor.on_worker_exit = functools.partial(_worker_gone, metrics_folder.path)
            supervisor.run()
            if supervisor.stopped_by is None:
                raise StartupError("A worker process failed to start; see the log lines above.")
            _say_stopped(supervisor.stopped_by)
            return
        # uvicorn drains in-flight requests on SIGTERM/SIGINT and then re-raises the signal to the
        # handler that was installed before it (`_exit_cleanly`).
        uvicorn.Server(config).run(sockets=[sock])
        raise StartupError("The server did not start; see the log lines above.")
    finally:
        if replicator is not None:
            stop_replicator_process(replicator)
        if metrics_folder is not None:
            metrics_folder.remove()


def prepare_metrics(settings: Settings) -> metrics_dir.MetricsFolder | None:
    """With `--metrics`: this run's metric folder, named to every process by `PROMETHEUS_MULTIPROC_DIR`."""
    if not settings.metrics_enabled:
        return None
    folder = metrics_dir.prepare(settings.metrics_dir)
    os.environ[metrics_dir.VARIABLE] = str(folder.path)
    return folder


def _worker_gone(folder: Path, pid: int) -> None:
    """A worker process exited (stopped, crashed or replaced): its live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]


def start_replicator_process() -> subprocess.Popen[bytes]:
    """`python -m runyard.mirror.sidecar` with this server's settings (from the environment)."""
    # Ctrl-C in a terminal reaches the whole process group: the server stops the replicator itself.
    return subprocess.Popen(
        [sys.executable, "-m", "runyard.mirror.sidecar"],
        env=dict(os.environ),
        preexec_fn=_ignore_interrupts,  # runs before any thread of the server exists
    )


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_replicator_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` (the application and its socket aside)."""
    return {
        "workers": settings.workers,
        "http": functools.partial(HttpProtocol, limits=ConnectionLimits.from_settings(settings)),
        # Levels and handlers come from `log_config` alone (uvicorn's `log_level` would also lower
        # the access logger's level and drop its lines under `--log-level warning`).
        "log_config": logging_config(settings),
        "log_level": None,
        "access_log": False,  # Runyard's own access lines (see `api.observe`)
        "timeout_graceful_shutdown": 30,
        # Typed int by uvicorn, used as a float (`loop.call_later`): fractions work.
        "timeout_keep_alive": cast(int, settings.keep_alive_timeout),
        "server_header": False,
        "backlog": _BACKLOG,
    }


def logging_config(settings: Settings) -> dict[str, Any]:
    """`logging.config.dictConfig` for the `runyard.*` and uvicorn loggers (applied in every process):
    `--log-format` lines on stderr, the access lines (`runyard.access`, see `api.observe`) on stdout,
    every record with the id of the request it was emitted for (see `observe.logs`)."""
    level = settings.log_level.upper()
    formatter = {"()": JsonFormatter} if settings.log_format == "json" else {"()": TextFormatter}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"lines": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "lines",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "lines",
                "filters": ["request_id"],
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "runyard": {"handlers": ["stderr"], "level": level, "propagate": False},
            ACCESS_LOGGER: {
                "handlers": ["access"],
                "level": "INFO" if settings.access_log else "WARNING",
                "propagate": False,
            },
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Runyard writes the access lines itself (with the duration and the request id).
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host:port`; a busy port or a foreign address is a `StartupError`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    sock = socket.socket(family=family)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except socket.gaierror:
        sock.close()
        raise StartupError(f"Cannot listen on {where}: unknown host name {host!r} (see --host).") from None
    except OSError as e:
        sock.close()
        reason = {
            errno.EADDRINUSE: "the port is already in use (another server running?); choose another with --port",
            errno.EACCES: "permission denied (ports below 1024 need privileges); choose another with --port",
            errno.EADDRNOTAVAIL: "that address does not belong to this machine (see --host)",
        }.get(e.errno or 0, e.strerror or str(e))
        raise StartupError(f"Cannot listen on {where}: {reason}.") from None
    sock.set_inheritable(True)  # worker processes serve the same socket
    return sock


def create_first_admin(settings: Settings) -> None:
    """Once, before any worker starts: the `admin` account if there is none (see `bootstrap`)."""
    from runyard.services.identity.accounts import AccountService
    from runyard.services.identity.audit import AuditLog
    from runyard.services.identity.bootstrap import ensure_first_admin
    from runyard.store.database import Database

    db = Database(settings.database_url, pool=False)
    try:
        ensure_first_admin(AccountService(db, AuditLog(db, settings.audit_retention_days)))
    finally:
        db.dispose()


def web_ui_line(url: str) -> str:
    """Where the web UI is (and MLflow's, when the `mlflow` package is installed beside Runyard)."""
    ours = f"{url}/" if (ui_pages.BUNDLE / ui_pages.INDEX).is_file() else "not built into this installation"
    mlflow = f"; MLflow's UI at {url}{mlflow_ui.PREFIX}/" if mlflow_ui.locate_build() is not None else ""
    return f"Runyard web UI: {ours}{mlflow}"


def startup_lines(settings: Settings, metrics_folder: metrics_dir.MetricsFolder | None = None) -> list[str]:
    """What the operator reads at start-up: the stores in use, what is logged and measured, and the
    URL to give MLflow. No password is printed (the database URL's is masked)."""
    if settings.host in _ALL_INTERFACES:
        url = f"http://{socket.gethostname()}:{settings.port}"
        where = f"all interfaces ({settings.host or '0.0.0.0'}, port {settings.port})"
    else:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        url = f"http://{host}:{settings.port}"
        where = url
    workers = f", {settings.workers} worker processes" if settings.workers > 1 else ""
    return [
        f"Runyard {__version__}: database {database_line(settings.database_url)}",
        f"Runyard artifacts: {settings.artifact_location.describe()} (clients see mlflow-artifacts:/ URIs)",
        "Runyard authentication: " + ("on (sign in; see `runyard user --help`)" if settings.auth_enabled else "off"),
        logging_line(settings),
        metrics_line(url, settings, metrics_folder),
        web_ui_line(url),
        f"Runyard serving on {where}{workers} — point MLflow at it: export MLFLOW_TRACKING_URI={url}",
    ]


def database_line(database_url: str) -> str:
    """`sqlite:////abs/path.db (SQLite)` or `postgresql://user:***@host/db (PostgreSQL)`."""
    kind = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    return f"{display_url(database_url)} ({kind})"


def logging_line(settings: Settings) -> str:
    access = "on (stdout)" if settings.access_log else "off"
    return f"Runyard logs: {settings.log_level} and above, {settings.log_format} lines on stderr; access log {access}"


def metrics_line(url: str, settings: Settings, folder: metrics_dir.MetricsFolder | None) -> str:
    if not settings.metrics_enabled:
        return "Runyard metrics: off (--metrics serves Prometheus metrics at /metrics)"
    who = "administrators only" if settings.auth_enabled else "open"
    where = f"; worker files in {folder.path}" if folder is not None and not folder.temporary else ""
    return f"Runyard metrics: {url}/metrics (Prometheus, {who}){where}"


class _Supervisor(Multiprocess):
    """uvicorn's worker supervisor, remembering which signal stopped it and telling
    `on_worker_exit` the process id of every worker that exited (stopped, died or replaced)."""

    stopped_by: str | None = None
    on_worker_exit: Callable[[int], None] | None = None

    def _pids(self) -> set[int]:
        return {p.pid for p in self.processes if p.pid is not None}

    def _tell(self, gone: set[int]) -> None:
        if self.on_worker_exit is None:
            return
        for pid in gone:
            try:
                self.on_worker_exit(pid)
            except Exception:
                log.exception("marking worker %d as gone failed", pid)

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._tell(before - self._pids())

    def handle_signals(self) -> None:
        before = self._pids()
        super().handle_signals()
        self._tell(before - self._pids())

    def join_all(self) -> None:
        everyone = self._pids()
        super().join_all()
        self._tell(everyone)

    def handle_int(self) -> None:
        self.stopped_by = "SIGINT"
        super().handle_int()

    def handle_term(self) -> None:
        self.stopped_by = "SIGTERM"
        super().handle_term()


def _say_stopped(signal_name: str) -> None:
    print(f"Runyard stopped ({signal_name}).", flush=True)


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    _say_stopped(signal.Signals(signum).name)
    sys.exit(0)
