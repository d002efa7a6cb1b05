"""The workloads of issue 5, by id (W1 … W9), of dual tracking (W10, W11; issue 14) and the web UI (W12; issue 15)."""

from __future__ import annotations

from benchmarks.workloads.artifacts import Artifacts
from benchmarks.workloads.base import Figure, Quantity, Target, Workload
from benchmarks.workloads.history import MetricHistory, SampledHistory
from benchmarks.workloads.ingest import Ingest
from benchmarks.workloads.mirror import LinkedIngest, MirrorThroughput
from benchmarks.workloads.registry import Registry
from benchmarks.workloads.roundtrip import CreateLogEnd, LogBatch, RoundTrips
from benchmarks.workloads.search import SearchRuns
from benchmarks.workloads.ui import WebUi

ALL: dict[str, type[Workload]] = {
    w.id: w
    for w in (
        RoundTrips,
        LogBatch,
        Ingest,
        SearchRuns,
        MetricHistory,
        SampledHistory,
        CreateLogEnd,
        Artifacts,
        Registry,
        LinkedIngest,
        MirrorThroughput,
        WebUi,
    )
}

__all__ = ["ALL", "Figure", "Quantity", "Target", "Workload"]
