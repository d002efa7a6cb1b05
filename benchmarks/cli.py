"""Command line: start the servers per backend, run the workloads, print the table, write JSON."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks import auth
from benchmarks.api import EndpointMissing
from benchmarks.config import FULL, QUICK, Sizes
from benchmarks.report import Row, table, write_json
from benchmarks.servers import (
    FML_BIN_VAR,
    backend_uris,
    fasttrackml_server,
    find_fml,
    mlflow_server,
    moto_server,
    runyard_group,
    runyard_s3_server,
    runyard_server,
    start_all,
)
from benchmarks.stub import Stub, StubSpec
from benchmarks.workloads import ALL, Figure, Target, Workload
from benchmarks.workloads.search import expected_matches

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"

# The real client, as a benchmark needs it: no silent retries, no background logging or telemetry.
CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "900",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "GIT_PYTHON_REFRESH": "quiet",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="reduced sizes (CI smoke test, < 3 minutes on SQLite)")
    p.add_argument("--backends", default="sqlite", help="comma-separated: sqlite,postgres (default: sqlite)")
    p.add_argument("--workloads", default=",".join(ALL), help="comma-separated subset of " + ",".join(ALL))
    p.add_argument(
        "--servers",
        default=None,
        help="comma-separated: mlflow,runyard,fasttrackml (default: mlflow and runyard, and fasttrackml when its "
        "binary is found; runyard alone is for profiling, no ratio is printed)",
    )
    p.add_argument(
        "--fml-bin",
        default=None,
        help=f"FastTrackML's `fml` binary (default: ${FML_BIN_VAR}, else `fml` on the PATH; see benchmarks/README.md)",
    )
    p.add_argument(
        "--auth-compare",
        action="store_true",
        help="also run a Runyard server with --auth on (the client signs in with Basic credentials of a user "
        "with EDIT through a workspace grant) and report it beside auth off with the ratio",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="also run N Runyard servers on one PostgreSQL database behind a round-robin proxy "
        "(benchmarks/round_robin.py; postgres backend only) and report them beside one process",
    )
    p.add_argument(
        "--s3-compare",
        action="store_true",
        help="also run a Runyard server keeping its artifacts in S3 (a moto server started here) for the artifact "
        "workload (W8), reported beside Runyard on a local folder",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT})")
    args = p.parse_args(argv)
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.fml = find_fml(args.fml_bin)
    if args.fml_bin and args.fml is None:
        p.error(f"--fml-bin {args.fml_bin}: not an executable file")
    default = "mlflow,runyard" + (",fasttrackml" if args.fml else "")
    args.server_list = [s.strip() for s in (args.servers or default).split(",") if s.strip()]
    args.workload_list = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in args.workload_list if w not in ALL]
    if unknown:
        p.error(f"unknown workloads {unknown}; choose from {list(ALL)}")
    bad = [b for b in args.backend_list if b not in ("sqlite", "postgres")]
    if bad:
        p.error(f"unknown backends {bad}; choose from sqlite, postgres")
    if not args.server_list or any(s not in ("mlflow", "runyard", "fasttrackml") for s in args.server_list):
        p.error("--servers takes mlflow, runyard and fasttrackml")
    if args.processes < 1 or (args.processes > 1 and "postgres" not in args.backend_list):
        p.error("--processes N (N >= 1) needs --backends postgres: SQLite is one host's file")
    if "fasttrackml" in args.server_list and args.fml is None:
        p.error(f"--servers fasttrackml needs its binary: --fml-bin PATH or ${FML_BIN_VAR}")
    return args


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for key, value in CLIENT_ENV.items():
        os.environ.setdefault(key, value)
    if args.auth_compare:
        # The real client sends these to every target (see `run_backend`).
        os.environ["MLFLOW_TRACKING_USERNAME"] = auth.USER
        os.environ["MLFLOW_TRACKING_PASSWORD"] = auth.PASSWORD
    # Stop the servers on SIGTERM as on Ctrl-C (also when started with SIGINT ignored, e.g. by `cmd &`).
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    sizes = QUICK if args.quick else FULL
    workloads = [ALL[w] for w in args.workload_list]
    meta = machine_meta(args, sizes)
    rows: list[Row] = []
    status = 0
    began = time.monotonic()
    try:
        for backend in args.backend_list:
            meta["load_before"][backend] = _load()
            processes = args.processes if backend == "postgres" else 1
            run_backend(
                backend,
                sizes,
                workloads,
                args.server_list,
                meta,
                rows,
                args.auth_compare,
                args.fml,
                processes,
                args.s3_compare,
            )
            meta["load_after"][backend] = _load()
    except KeyboardInterrupt:
        log("interrupted: servers stopped; writing the rows measured so far")
        status = 130
    except Exception:
        log(f"benchmark failed (servers stopped):\n{traceback.format_exc()}")
        status = 1
    meta["elapsed_s"] = round(time.monotonic() - began, 1)
    print(table(rows))
    print(f"\nmachine: {meta['machine']}; load before/after: {meta['load_before']} / {meta['load_after']}")
    write_json(args.out, meta, rows)
    log(f"results written to {args.out} ({meta['elapsed_s']} s)")
    return status


def run_backend(
    backend: str,
    sizes: Sizes,
    workloads: list[type[Workload]],
    server_names: list[str],
    meta: dict[str, Any],
    rows: list[Row],
    auth_compare: bool = False,
    fml: str | None = None,
    processes: int = 1,
    s3_compare: bool = False,
) -> None:
    """Start both servers and the stub on a fresh `backend`, run `workloads`, append to `rows`."""
    with tempfile.TemporaryDirectory(prefix=f"runyard-bench-{backend}-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        uris = stack.enter_context(backend_uris(backend, scratch))
        servers = []
        if "mlflow" in server_names:
            servers.append(mlflow_server(scratch / "mlflow", uris.mlflow))
        if "runyard" in server_names:
            servers.append(runyard_server(scratch / "runyard", uris.runyard))
        if auth_compare:
            servers.append(runyard_server(scratch / "runyard-auth", uris.runyard_auth, auth=True))
        if processes > 1 and uris.runyard_multi is not None:
            servers.append(runyard_group(scratch / "runyard-multi", uris.runyard_multi, processes))
            meta["processes"] = processes
        if "fasttrackml" in server_names and fml is not None and uris.fasttrackml is not None:
            servers.append(fasttrackml_server(fml, scratch / "fasttrackml", uris.fasttrackml))
        if s3_compare:
            moto = moto_server(scratch / "moto").start()
            stack.callback(moto.stop)
            servers.append(runyard_s3_server(scratch / "runyard-s3", uris.runyard_s3, moto))
        for server in servers:
            stack.callback(server.stop)
        start_all(servers)
        authorization = None
        if auth_compare:
            authorization = auth.authorization()
            auth.create_user(scratch / "runyard-auth" / "data", uris.runyard_auth)
        meta["servers"][backend] = {s.name: {"startup_s": round(s.startup_seconds, 2), "url": s.url} for s in servers}
        log(f"[{backend}] " + ", ".join(f"{s.name} up in {s.startup_seconds:.1f} s" for s in servers))
        stub = stack.enter_context(Stub(stub_spec(sizes, workloads)))
        # With --auth-compare every target gets the same credentials (ignored where auth is off), so
        # the client's own cost is the same everywhere and the auth on/off ratio is the server's.
        targets = [Target(s.name, s.url, s, authorization) for s in servers]
        targets.append(Target("floor", stub.url, authorization=authorization))
        for target in targets:
            stack.callback(target.close)
        for workload_cls in workloads:
            workload = workload_cls(sizes, scratch)
            try:
                rows += run_workload(backend, workload, targets, meta)
            finally:
                workload.close()


def run_workload(backend: str, workload: Workload, targets: list[Target], meta: dict[str, Any]) -> list[Row]:
    figures: dict[str, dict[str, Figure]] = {}
    rss: dict[str, dict[str, int]] = {}
    timings = meta["timings"].setdefault(backend, {}).setdefault(workload.id, {})
    served = [t for t in targets if t.is_stub or workload.runs_on(t.name)]
    seeded = _seed_all(backend, workload, [t for t in served if not t.is_stub], timings)
    for target in targets:
        if target.is_stub and not workload.has_floor:
            continue
        if target not in served:
            figures[target.name] = _all(workload, Figure.missing(f"n/a ({target.name} does not serve it)"))
            continue
        server = target.server
        if target.name in seeded:
            figures[target.name] = _all(workload, seeded[target.name])
            continue
        began = time.monotonic()
        try:
            if server is not None:
                server.reset_peak_rss()
            log(f"[{backend}] {workload.id} {target.name}: measuring")
            with contextlib.redirect_stdout(io.StringIO()):  # the client prints a link for every ended run
                figures[target.name] = workload.measure(target)
            if server is not None:
                rss[target.name] = server.peak_rss()
        except Exception as e:
            figures[target.name] = _all(workload, _failure(backend, workload, target, e))
        timings.setdefault(target.name, {})["measure_s"] = round(time.monotonic() - began, 1)
    meta["rss"].setdefault(backend, {})[workload.id] = rss
    return [
        Row.build(
            backend,
            workload.id,
            workload.title,
            q,
            {name: figs.get(q.key, Figure.missing("not measured")) for name, figs in figures.items()},
            rss,
        )
        for q in workload.quantities
    ]


def _seed_all(backend: str, workload: Workload, targets: list[Target], timings: dict[str, Any]) -> dict[str, Figure]:
    """Seed the servers concurrently (not timed); the failed ones map to a Figure saying why."""
    failed: dict[str, Figure] = {}

    def seed(target: Target) -> None:
        began = time.monotonic()
        try:
            workload.seed(target)
        except EndpointMissing:
            failed[target.name] = Figure.missing("n/a (endpoint missing)")
        except Exception as e:
            failed[target.name] = _failure(backend, workload, target, e)
        timings.setdefault(target.name, {})["seed_s"] = round(time.monotonic() - began, 1)

    log(f"[{backend}] {workload.id}: seeding " + ", ".join(t.name for t in targets))
    threads = [threading.Thread(target=seed, args=(t,), name=f"seed-{t.name}") for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failed


def _failure(backend: str, workload: Workload, target: Target, e: Exception) -> Figure:
    log(f"[{backend}] {workload.id} {target.name} failed:\n{traceback.format_exc()}")
    server = target.server
    if server is not None and server.process is not None and server.process.poll() is not None:
        log(f"{server.name} exited ({server.process.returncode}); log tail:\n{server.log_tail()}")
    return Figure.missing(f"error: {type(e).__name__}: {e}"[:300])


def _all(workload: Workload, figure: Figure) -> dict[str, Figure]:
    return {q.key: Figure.missing(figure.note) for q in workload.quantities}


def stub_spec(sizes: Sizes, workloads: list[type[Workload]]) -> StubSpec:
    search = expected_matches(sizes.w4_runs) if ALL["W4"] in workloads else 0
    return StubSpec(
        history_points=max(sizes.w5_points, sizes.w6_steps),
        search_matches=search,
        bulk_runs=sizes.w6_runs,
        artifact_bytes=sizes.w8_bytes,
        model_versions=sizes.w9_versions,
    )


def _load() -> dict[str, Any]:
    one, five, fifteen = os.getloadavg()
    return {"loadavg": [round(one, 2), round(five, 2), round(fifteen, 2)], "uptime": _run(["uptime"])}


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_meta(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    machine = f"{os.cpu_count()} CPUs ({cpu}), {mem_kib / 2**20:.0f} GiB RAM, {platform.system()} {platform.release()}"
    dirty = " (dirty)" if _run(["git", "status", "--porcelain", "--", "src"]) else ""
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "python": platform.python_version(),
        "mlflow": pkg("mlflow"),
        "runyard": pkg("runyard"),
        "runyard_commit": _run(["git", "rev-parse", "--short", "HEAD"]) + dirty,
        "quick": bool(args.quick),
        "backends": args.backend_list,
        "servers_compared": args.server_list,
        "auth_compare": bool(args.auth_compare),
        "processes": args.processes,
        "workloads": args.workload_list,
        "sizes": sizes.to_json(),
        "load_before": {},
        "load_after": {},
        "servers": {},
        "timings": {},
        "rss": {},
    }
