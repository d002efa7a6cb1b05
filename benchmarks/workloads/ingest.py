"""W3: sustained ingest — concurrent raw-HTTP clients sending `log-batch` requests for a while.

The load generator is not the `mlflow` client (which would be the bottleneck) but a minimal
HTTP/1.1 keep-alive client on asyncio (uvloop when installed), spread over a few processes so
that it does not saturate one core itself. Each connection logs to its own run: 10 metric keys
x 10 steps per request, steps increasing so that no point repeats.

The measured period is cut into equal windows; the reported throughput is the median of the
windows' throughputs (the "repetitions"), after a warm-up that is discarded.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import socket
import statistics
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

from benchmarks.seed import BASE_TIME
from benchmarks.workloads.base import Figure, Quantity, Target, Workload

Record = tuple[float, float, bool]  # completion time (monotonic), latency (s), succeeded


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    run_ids: list[str]
    batch: int
    start: float = 0.0  # time.monotonic() at which all connections begin
    stop: float = 0.0
    authorization: str | None = None  # the `Authorization` header every request carries
    prefix: str = ""  # a path before /api/… (e.g. `/w/<workspace>` for a workspace of Runyard)


def _body(run_id: str, step0: int, batch: int) -> bytes:
    keys = 10
    metrics = ",".join(
        f'{{"key":"m{k}","value":{((s * 31 + k) % 997) / 997.0!r},"timestamp":{BASE_TIME + s},"step":{s}}}'
        for s in range(step0, step0 + batch // keys)
        for k in range(keys)
    )
    return f'{{"run_id":"{run_id}","metrics":[{metrics}]}}'.encode()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) after consuming one whole response."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, chunked, keep = 0, False, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep


async def _connection(plan: LoadPlan, run_id: str, out: list[Record]) -> None:
    head = f"POST {plan.prefix}/api/2.0/mlflow/runs/log-batch HTTP/1.1\r\nHost: {plan.host}:{plan.port}\r\n"
    if plan.authorization:
        head += f"Authorization: {plan.authorization}\r\n"
    head += "Content-Type: application/json\r\nContent-Length: "
    step = 0
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    await asyncio.sleep(max(0.0, plan.start - time.monotonic()))
    while time.monotonic() < plan.stop:
        body = _body(run_id, step, plan.batch)
        step += plan.batch // 10
        request = f"{head}{len(body)}\r\n\r\n".encode() + body
        began = time.monotonic()
        try:
            if conn is None:
                conn = await asyncio.open_connection(plan.host, plan.port)
                sock = conn[1].get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn[1].write(request)
            status, keep = await _read_response(conn[0])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            out.append((time.monotonic(), time.monotonic() - began, False))
            if conn is not None:
                conn[1].close()
            conn = None
            await asyncio.sleep(0.01)
            continue
        done = time.monotonic()
        out.append((done, done - began, status == 200))
        if not keep:
            conn[1].close()
            conn = None
    if conn is not None:
        conn[1].close()


async def _generate(plan: LoadPlan) -> list[Record]:
    out: list[Record] = []
    await asyncio.gather(*(_connection(plan, run_id, out) for run_id in plan.run_ids))
    return out


def _generator_process(plan: LoadPlan, conn: Connection) -> None:
    """Say "ready", receive the (start, stop) times, generate load, send back the records."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    before = resource.getrusage(resource.RUSAGE_SELF)
    conn.send("ready")
    start, stop = conn.recv()
    records = asyncio.run(_generate(replace(plan, start=start, stop=stop)))
    after = resource.getrusage(resource.RUSAGE_SELF)
    conn.send((records, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))


class Ingest(Workload):
    id = "W3"
    tracking_api_only = True
    title = "sustained log-batch ingest, 16 raw-HTTP clients"
    quantities = [
        Quantity("points_per_s", "throughput", "points/s", "higher"),
        Quantity("p50", "p50 latency", "ms", "lower"),
        Quantity("p99", "p99 latency", "ms", "lower"),
        Quantity("errors", "errors", "count", "lower"),
    ]

    # What the last `measure` did (for the dual-tracking workload, which checks the mirror's counts):
    # the runs, the points the server accepted (warm-up included) and the measured window (monotonic).
    last_run_ids: list[str]
    last_points: int = 0
    last_window: tuple[float, float] = (0.0, 0.0)

    def measure(self, target: Target) -> dict[str, Figure]:
        """The load against `target.url`; a path in it (`…/w/<workspace>`) prefixes every request."""
        s = self.sizes
        if target.is_stub:
            run_ids = [f"{i:032x}" for i in range(s.w3_clients)]
        else:
            experiment = self.experiment(target, "bench-ingest")
            run_ids = [target.api.create_run(experiment, f"ingest-{i}", BASE_TIME) for i in range(s.w3_clients)]
        url = urlsplit(target.url)
        ctx = multiprocessing.get_context("spawn")
        procs, conns = [], []
        finished = False
        for p in range(s.w3_processes):
            plan = LoadPlan(
                url.hostname or "127.0.0.1",
                url.port or 80,
                run_ids[p :: s.w3_processes],
                s.w3_batch,
                authorization=target.authorization,
                prefix=url.path.rstrip("/"),
            )
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_generator_process, args=(plan, child), daemon=True, name=f"bench-load-{p}")
            proc.start()
            procs.append(proc)
            conns.append(parent)
        try:
            for conn in conns:
                if not conn.poll(60) or conn.recv() != "ready":
                    raise RuntimeError("load generator did not start")
            start = time.monotonic() + 0.2
            measure_from = start + s.w3_warmup_seconds
            stop = measure_from + s.w3_seconds
            for conn in conns:
                conn.send((start, stop))
            records: list[Record] = []
            cpu = 0.0
            for conn in conns:
                if not conn.poll(stop - time.monotonic() + 120):
                    raise RuntimeError("load generator did not finish")
                got, used = conn.recv()
                records.extend(got)
                cpu += used
            finished = True
        finally:
            for proc in procs:  # on failure or Ctrl-C, do not wait for the load to run out
                proc.join(timeout=10 if finished else 0)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
        self.last_run_ids = run_ids
        self.last_points = sum(s.w3_batch for _done, _lat, good in records if good)
        self.last_window = (measure_from, stop)
        return self._figures(records, measure_from, stop, cpu / (stop - start))

    def _figures(self, records: list[Record], begin: float, end: float, cpu_cores: float) -> dict[str, Figure]:
        s = self.sizes
        window = (end - begin) / s.w3_windows
        rates = []
        for w in range(s.w3_windows):
            lo, hi = begin + w * window, begin + (w + 1) * window
            ok = sum(1 for done, _lat, good in records if good and lo <= done < hi)
            rates.append(ok * s.w3_batch / window)
        measured = [r for r in records if begin <= r[0] < end]
        latencies = sorted(lat * 1000 for _done, lat, good in measured if good)
        errors = sum(1 for r in records if not r[2])
        note = f"load generator used {cpu_cores:.2f} cores"
        return {
            "points_per_s": Figure(statistics.median(rates), rates, note),
            "p50": Figure(_percentile(latencies, 0.50)),
            "p99": Figure(_percentile(latencies, 0.99)),
            "errors": Figure(float(errors)),
        }


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]
