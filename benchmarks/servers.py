"""The servers under test as child processes, their peak memory, and scratch PostgreSQL databases.

Each server runs in its own process group so that it — and whatever it forks — can be stopped
as one (SIGTERM, then SIGKILL), even when the benchmark is interrupted.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_ADMIN_URL = os.environ.get("RUNYARD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str:
    """A console script of the interpreter's environment (the venv the benchmark runs in)."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


@dataclass
class ManagedServer:
    """One server child process; `url` is its base URL."""

    name: str
    cmd: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    startup_seconds: float = 0.0
    health_path: str = "/health"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, timeout: float = 120.0) -> ManagedServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        if env.get("PYTHONPATH"):
            # The server runs in its own folder: a relative entry (`PYTHONPATH=src`, to measure a
            # worktree's code) would silently fall back to the installed package there.
            env["PYTHONPATH"] = os.pathsep.join(
                str(Path(entry).resolve()) if entry else entry for entry in env["PYTHONPATH"].split(os.pathsep)
            )
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}{self.health_path}", timeout=2) as resp:
                    if resp.status == 200:
                        self.startup_seconds = time.monotonic() - began
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /health within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 20.0) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        # Grandchildren that outlived the leader still belong to the group.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    # -- memory ---------------------------------------------------------------------------------

    def pids(self) -> list[int]:
        """The server process and all its descendants."""
        if self.process is None:
            return []
        out: list[int] = []
        todo = [self.process.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(_children(pid))
        return out

    def reset_peak_rss(self) -> bool:
        """Reset VmHWM of the process tree (writing 5 to clear_refs); False if the kernel refused."""
        done = True
        for pid in self.pids():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                done = False
        return done

    def peak_rss(self) -> dict[str, int]:
        """Peak resident set size in bytes: summed over the tree, and of its largest process."""
        peaks = [_status_kib(pid, "VmHWM") * 1024 for pid in self.pids()]
        return {"tree": sum(peaks), "largest": max(peaks, default=0), "processes": len(peaks)}


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            kids.extend(int(x) for x in text.split())
    except OSError:
        pass
    return kids


def _status_kib(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# -- the two servers ------------------------------------------------------------------------------


def mlflow_server(workdir: Path, backend_store_uri: str) -> ManagedServer:
    """`mlflow server` 3.17.2 as a team would run it: one uvicorn worker, proxied artifacts.

    Its background job runner (a `huey` consumer with two worker processes, on by default since
    MLflow 3.x) is switched off: it serves GenAI jobs no workload here uses, and on a 2-core
    machine its polling would steal CPU from the measured server.
    """
    port = free_port()
    cmd = [
        _bin("mlflow"),
        "server",
        "--workers",
        "1",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        str(workdir / "artifacts"),
    ]
    env = {
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "GIT_PYTHON_REFRESH": "quiet",
    }
    return ManagedServer(name="mlflow", cmd=cmd, workdir=workdir, env=env, port=port)


def runyard_server(workdir: Path, backend_store_uri: str | None, *, auth: bool = False) -> ManagedServer:
    """`runyard server`, one worker; `auth`: with `--auth on` (named "runyard-auth"), the first admin's
    password from RUNYARD_ADMIN_PASSWORD (see `benchmarks.auth` for the account the client uses)."""
    port = free_port()
    cmd = [_bin("runyard"), "server", "--workers", "1", "--port", str(port), "--data-dir", str(workdir / "data")]
    if backend_store_uri:
        cmd += ["--backend-store-uri", backend_store_uri]
    env: dict[str, str] = {}
    if auth:
        from benchmarks.auth import ADMIN_PASSWORD

        cmd += ["--auth", "on"]
        env["RUNYARD_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    return ManagedServer(name="runyard-auth" if auth else "runyard", cmd=cmd, workdir=workdir, env=env, port=port)


class ServerGroup(ManagedServer):
    """`members` Runyard servers on one database behind `benchmarks.round_robin` (its own process):
    what several hosts behind a load balancer are. `url` is the proxy's; memory is summed over the
    servers and the proxy."""

    def __init__(self, name: str, workdir: Path, members: list[ManagedServer]) -> None:
        port = free_port()
        cmd = [sys.executable, "-m", "benchmarks.round_robin", "--port", str(port), *(m.url for m in members)]
        root = str(Path(__file__).resolve().parent.parent)
        env = {"PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        super().__init__(name=name, cmd=cmd, workdir=workdir, env=env, port=port)
        self.members = members

    def start(self, timeout: float = 120.0) -> ManagedServer:
        began = time.monotonic()
        # One after the other: the first migrates the database, the others find it current.
        for member in self.members:
            member.start(timeout)
        super().start(timeout)
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self, timeout: float = 20.0) -> None:
        super().stop(timeout)
        for member in self.members:
            member.stop(timeout)

    def pids(self) -> list[int]:
        return [pid for m in self.members for pid in m.pids()] + super().pids()


def runyard_group(workdir: Path, backend_store_uri: str, processes: int) -> ServerGroup:
    """`processes` `runyard server --workers 1` (each its own data folder, as separate hosts) on one
    database and one artifact folder, behind the round-robin proxy; named "runyard-multi"."""
    artifacts = workdir / "shared-artifacts"
    members = []
    for i in range(processes):
        member = runyard_server(workdir / f"host-{i}", backend_store_uri)
        member.cmd += ["--artifacts-destination", str(artifacts)]
        member.name = f"runyard-{i}"
        members.append(member)
    return ServerGroup("runyard-multi", workdir, members)


def moto_server(workdir: Path) -> ManagedServer:
    """A local S3-protocol server (moto's server mode) for `runyard_s3_server`; its own throughput
    bounds what is measured through it (it is a test double, not an object store)."""
    port = free_port()
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = ManagedServer(name="moto", cmd=cmd, workdir=workdir, port=port)
    server.health_path = "/moto-api/"
    return server


def moto_env(moto: ManagedServer) -> dict[str, str]:
    """The standard AWS variables pointing boto3 at `moto` (and at no credentials file of the host)."""
    return {
        "AWS_ENDPOINT_URL": moto.url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def runyard_s3_server(workdir: Path, backend_store_uri: str | None, moto: ManagedServer) -> ManagedServer:
    """`runyard server` with its artifacts in a fresh bucket of `moto` (named "runyard-s3")."""
    import boto3

    env = moto_env(moto)
    bucket = f"bench-{secrets.token_hex(4)}"
    boto3.session.Session().client(
        "s3",
        endpoint_url=moto.url,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    ).create_bucket(Bucket=bucket)
    server = runyard_server(workdir, backend_store_uri)
    server.name = "runyard-s3"
    server.cmd += ["--artifacts-destination", f"s3://{bucket}/runyard"]
    server.env.update(env)
    return server


FML_BIN_VAR = "FML_BIN"


def find_fml(option: str | None) -> str | None:
    """FastTrackML's `fml` binary: the option, else `FML_BIN`, else `fml` on the PATH (None: absent)."""
    candidate = option or os.environ.get(FML_BIN_VAR) or shutil.which("fml")
    if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
        return str(Path(candidate).resolve())
    return None


def fasttrackml_server(binary: str, workdir: Path, database_uri: str) -> ManagedServer:
    """FastTrackML (`fml server`, Go): the fastest MLflow-compatible tracking server a user would pick
    instead; tracking API only (no registry, no logged models, no proxied artifacts)."""
    port = free_port()
    cmd = [
        binary,
        "server",
        "--listen-address",
        f"127.0.0.1:{port}",
        "--database-uri",
        database_uri,
        "--default-artifact-root",
        str(workdir / "artifacts"),
    ]
    return ManagedServer(name="fasttrackml", cmd=cmd, workdir=workdir, port=port)


# -- backends -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackendUris:
    """Store URIs for one backend kind; None for Runyard means its default (SQLite in the data dir)."""

    kind: str
    mlflow: str
    runyard: str | None
    runyard_auth: str | None = None
    fasttrackml: str | None = None
    runyard_multi: str | None = None  # N processes on one database (`--processes`)
    runyard_s3: str | None = None  # Runyard with artifacts in S3 (`--s3-compare`)


@contextmanager
def backend_uris(kind: str, workdir: Path) -> Iterator[BackendUris]:
    """SQLite files in the scratch folder, or fresh PostgreSQL databases (mlflow, runyard, runyard
    with `--auth on`) dropped afterwards."""
    if kind == "sqlite":
        fml = f"sqlite://{(workdir / 'fasttrackml' / 'fml.db').resolve()}"  # fml wants an absolute path
        yield BackendUris(kind, f"sqlite:///{workdir / 'mlflow' / 'mlflow.db'}", None, None, fml)
        return
    if kind != "postgres":
        raise ValueError(f"unknown backend {kind!r} (sqlite, postgres)")
    import psycopg

    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    tag = secrets.token_hex(4)
    names = [
        f"bench_{tag}_mlflow",
        f"bench_{tag}_runyard",
        f"bench_{tag}_runyard_auth",
        f"bench_{tag}_fml",
        f"bench_{tag}_runyard_multi",
        f"bench_{tag}_runyard_s3",
    ]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        # psycopg2 is not installed; SQLAlchemy reaches psycopg 3 through the "+psycopg" dialect.
        mlflow_uri = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{names[0]}"
        fml_uri = f"{base.replace('postgresql://', 'postgres://', 1)}/{names[3]}"
        yield BackendUris(
            kind,
            mlflow_uri,
            f"{base}/{names[1]}",
            f"{base}/{names[2]}",
            fml_uri,
            runyard_multi=f"{base}/{names[4]}",
            runyard_s3=f"{base}/{names[5]}",
        )
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_all(servers: list[ManagedServer]) -> None:
    """Start the servers side by side (each start waits for its health check); the first failure is raised."""
    errors: list[BaseException] = []

    def start(server: ManagedServer) -> None:
        try:
            server.start()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
