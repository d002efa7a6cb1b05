"""The Prometheus metrics (`--metrics`): their definitions, how each is kept current, and the
exposition `GET /metrics` answers.

Imported only when metrics are on (nothing of this runs per request otherwise). With
`PROMETHEUS_MULTIPROC_DIR` set (the server always sets it, see `metrics_dir`), every worker process
writes its figures to files in that folder and a scrape answered by any of them adds them all up
(prometheus_client's multiprocess mode); a process that exits is marked dead by the server's
supervisor, so its live gauges stop counting while its counters keep their totals.

Kept per process, in the shared files:

- `runyard_http_request_duration_seconds{method, route, status}`: a histogram per route template
  (`/api/2.0/mlflow/runs/get`, `/api/2.0/mlflow-artifacts/artifacts/{artifact_path}`; a request no
  route matched counts as `unmatched`) and status class (`2xx`, `4xx`, ...); its `_count` is the
  number of requests.
- `runyard_http_requests_in_flight`, `runyard_point_writer_queue_requests`,
  `runyard_db_pool_checked_out`, `runyard_db_pool_size`: gauges summed over the live processes,
  sampled every `SAMPLE_SECONDS` (and by the process answering a scrape, just before).
- `runyard_point_writer_group_requests`, `runyard_point_writer_group_points`: histograms of the
  point writer's groups (requests and points per transaction).
- `runyard_artifact_upload_bytes_total`, `runyard_artifact_download_bytes_total`: artifact bytes
  received and sent through the proxied artifact API and the UI's download and upload routes.

Read from the database by the process answering a scrape (the same for every process):
`runyard_metric_inbox_points` (SQLite), and per mirror link (`workspace`, `link`)
`runyard_mirror_link_pending_items`, `runyard_mirror_link_lag_seconds`,
`runyard_mirror_link_parked_items`; and `runyard_build_info{version}`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from runyard import __version__
from runyard.observe.metrics_dir import VARIABLE
from runyard.services.observability import StoreFigures
from runyard.store.database import Database
from runyard.store.point_writer import PointWriter

log = logging.getLogger(__name__)

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE_SECONDS: Final = 1.0
LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
GROUP_REQUEST_BUCKETS: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
GROUP_POINT_BUCKETS: Final = (1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000)
# Any other method (a client's invention) is labelled `other`: labels stay a small set.
METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUS_CLASSES: Final = ("1xx", "2xx", "3xx", "4xx", "5xx")


def multiprocess_mode() -> bool:
    """Whether this process writes its metrics to the shared folder (set before the first import)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def _live_gauge(name: str, documentation: str, registry: CollectorRegistry | None) -> Gauge:
    """A gauge each process sets and a scrape sums over the live processes."""
    return Gauge(name, documentation, registry=registry, multiprocess_mode="livesum")


class Metrics:
    """One process's metrics (see the module docstring)."""

    def __init__(self, db: Database, point_writer: PointWriter, figures: StoreFigures) -> None:
        self.shared = multiprocess_mode()
        # Multiprocess: the values live in the folder's files and a scrape reads them all; a process
        # of its own (tests building the app in-process): a registry of this instance's own.
        self._registry: CollectorRegistry | None = None if self.shared else CollectorRegistry()
        registry = self._registry
        self._db = db
        self._point_writer = point_writer
        self._figures = figures
        self.in_flight = 0  # kept by the request middleware (a plain integer: no lock, no file write)
        self.requests = Histogram(
            "runyard_http_request_duration_seconds",
            "HTTP requests by route template and status class: latency (the _count is the number of requests).",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._in_flight = _live_gauge(
            "runyard_http_requests_in_flight", "Requests being handled (sampled every second).", registry
        )
        self._queue = _live_gauge(
            "runyard_point_writer_queue_requests",
            "Metric-logging requests waiting for the point writer (sampled every second).",
            registry,
        )
        self._pool_checked_out = _live_gauge(
            "runyard_db_pool_checked_out", "Database connections in use (sampled every second).", registry
        )
        self._pool_size = _live_gauge("runyard_db_pool_size", "Database connections the pools may keep open.", registry)
        self._group_requests = Histogram(
            "runyard_point_writer_group_requests",
            "Requests written per point-writer transaction.",
            buckets=GROUP_REQUEST_BUCKETS,
            registry=registry,
        )
        self._group_points = Histogram(
            "runyard_point_writer_group_points",
            "Metric points written per point-writer transaction.",
            buckets=GROUP_POINT_BUCKETS,
            registry=registry,
        )
        self._uploaded = Counter("runyard_artifact_upload_bytes", "Artifact bytes received.", registry=registry)
        self._downloaded = Counter("runyard_artifact_download_bytes", "Artifact bytes sent.", registry=registry)
        self._children: dict[tuple[str, str, int], Callable[[float], None]] = {}
        self._store = StoreCollector(figures)
        if registry is not None:
            registry.register(self._store)
        point_writer.on_group = self.point_group

    # --- per request (the middleware) ----------------------------------------------------------

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        key = (method, route, status // 100)
        observe = self._children.get(key)
        if observe is None:
            label = method if method in METHODS else "other"
            status_class = STATUS_CLASSES[key[2] - 1] if 1 <= key[2] <= 5 else "other"
            observe = self._children[key] = self.requests.labels(label, route, status_class).observe
        observe(seconds)

    # --- artifacts -----------------------------------------------------------------------------

    async def counted_upload(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """`chunks` as they are, each counted as received artifact bytes."""
        async for chunk in chunks:
            self._uploaded.inc(len(chunk))
            yield chunk

    async def counted_download(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """`chunks` as they are, each counted as sent artifact bytes."""
        async for chunk in chunks:
            self._downloaded.inc(len(chunk))
            yield chunk

    # --- the point writer's thread -------------------------------------------------------------

    def point_group(self, requests: int, points: int) -> None:
        self._group_requests.observe(requests)
        self._group_points.observe(points)

    # --- sampled gauges ------------------------------------------------------------------------

    def sample(self) -> None:
        """Copy this process's gauges to its file (every `SAMPLE_SECONDS`, and before a scrape)."""
        self._in_flight.set(self.in_flight)
        self._queue.set(self._point_writer.queue_depth())
        checked_out, size = self._db.pool_status()
        self._pool_checked_out.set(checked_out)
        self._pool_size.set(size)

    def close(self) -> None:
        """This process stops serving: its live gauges stop counting (the supervisor also does it
        for a worker that died)."""
        if self.shared:
            folder = os.environ.get(VARIABLE)
            if folder:
                multiprocess.mark_process_dead(os.getpid(), folder)  # type: ignore[no-untyped-call]

    # --- the exposition ------------------------------------------------------------------------

    def render(self) -> bytes:
        """The text format answer to a scrape (reads the database: call it off the event loop)."""
        self.sample()
        if self._registry is not None:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._store)
        return generate_latest(registry)


class StoreCollector(Collector):
    """The figures read from the database at scrape time (see the module docstring)."""

    def __init__(self, figures: StoreFigures) -> None:
        self._figures = figures

    def collect(self) -> Iterable[Metric]:
        build = GaugeMetricFamily("runyard_build_info", "The Runyard version serving.", labels=["version"])
        build.add_metric([__version__], 1)
        yield build
        try:
            inbox = self._figures.inbox_points()
            links = self._figures.mirror_links()
        except Exception:
            log.exception("reading the store's figures for /metrics failed")
            return
        if inbox is not None:
            yield GaugeMetricFamily(
                "runyard_metric_inbox_points", "Metric points waiting in the SQLite inbox.", value=inbox
            )
        pending = GaugeMetricFamily(
            "runyard_mirror_link_pending_items",
            "Outbox entries a mirror link has yet to send.",
            labels=["workspace", "link"],
        )
        lag = GaugeMetricFamily(
            "runyard_mirror_link_lag_seconds",
            "Age of the oldest entry a mirror link has yet to send (0: up to date).",
            labels=["workspace", "link"],
        )
        parked = GaugeMetricFamily(
            "runyard_mirror_link_parked_items",
            "Entries the target refused, kept for `retry`.",
            labels=["workspace", "link"],
        )
        for link in links:
            labels = [link.source_workspace, link.name]
            pending.add_metric(labels, link.pending_items)
            lag.add_metric(labels, link.lag_seconds)
            parked.add_metric(labels, link.parked_items)
        yield pending
        yield lag
        yield parked
