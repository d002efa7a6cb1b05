"""Slow clients cannot hold connections (issue 10, item 10): raw sockets against a server with short
limits — an unfinished head, a silent connection, a stalled or trickling body and an idle keep-alive
connection are closed, other clients are served meanwhile, and the connection cap holds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
KEEP_ALIVE = 1.0
MAX_CONNECTIONS = 12


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        data_dir=Path(tmp_path_factory.mktemp("limits")),
        extra_env={
            "RUNYARD_REQUEST_HEAD_TIMEOUT": str(HEAD_TIMEOUT),
            "RUNYARD_REQUEST_BODY_TIMEOUT": str(BODY_TIMEOUT),
            "RUNYARD_MIN_BODY_RATE": "1024",
            "RUNYARD_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE),
            "RUNYARD_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        },
    ).start()
    yield proc
    proc.stop()
    assert "Traceback" not in proc.log(), proc.log()[-3000:]


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def _closed_after(sock: socket.socket, limit: float, trickle: bytes = b"", every: float = 0.2) -> tuple[float, bytes]:
    """Seconds until the server closes `sock` (sending `trickle` every `every` s meanwhile), and
    what it sent before closing."""
    start = time.monotonic()
    received = b""
    sock.settimeout(every)
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if trickle:
                try:
                    sock.sendall(trickle)
                except OSError:
                    break
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    else:
        raise AssertionError(f"connection still open after {limit} s")
    return time.monotonic() - start, received


def _served(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as http:
        assert http.get("/api/2.0/mlflow/experiments/search").status_code == 200


def test_silent_connection_is_closed_with_408(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        _served(limited)
        elapsed, reply = _closed_after(sock, 10)
    assert HEAD_TIMEOUT * 0.8 <= elapsed <= HEAD_TIMEOUT + 2
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert b"request head was not received" in reply


def test_unfinished_head_is_closed_even_if_it_trickles(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        elapsed, reply = _closed_after(sock, 10, trickle=b"X-A: b\r\n")
        _served(limited)
    assert elapsed <= HEAD_TIMEOUT + 2
    assert reply.startswith(b"HTTP/1.1 408 ")


def _upload_head(length: int) -> bytes:
    return (
        b"PUT /api/2.0/mlflow-artifacts/artifacts/limits/slow.bin HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nContent-Length: " + str(length).encode() + b"\r\n\r\n"
    )


def test_stalled_body_is_closed(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(_upload_head(10_000) + b"x" * 100)
        elapsed, reply = _closed_after(sock, 15)
        _served(limited)
    assert BODY_TIMEOUT * 0.8 <= elapsed <= BODY_TIMEOUT * 2 + 1
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert b"stalled" in reply


def test_trickling_body_is_closed(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(_upload_head(1_000_000))
        # 20 bytes every 0.2 s: 100 bytes/s, far below 1 KiB/s, but never silent.
        elapsed, reply = _closed_after(sock, 15, trickle=b"y" * 20)
        _served(limited)
    assert BODY_TIMEOUT * 0.8 <= elapsed <= BODY_TIMEOUT * 2 + 1
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert b"below the minimum" in reply
    with httpx.Client(base_url=limited.url) as http:
        assert http.get("/api/2.0/mlflow-artifacts/artifacts/limits/slow.bin").status_code == 404


def test_a_body_at_a_fair_rate_outlasts_the_window(limited: ServerProcess) -> None:
    chunk, chunks = b"z" * 1024, 28  # 10 KiB/s for ~2.8 s: longer than the body timeout
    with _connect(limited) as sock:
        sock.sendall(_upload_head(len(chunk) * chunks))
        for _ in range(chunks):
            sock.sendall(chunk)
            time.sleep(0.1)
        sock.settimeout(10)
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200 "), reply


def test_large_fast_upload_is_not_affected(limited: ServerProcess) -> None:
    size = 64 * 1024 * 1024

    def body() -> Iterator[bytes]:
        block = b"\x5a" * (1024 * 1024)
        for _ in range(size // len(block)):
            yield block

    with httpx.Client(base_url=limited.url, timeout=60) as http:
        path = "/api/2.0/mlflow-artifacts/artifacts/limits/big.bin"
        assert http.put(path, content=body()).status_code == 200
        assert int(http.get(path).headers["content-length"]) == size


def test_idle_keep_alive_connection_is_closed(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        assert b"connection: close" not in first.lower()
        elapsed, reply = _closed_after(sock, 10)
    assert KEEP_ALIVE * 0.8 <= elapsed <= KEEP_ALIVE + 2
    assert reply == b""


def test_keep_alive_then_a_partial_head_is_closed_by_the_head_timeout(limited: ServerProcess) -> None:
    with _connect(limited) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        elapsed, reply = _closed_after(sock, 10, trickle=b"X: y\r\n", every=0.3)
    assert elapsed <= HEAD_TIMEOUT + 2
    assert reply.startswith(b"HTTP/1.1 408 ")


def test_connection_cap_holds_and_frees_up(limited: ServerProcess) -> None:
    time.sleep(HEAD_TIMEOUT + 0.5)  # connections of earlier tests are gone
    held = [_connect(limited) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)
        with _connect(limited) as extra:
            _, reply = _closed_after(extra, 5)
        # Not processed, so 429 with Retry-After: what an MLflow 3.18 client resends a write on (issue 11).
        assert reply.startswith(b"HTTP/1.1 429 "), reply
        assert b"\r\nretry-after: 1\r\n" in reply.lower()
        assert b"TEMPORARILY_UNAVAILABLE" in reply
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    _served(limited)
