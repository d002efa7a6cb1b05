"""The "client floor": a stub MLflow server that answers every call at once with a canned reply.

Timing the real client against it measures the client's own cost (building requests, JSON and
protobuf conversion, `requests` overhead): no real server can be faster through that client.

The stub is deliberately minimal — a thread per keep-alive connection, HTTP/1.1, TCP_NODELAY,
the whole head plus body written with one ``sendall`` — and runs in its own process so that it
never competes with the measured client for the GIL. Replies are rendered once and cached.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import socket
import socketserver
import threading
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from typing import Any

RUN_ID = "0" * 31 + "1"
ARTIFACT_FILE = "blob.bin"
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class StubSpec:
    """Sizes of the canned replies: they mirror what the real servers hold after seeding."""

    history_points: int = 100_000
    search_matches: int = 5_000
    bulk_runs: int = 10
    artifact_bytes: int = 1024 * 1024
    model_versions: int = 10


# -- canned replies -------------------------------------------------------------------------------


def _run_info(run_id: str = RUN_ID, status: str = "RUNNING") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "run_uuid": run_id,
        "experiment_id": "1",
        "run_name": "stub-run",
        "user_id": "bench",
        "status": status,
        "start_time": 1_700_000_000_000,
        "artifact_uri": f"mlflow-artifacts:/1/{run_id}/artifacts",
        "lifecycle_stage": "active",
    }


def _search_run(i: int) -> dict[str, Any]:
    run_id = f"{i:032x}"
    return {
        "info": {**_run_info(run_id, "FINISHED"), "end_time": 1_700_000_001_000},
        "data": {
            "metrics": [
                {"key": f"m{k}", "value": 0.5 + k / 100, "timestamp": 1_700_000_000_000, "step": 0} for k in range(10)
            ],
            "params": [{"key": f"p{k}", "value": f"value-{k}-{i % 7}"} for k in range(10)],
            "tags": [{"key": f"t{k}", "value": f"tag-{k}-{i % 5}"} for k in range(5)],
        },
        "inputs": {},
    }


def _metric(step: int, key: str = "loss") -> dict[str, Any]:
    return {"key": key, "value": 1.0 / (step + 1), "timestamp": 1_700_000_000_000 + step, "step": step}


def _model_version(name: str, version: int) -> dict[str, Any]:
    return {
        "name": name,
        "version": str(version),
        "creation_timestamp": 1_700_000_000_000,
        "last_updated_timestamp": 1_700_000_000_000,
        "current_stage": "None",
        "description": "",
        "source": f"mlflow-artifacts:/1/{RUN_ID}/artifacts/model",
        "run_id": RUN_ID,
        "status": "READY",
    }


class Canned:
    """Renders (and caches) the reply for one request."""

    def __init__(self, spec: StubSpec) -> None:
        self.spec = spec

    def reply(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, bytes]:
        p = path.split("/api/2.0/mlflow", 1)[-1]
        q = {k: v[0] for k, v in query.items()}
        if p.startswith("-artifacts/artifacts"):
            return 200, self._artifacts(method, p, q)
        if p == "/runs/get":
            return 200, _dump({"run": {"info": _run_info(q.get("run_id", RUN_ID)), "data": {}}})
        if p == "/runs/create":
            return 200, _dump({"run": {"info": _run_info(), "data": {}}})
        if p == "/runs/update":
            return 200, _dump({"run_info": _run_info(status="FINISHED")})
        if p == "/runs/search":
            req = json.loads(body or b"{}")
            return 200, self._search(int(req.get("max_results", 1000)), req.get("page_token") or "0")
        if p == "/metrics/get-history":
            return 200, self._history(int(q.get("max_results", 25000)), q.get("page_token") or "0")
        if p == "/metrics/get-history-bulk-interval":
            return 200, self._bulk(int(q.get("max_results", 2500)))
        if p == "/registered-models/get":
            return 200, self._registered_model(q.get("name", "model"))
        if p == "/model-versions/search":
            return 200, self._model_versions(q.get("filter", ""))
        if p.startswith("/experiments/get"):
            exp = {"experiment_id": "1", "name": "stub", "lifecycle_stage": "active", "artifact_location": ""}
            return 200, _dump({"experiment": exp})
        return 200, b"{}"

    def _artifacts(self, method: str, p: str, q: dict[str, str]) -> bytes:
        if method == "GET" and p.rstrip("/") == "-artifacts/artifacts":
            path = q.get("path", "")
            if path.endswith(ARTIFACT_FILE):
                return b"{}"  # listing a file: no children, so the client downloads it
            entry = {"path": f"{path}/{ARTIFACT_FILE}".lstrip("/"), "is_dir": False}
            return _dump({"files": [{**entry, "file_size": self.spec.artifact_bytes}]})
        return b"{}"

    @lru_cache(maxsize=64)  # noqa: B019 - one Canned per stub process
    def _search(self, max_results: int, token: str) -> bytes:
        start = int(token)
        stop = min(start + max_results, self.spec.search_matches)
        out: dict[str, Any] = {"runs": [_search_run(i) for i in range(start, stop)]}
        if stop < self.spec.search_matches:
            out["next_page_token"] = str(stop)
        return _dump(out)

    @lru_cache(maxsize=64)  # noqa: B019
    def _history(self, max_results: int, token: str) -> bytes:
        start = int(token)
        stop = min(start + max_results, self.spec.history_points)
        out: dict[str, Any] = {"metrics": [_metric(s) for s in range(start, stop)]}
        if stop < self.spec.history_points:
            out["next_page_token"] = str(stop)
        return _dump(out)

    @lru_cache(maxsize=8)  # noqa: B019
    def _bulk(self, max_results: int) -> bytes:
        n = min(max_results, self.spec.history_points)
        stride = max(1, self.spec.history_points // n)
        metrics = [{**_metric(s * stride), "run_id": f"{r:032x}"} for r in range(self.spec.bulk_runs) for s in range(n)]
        return _dump({"metrics": metrics})

    @lru_cache(maxsize=8)  # noqa: B019
    def _registered_model(self, name: str) -> bytes:
        latest = _model_version(name, self.spec.model_versions)
        model = {
            "name": name,
            "creation_timestamp": 1_700_000_000_000,
            "last_updated_timestamp": 1_700_000_000_000,
            "latest_versions": [latest],
        }
        return _dump({"registered_model": model})

    @lru_cache(maxsize=8)  # noqa: B019
    def _model_versions(self, filter_string: str) -> bytes:
        name = filter_string.split("'")[1] if "'" in filter_string else "model"
        return _dump({"model_versions": [_model_version(name, v + 1) for v in range(self.spec.model_versions)]})


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# -- the HTTP/1.1 server --------------------------------------------------------------------------


class _Connection(socketserver.BaseRequestHandler):
    server: _StubServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = _Reader(sock)
        while True:
            head = reader.until(b"\r\n\r\n")
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            url = urllib.parse.urlsplit(target)
            sink = method == "PUT"  # artifact uploads: count the bytes, keep none
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body = reader.chunked(sink)
            else:
                body = reader.exactly(int(headers.get("content-length", "0")), sink)
            status, payload = self.server.canned.reply(method, url.path, urllib.parse.parse_qs(url.query), body)
            if method == "GET" and url.path.endswith("/" + ARTIFACT_FILE):
                self._send_blob(sock)
            else:
                head_out = (
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
                )
                sock.sendall(head_out.encode() + payload)
            if headers.get("connection", "").lower() == "close":
                return

    def _send_blob(self, sock: socket.socket) -> None:
        size = self.server.canned.spec.artifact_bytes
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
        chunk = self.server.blob_chunk
        first = min(size, len(chunk))
        sock.sendall(head.encode() + chunk[:first])
        sent = first
        view = memoryview(chunk)
        while sent < size:
            n = min(size - sent, len(chunk))
            sock.sendall(view[:n])
            sent += n


class _Reader:
    """Buffered reads from a socket; `None` from `until` means the peer closed the connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(1 << 20)
        self.buf += data
        return bool(data)

    def until(self, marker: bytes) -> bytes | None:
        while (i := self.buf.find(marker)) < 0:
            if not self._fill():
                return None
        out = bytes(self.buf[:i])
        del self.buf[: i + len(marker)]
        return out

    def exactly(self, n: int, sink: bool = False) -> bytes:
        if sink:
            take = min(n, len(self.buf))
            del self.buf[:take]
            n -= take
            scratch = bytearray(1 << 20)
            while n > 0:
                got = self.sock.recv_into(scratch, min(n, len(scratch)))
                if not got:
                    raise ConnectionError("peer closed mid-body")
                n -= got
            return b""
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("peer closed mid-body")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def chunked(self, sink: bool) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = self.until(b"\r\n")
            if size_line is None:
                raise ConnectionError("peer closed mid-body")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while self.until(b"\r\n"):  # trailer lines, up to the empty line
                    pass
                return b"".join(parts)
            parts.append(self.exactly(size, sink))
            self.exactly(2)


class _StubServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, spec: StubSpec) -> None:
        super().__init__(("127.0.0.1", 0), _Connection)
        self.canned = Canned(spec)
        self.blob_chunk = bytes(range(256)) * (_CHUNK // 256)


def _serve(spec: StubSpec, conn: Connection) -> None:
    server = _StubServer(spec)
    conn.send(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.recv()  # block until the parent says stop (or goes away)
    server.shutdown()


class Stub:
    """The stub server in a child process; use as a context manager."""

    def __init__(self, spec: StubSpec) -> None:
        self.spec = spec
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(spec, child), daemon=True, name="bench-stub")
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Stub:
        self._proc.start()
        self.port = int(self._conn.recv())
        return self

    def __exit__(self, *_exc: object) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
