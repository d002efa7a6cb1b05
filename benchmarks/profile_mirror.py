"""Where the replicator's time goes: `python -m benchmarks.profile_mirror [--runs 40 --points 10000]`.

Starts a source Runyard (`--no-mirror`: no replicator of its own) and a target Runyard, links a
workspace of the source to a workspace of the target, then runs one link's `LinkWorker` in this
process against the live target: N points are logged over HTTP, and the worker's passes that
deliver them are timed — once plain (points/s), once under cProfile (the top functions are
printed). With `--live SECONDS`, W3's load (16 clients, 100 points a request) runs against the
source instead while the worker delivers what arrives, under cProfile: small passes, as a server
that replicates while it ingests sees them. Either way the worker's own CPU time per point is
printed, and the same points are compared on both sides for a few runs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import runyard.cli  # noqa: F401 - imported first: cli_identity needs it
from benchmarks.api import Api
from benchmarks.config import FULL
from benchmarks.servers import runyard_server
from benchmarks.workloads.base import Target as Target_
from benchmarks.workloads.ingest import Ingest
from benchmarks.workloads.mirror import KEYS, MirrorThroughput
from benchmarks.workloads.mirror_world import TARGET_WORKSPACE, Links, check_mirrored, create_workspace, workspace_url
from runyard.cli_identity.common import opened
from runyard.domain.entities import Workspace
from runyard.mirror.replicator import target_for, target_naming
from runyard.mirror.sync import LinkSync
from runyard.mirror.target import Target
from runyard.mirror.worker import LinkWorker
from runyard.store import mirror as mirror_store
from runyard.store.mirror import LinkRow


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_mirror", description=__doc__)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--points", type=int, default=10_000, help="points per run (10 keys)")
    p.add_argument("--top", type=int, default=35, help="functions to print")
    p.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    p.add_argument(
        "--live", type=int, default=0, metavar="SECONDS", help="instead: deliver while W3's load runs for SECONDS"
    )
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="runyard-mirror-profile-") as tmp:
        scratch = Path(tmp)
        source = runyard_server(scratch / "source", None)
        source.cmd.append("--no-mirror")
        target = runyard_server(scratch / "target", None)
        target.name = "target"
        try:
            source.start()
            target.start()
            admin = Api(source.url)
            create_workspace(Api(target.url), TARGET_WORKSPACE)
            create_workspace(admin, "bench")
            Links(admin, "bench").create("profile", target.url, TARGET_WORKSPACE)
            with opened(scratch / "source" / "data", None, None, create=False) as services:
                secrets = services.mirror_links.secrets

                def make_sync(row: LinkRow, workspace: Workspace, tgt: Target) -> LinkSync:
                    return LinkSync(
                        services.db,
                        services.artifacts,
                        row.id,
                        workspace,
                        tgt,
                        source_url=source.url,
                        target_naming=target_naming(tgt, row.target_workspace),
                    )

                with services.db.read() as conn:
                    link_id = mirror_store.all_links(conn)[0].id
                worker = LinkWorker(services.db, link_id, lambda row: target_for(row, secrets), make_sync, lambda: True)
                while worker.step():  # the back-fill of the (empty) workspace
                    pass
                src = Api(workspace_url(source.url, "bench"))
                dst = Api(workspace_url(target.url, TARGET_WORKSPACE))
                if args.live:
                    _live(args, worker, Target_(source.name, workspace_url(source.url, "bench"), source), src, dst)
                else:
                    _bulk(args, worker, scratch, src, dst)
                worker.stop(wait=0)
        finally:
            source.stop()
            target.stop()
    return 0


def _report(
    label: str,
    points: int,
    took: float,
    cpu: float,
    passes: int,
    profile: cProfile.Profile | None,
    args: argparse.Namespace,
) -> None:
    print(
        f"{label}: {points:,} points delivered in {took:.2f} s over {passes} passes: {points / took:,.0f} points/s;"
        f" the worker's CPU: {cpu:.2f} s, {cpu / max(points, 1) * 1e6:.1f} us a point",
        flush=True,
    )
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


def _bulk(args: argparse.Namespace, worker: LinkWorker, scratch: Path, src: Api, dst: Api) -> None:
    """N points logged with the worker idle, then delivered: once plain, once under cProfile."""
    logger = MirrorThroughput(replace(FULL, w11_runs=args.runs, w11_points_per_run=args.points), scratch)
    experiment = src.experiment("profile")
    points = args.runs * args.points
    for rep, profile in enumerate((None, cProfile.Profile())):
        run_ids = logger.log_points(src, experiment, rep)
        began, cpu, passes = time.monotonic(), time.thread_time(), 0
        if profile is not None:
            profile.enable()
        while worker.step():
            passes += 1
        if profile is not None:
            profile.disable()
        took, cpu = time.monotonic() - began, time.thread_time() - cpu
        check_mirrored(src, dst, run_ids, ["m0", f"m{KEYS - 1}"])
        _report("bulk" + (" (cProfile)" if profile else ""), points, took, cpu, passes, profile, args)


def _live(args: argparse.Namespace, worker: LinkWorker, load_target: Target_, src: Api, dst: Api) -> None:
    """W3's load (16 clients) runs against the source while the worker delivers what arrives, under
    cProfile: the replicator's cost per point when entries trickle in (small passes)."""
    sizes = replace(FULL, w3_seconds=float(args.live), w3_warmup_seconds=0.0, w3_windows=1)
    ingest = Ingest(sizes, Path(tempfile.gettempdir()))
    done = threading.Event()

    def load() -> None:
        try:
            ingest.measure(load_target)
        finally:
            done.set()

    thread = threading.Thread(target=load, name="load")
    profile = cProfile.Profile()
    began, cpu, passes = time.monotonic(), time.thread_time(), 0
    profile.enable()
    thread.start()
    while not done.is_set():
        if worker.step():
            passes += 1
        else:
            time.sleep(0.01)
    while worker.step():
        passes += 1
    profile.disable()
    took, cpu = time.monotonic() - began, time.thread_time() - cpu
    thread.join()
    check_mirrored(src, dst, ingest.last_run_ids, ["m0", f"m{KEYS - 1}"])
    _report("live (cProfile)", ingest.last_points, took, cpu, passes, profile, args)


if __name__ == "__main__":
    sys.exit(main())
