"""Where the replicator's time goes: `python -m benchmarks.profile_mirror [--runs 40 --points 10000]`.

Starts a source Runyard (`--no-mirror`: no replicator of its own) and a target Runyard, links a
workspace of the source to a workspace of the target, then runs one link's `LinkWorker` in this
process against the live target: N points are logged over HTTP, and the worker's passes that
deliver them are timed — once plain (points/s), once under cProfile (the top functions are
printed). The same points are then compared on both sides for a few runs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.api import Api
from benchmarks.config import FULL
from benchmarks.servers import runyard_server
from benchmarks.workloads.mirror import KEYS, MirrorThroughput
from benchmarks.workloads.mirror_world import TARGET_WORKSPACE, Links, check_mirrored, create_workspace, workspace_url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_mirror", description=__doc__)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--points", type=int, default=10_000, help="points per run (10 keys)")
    p.add_argument("--top", type=int, default=35, help="functions to print")
    p.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    args = p.parse_args(argv)

    import runyard.cli  # noqa: F401 - the CLI package imports in this order (cli_identity needs cli)
    from runyard.cli_identity.common import opened
    from runyard.domain.entities import Workspace
    from runyard.mirror.replicator import target_for, target_naming
    from runyard.mirror.sync import LinkSync
    from runyard.mirror.target import Target
    from runyard.mirror.worker import LinkWorker
    from runyard.store.mirror import LinkRow

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

                from runyard.store import mirror as mirror_store

                with services.db.read() as conn:
                    link_id = mirror_store.all_links(conn)[0].id
                worker = LinkWorker(services.db, link_id, lambda row: target_for(row, secrets), make_sync, lambda: True)
                while worker.step():  # the back-fill of the (empty) workspace
                    pass
                logger = MirrorThroughput(replace(FULL, w11_runs=args.runs, w11_points_per_run=args.points), scratch)
                src = Api(workspace_url(source.url, "bench"))
                experiment = src.experiment("profile")
                dst = Api(workspace_url(target.url, TARGET_WORKSPACE))
                points = args.runs * args.points
                for label, profiled in (("plain", False), ("cProfile", True)):
                    began = time.monotonic()
                    run_ids = logger.log_points(src, experiment, int(profiled))
                    logged = time.monotonic() - began
                    profile = cProfile.Profile() if profiled else None
                    began = time.monotonic()
                    if profile is not None:
                        profile.enable()
                    passes = 0
                    while worker.step():
                        passes += 1
                    if profile is not None:
                        profile.disable()
                    took = time.monotonic() - began
                    check_mirrored(src, dst, run_ids, ["m0", f"m{KEYS - 1}"])
                    print(
                        f"{label}: {points:,} points (logged in {logged:.1f} s) delivered in {took:.2f} s"
                        f" over {passes} passes: {points / took:,.0f} points/s",
                        flush=True,
                    )
                    if profile is not None:
                        out = io.StringIO()
                        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
                        print(out.getvalue())
                worker.stop(wait=0)
        finally:
            source.stop()
            target.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
