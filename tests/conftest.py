"""Test fixtures: live Runyard servers (SQLite and PostgreSQL) started as real processes, and the
real `mlflow` client pointed at them."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from runyard.services.container import Services
    from tests.moto_server import MotoServer

# The client must fail fast in tests instead of retrying 5xx answers for minutes.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

POSTGRES_ADMIN_URL = os.environ.get("RUNYARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_POSTGRES = os.environ.get("RUNYARD_REQUIRE_POSTGRES") == "1"
# A query string as (name, value) pairs, names repeated as needed, typed as httpx's `params` takes a
# list of them (its value union exactly: a list is invariant, so `list[tuple[str, str]]` is refused).
QueryPairs = list[tuple[str, str | int | float | bool | None]]
# `mlflow server`'s variables that `runyard server` also reads: a test server must not inherit them.
MLFLOW_SERVER_VARS = frozenset(
    {
        "MLFLOW_HOST",
        "MLFLOW_PORT",
        "MLFLOW_WORKERS",
        "MLFLOW_BACKEND_STORE_URI",
        "MLFLOW_ARTIFACTS_DESTINATION",
        "MLFLOW_DEFAULT_ARTIFACT_ROOT",
        "MLFLOW_SERVER_INFO_TRACKING_AUTH",
    }
)


# --- Ports for test servers ------------------------------------------------------------------------
# Handed out in turn from a block of ports below the kernel's ephemeral range (32768+, where `bind(0)`
# and every outgoing client socket land), one block per pytest-xdist worker: a port is never given
# twice in a session, two workers never pick the same one, and a client socket cannot take it between
# the check here and the server's bind. Each is checked free before it is returned (another session on
# the machine starts elsewhere in its block: the offset comes from its pid).
PORT_RANGE = (20000, 32000)


def _port_block() -> Iterator[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    count = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), index + 1)
    size = (PORT_RANGE[1] - PORT_RANGE[0]) // count
    start = PORT_RANGE[0] + index * size
    offset = os.getpid() % size
    for i in itertools.count():
        yield start + (offset + i) % size


_ports = _port_block()


def free_port() -> int:
    for _ in range(200):
        port = next(_ports)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in this worker's block")


@dataclass
class ServerProcess:
    """A `runyard server` child process; `url` is what MLFLOW_TRACKING_URI gets."""

    data_dir: Path
    backend_store_uri: str | None = None
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            "runyard",
            "server",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--workers",
            str(self.workers),
        ]
        if self.backend_store_uri:
            cmd += ["--backend-store-uri", self.backend_store_uri]
        cmd += self.extra_args
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_") and k not in MLFLOW_SERVER_VARS}
        env.update(self.extra_env)
        with open(self.log_path, "ab") as log_file:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


# --- Parallel runs: the number of workers pyproject's `-n auto` starts (pytest-xdist's hook) ----------
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """One worker more than there are cores, at most four: a test spends much of its time waiting on
    server processes (on two cores, three workers ran the suite in 9.3 minutes, two in 12.3).
    PYTEST_XDIST_AUTO_NUM_WORKERS, or `-n N`, overrides it."""
    wanted = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "")
    if wanted.isdigit():
        return int(wanted)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores + 1, 4)


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def _admin_url_for(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def postgres_database_factory() -> Iterator[Callable[[], str]]:
    """Creates fresh PostgreSQL databases for this test session and drops them at the end."""
    import psycopg

    if not _postgres_available():
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
    created: list[str] = []

    def create() -> str:
        name = f"runyard_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _admin_url_for(name)

    yield create
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_store_uri(backend: str, tmp: Path, pg_factory: Callable[[], str] | None) -> str | None:
    if backend == "sqlite":
        return None
    assert pg_factory is not None, "the postgres backend needs postgres_database_factory"
    return pg_factory()


# The third `backend`: PostgreSQL with artifacts in S3 (a moto server process). Only the modules that
# set `ALSO_ON_S3 = True` (those exercising artifacts) run on it, so the suite does not run thrice.
S3_BACKEND = "s3"
BACKENDS = ("sqlite", "postgres")
# moto reports every multipart upload as started on 2010-11-10: a server on it would purge each open
# upload as stale at start-up (another process's too) unless the age limit reaches back past that.
MOTO_SERVER_ENV = {"RUNYARD_STALE_UPLOAD_SECONDS": str(40 * 365 * 24 * 3600)}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the session-scoped `backend` fixture (a module defining its own `backend` keeps it)."""
    if "backend" not in metafunc.fixturenames or hasattr(metafunc.module, "backend"):
        return
    params = [*BACKENDS, S3_BACKEND] if getattr(metafunc.module, "ALSO_ON_S3", False) else list(BACKENDS)
    metafunc.parametrize("backend", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """`sqlite`, `postgres`, or `s3` (PostgreSQL + S3 artifacts); see `pytest_generate_tests`."""
    return str(request.param)


def s3_server_options(moto: MotoServer) -> tuple[dict[str, str], list[str]]:
    """The environment and flags of a server keeping its artifacts in a fresh bucket of `moto`."""
    bucket = moto.new_bucket("server")
    return {**moto.env, **MOTO_SERVER_ENV}, ["--artifacts-destination", f"s3://{bucket}/runyard"]


@pytest.fixture(scope="session")
def server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """One live server per backend, shared by the integration tests of the session."""
    data_dir = tmp_path_factory.mktemp(f"server-{backend}")
    store_uri = None
    env: dict[str, str] = {}
    args: list[str] = []
    if backend in ("postgres", S3_BACKEND):
        store_uri = request.getfixturevalue("postgres_database_factory")()
    if backend == S3_BACKEND:
        env, args = s3_server_options(request.getfixturevalue("moto_server"))
    proc = ServerProcess(data_dir=data_dir, backend_store_uri=store_uri, extra_env=env, extra_args=args).start()
    yield proc
    code = proc.stop()
    assert code == 0, f"server did not exit cleanly ({code}):\n{proc.log()[-4000:]}"


@pytest.fixture
def tracking(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    """The real mlflow client pointed at the live server (fluent API and MlflowClient)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    mlflow.set_tracking_uri(server.url)
    yield server
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out


@pytest.fixture
def unique() -> str:
    """A short random suffix for names that must not collide across tests sharing a server."""
    return secrets.token_hex(4)


@contextmanager
def auth_server(
    data_dir: Path,
    admin_password: str,
    *extra_args: str,
    backend_store_uri: str | None = None,
    workers: int = 1,
    secrets_to_hide: tuple[str, ...] = (),
) -> Iterator[tuple[ServerProcess, Services]]:
    """A live `runyard server --auth on` (its first admin's password `admin_password`) and the
    services over its store, for setting up accounts directly. Afterwards the server must have
    exited cleanly, and neither the admin password nor any of `secrets_to_hide` is in its output."""
    from runyard.config import Settings
    from runyard.services.container import Services

    proc = ServerProcess(
        data_dir=data_dir,
        backend_store_uri=backend_store_uri,
        workers=workers,
        extra_env={"RUNYARD_ADMIN_PASSWORD": admin_password},
        extra_args=["--auth", "on", *extra_args],
    ).start()
    services = Services.build(Settings(data_dir=data_dir, backend_store_uri=backend_store_uri))
    try:
        yield proc, services
    finally:
        services.close()
        code = proc.stop()
        log = proc.log()
        assert code == 0, log[-4000:]
        assert all(secret not in log for secret in (admin_password, *secrets_to_hide))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One real S3-protocol server (moto) for the session, stopped at its end."""
    from tests.moto_server import MotoServer

    proc = MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield proc
    proc.stop()
