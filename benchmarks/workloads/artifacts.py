"""W8: upload and download of one large artifact through the server (`mlflow-artifacts` proxy)."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.config import MIB
from benchmarks.stub import ARTIFACT_FILE
from benchmarks.workloads.base import Figure, Quantity, Target, Workload


def make_file(path: Path, size: int) -> Path:
    """`size` bytes of incompressible data (one random MiB, repeated)."""
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(MIB)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(left, MIB)])
            left -= MIB
    return path


class Artifacts(Workload):
    id = "W8"
    title = "artifact upload / download through the server"
    moves_artifacts = True
    quantities = [
        Quantity("upload", "upload (log_artifact)", "MiB/s", "higher"),
        Quantity("download", "download (download_artifacts)", "MiB/s", "higher"),
    ]

    def measure(self, target: Target) -> dict[str, Figure]:
        client = target.client
        run_id = client.create_run(self.experiment(target, "bench-artifacts")).info.run_id
        size = self.sizes.w8_bytes
        big = make_file(self.scratch / "w8" / "big" / ARTIFACT_FILE, size)
        warm = make_file(self.scratch / "w8" / "warm" / ARTIFACT_FILE, self.sizes.w8_warmup_bytes)
        out_dir = self.scratch / "w8" / f"download-{target.name}"

        def upload(path: Path, folder: str) -> float:
            began = time.perf_counter()
            client.log_artifact(run_id, str(path), folder)  # same path every time: overwritten
            return time.perf_counter() - began

        def download(folder: str) -> float:
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
            began = time.perf_counter()
            local = client.download_artifacts(run_id, f"{folder}/{ARTIFACT_FILE}", str(out_dir))
            took = time.perf_counter() - began
            got = os.path.getsize(local)
            shutil.rmtree(out_dir, ignore_errors=True)
            if folder == "big" and got != size:
                raise RuntimeError(f"downloaded {got} bytes, expected {size}")
            return took

        upload(warm, "warm")
        download("warm")
        ups = [size / MIB / upload(big, "big") for _ in range(self.sizes.reps)]
        downs = [size / MIB / download("big") for _ in range(self.sizes.reps)]
        return {
            "upload": Figure(statistics.median(ups), ups),
            "download": Figure(statistics.median(downs), downs),
        }
