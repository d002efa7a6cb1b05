"""A small round-robin HTTP/1.1 reverse proxy: each request goes to the next backend in turn.

It stands for the load balancer in front of several Runyard hosts (the multi-process tests and the
benchmark's `--processes N`): consecutive requests of one keep-alive client connection land on
different servers, which is what exposes any per-process state. Standard library only (asyncio).

- Bodies stream both ways in 64 KiB pieces (Content-Length, chunked, or until the backend closes),
  so a 1 GiB upload passes in flat memory; `Expect: 100-continue` and other 1xx answers pass through.
- Client connections are kept alive; backend connections are pooled per backend and reused.
- A request whose body is small enough to hold (<= 1 MiB, or none) is sent again on a fresh
  connection when a pooled one turns out closed before any answer byte arrived.
- The client's address goes to the backend in `X-Forwarded-For`.

Run it on its own: `python -m benchmarks.round_robin --port 8080 http://127.0.0.1:5001 http://127.0.0.1:5002`,
or in a thread of a test through `RoundRobinProxy(...).start()`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHUNK = 64 * 1024
MAX_HEAD = 64 * 1024
RETRYABLE_BODY = 1024 * 1024
POOL_IDLE_SECONDS = 4.0  # below the servers' keep-alive timeouts (uvicorn's default: 5 s; Runyard: 60 s)
POOL_SIZE = 64
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})


class _Closed(Exception):
    """The peer closed the connection before a complete message head."""


@dataclass
class _Head:
    start: bytes  # the request or status line, without CRLF
    headers: list[tuple[bytes, bytes]]

    def get(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def tokens(self, name: bytes) -> set[bytes]:
        out: set[bytes] = set()
        for key, value in self.headers:
            if key.lower() == name:
                out.update(t.strip().lower() for t in value.split(b","))
        return out

    def encode(self, extra: Sequence[tuple[bytes, bytes]] = (), *, drop: frozenset[str] = _HOP_BY_HOP) -> bytes:
        lines = [self.start]
        lines += [k + b": " + v for k, v in self.headers if k.lower().decode("latin-1") not in drop]
        lines += [k + b": " + v for k, v in extra]
        return b"\r\n".join(lines) + b"\r\n\r\n"


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        raise _Closed from e
    except asyncio.LimitOverrunError as e:
        raise ValueError("message head too large") from e
    lines = raw[:-4].split(b"\r\n")
    headers = []
    for line in lines[1:]:
        key, sep, value = line.partition(b":")
        if not sep:
            raise ValueError("malformed header line")
        headers.append((key.strip(), value.strip()))
    return _Head(lines[0], headers)


async def _copy_exact(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, size: int) -> None:
    while size > 0:
        data = await reader.read(min(CHUNK, size))
        if not data:
            raise ConnectionError("connection closed mid-body")
        writer.write(data)
        size -= len(data)
        await writer.drain()


async def _copy_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy a chunked body verbatim (sizes, extensions, trailers), stopping after its last chunk."""
    while True:
        line = await reader.readuntil(b"\r\n")
        writer.write(line)
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, up to the empty line
                trailer = await reader.readuntil(b"\r\n")
                writer.write(trailer)
                if trailer == b"\r\n":
                    await writer.drain()
                    return
        await _copy_exact(reader, writer, size + 2)  # the data and its CRLF


async def _copy_until_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()


def _content_length(head: _Head) -> int | None:
    value = head.get(b"content-length")
    return int(value) if value is not None else None


def _status(response: _Head) -> int:
    parts = response.start.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError("malformed status line")
    return int(parts[1])


def _chunked(head: _Head) -> bool:
    return b"chunked" in head.tokens(b"transfer-encoding")


@dataclass
class _Backend:
    host: str
    port: int
    idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=list)

    async def connection(self, *, fresh: bool = False) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        """(reader, writer, reused)."""
        now = time.monotonic()
        while self.idle and not fresh:
            since, reader, writer = self.idle.pop()
            if now - since < POOL_IDLE_SECONDS and not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_HEAD)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer, False

    def give_back(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.idle) < POOL_SIZE and not writer.is_closing():
            self.idle.append((time.monotonic(), reader, writer))
        else:
            writer.close()

    def close(self) -> None:
        for _, _, writer in self.idle:
            writer.close()
        self.idle.clear()


class RoundRobinProxy:
    """Forwards every request to the next of `backends` (base URLs `http://host:port`)."""

    def __init__(self, backends: Sequence[str], host: str = "127.0.0.1", port: int = 0) -> None:
        if not backends:
            raise ValueError("at least one backend")
        self._backends = []
        for url in backends:
            parts = urlsplit(url)
            if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"backend {url!r}: expected http://host:port")
            self._backends.append(_Backend(parts.hostname, parts.port or 80))
        self._turn = itertools.cycle(range(len(self._backends)))
        self.host = host
        self.port = port
        self.forwarded = [0] * len(self._backends)  # requests sent to each backend
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- serving ------------------------------------------------------------------------------

    async def serve(self) -> asyncio.Server:
        self._server = await asyncio.start_server(self._client, self.host, self.port, limit=MAX_HEAD, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        return self._server

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = writer.get_extra_info("peername")
        client_ip = (peer[0] if isinstance(peer, tuple) else "unknown").encode()
        try:
            while await self._one(reader, writer, client_ip):
                pass
        except (_Closed, ConnectionError, asyncio.IncompleteReadError, ValueError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client_ip: bytes) -> bool:
        """Forward one request; whether the client connection stays open."""
        request = await _read_head(reader)
        method = request.start.split(b" ", 1)[0].upper()
        length = _content_length(request)
        chunked = _chunked(request)
        keep = b"close" not in request.tokens(b"connection") and not request.start.endswith(b"HTTP/1.0")
        held: bytes | None = b""
        if chunked:
            held = None
        elif length:
            expects = b"100-continue" in request.tokens(b"expect")  # the client waits for an answer first
            held = await reader.readexactly(length) if length <= RETRYABLE_BODY and not expects else None
        index = next(self._turn)
        backend = self._backends[index]
        self.forwarded[index] += 1
        forwarded_for = request.get(b"x-forwarded-for")
        extra = [(b"X-Forwarded-For", forwarded_for + b", " + client_ip if forwarded_for else client_ip)]
        head = request.encode(extra, drop=_HOP_BY_HOP | {"x-forwarded-for"})
        for attempt in range(2):
            up_reader, up_writer, reused = await backend.connection(fresh=attempt > 0)
            try:
                up_writer.write(head)
                if held is not None:
                    up_writer.write(held)
                elif chunked:
                    await _copy_chunked(reader, up_writer)
                else:
                    assert length is not None
                    await _copy_exact(reader, up_writer, length)
                await up_writer.drain()
                response = await _read_head(up_reader)
            except (_Closed, ConnectionError, OSError):
                up_writer.close()
                if reused and held is not None and attempt == 0:
                    continue  # a pooled connection the backend had closed: nothing was processed
                raise
            break
        # 1xx interim answers (100 Continue) go to the client as they are; the final one follows.
        status = _status(response)
        while 100 <= status < 200 and status != 101:
            writer.write(response.encode(drop=frozenset()))
            response = await _read_head(up_reader)
            status = _status(response)
        up_keep = b"close" not in response.tokens(b"connection")
        no_body = method == b"HEAD" or status in (204, 304)
        resp_length = _content_length(response)
        resp_chunked = _chunked(response)
        until_eof = not no_body and resp_length is None and not resp_chunked
        keep = keep and not until_eof
        connection = [(b"Connection", b"keep-alive" if keep else b"close")]
        writer.write(response.encode(connection))
        if not no_body:
            if resp_chunked:
                await _copy_chunked(up_reader, writer)
            elif resp_length is not None:
                await _copy_exact(up_reader, writer, resp_length)
            else:
                await _copy_until_eof(up_reader, writer)
                up_keep = False
        await writer.drain()
        if up_keep:
            backend.give_back(up_reader, up_writer)
        else:
            up_writer.close()
        return keep

    # --- in a thread (tests) ------------------------------------------------------------------

    def start(self) -> RoundRobinProxy:
        """Serve from a daemon thread of this process until `stop`; returns once it listens."""
        ready = threading.Event()
        failed: list[BaseException] = []

        async def serve_until_stopped() -> None:
            self._stopping = asyncio.Event()
            try:
                server = await self.serve()
            except BaseException as e:
                failed.append(e)
                return
            finally:
                ready.set()
            await self._stopping.wait()
            server.close()
            current = asyncio.current_task()
            others = [t for t in asyncio.all_tasks() if t is not current]
            for task in others:  # connections still open (keep-alive clients)
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            await server.wait_closed()
            for backend in self._backends:
                backend.close()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(serve_until_stopped())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="round-robin-proxy", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failed:
            raise failed[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=10)
            self._thread = None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.round_robin", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("backends", nargs="+", help="base URLs, e.g. http://127.0.0.1:5001")
    args = p.parse_args(argv)
    proxy = RoundRobinProxy(args.backends, args.host, args.port)

    async def run() -> None:
        server = await proxy.serve()
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
