"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol, with one socket write per
response and limits on how long a client may take to send a request.

uvicorn writes a response's status line and headers, then its body, as two socket writes. On
loopback and in virtual machines each send costs more than everything the server does for a
small JSON answer in Python, so writes made during one turn of the event loop are joined and sent
with a single call at the end of the turn. Streaming bodies still go out as they are produced
(one write per turn), and flow control is the transport's own.

Slow clients (slowloris) cannot hold connections open: a request head must arrive within
`head_timeout`; a body may not stall for `body_timeout` nor arrive slower than `min_body_rate`
averaged over `body_timeout` (time the server itself is not reading, e.g. while a handler has not
yet consumed what it was sent, does not count); connections beyond `max_connections` are answered
429 with `Retry-After` and closed (the request was not processed: 429 is what MLflow clients resend a
write on; they do not resend one answered 503, which a server may send after committing it). Idle
keep-alive connections are closed by uvicorn (`timeout_keep_alive`).

Each connection has one timer, re-armed when it fires (at most every `step` seconds); the
per-request cost is a clock read when a request starts and a byte counter per body chunk.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from runyard.config import Settings
from runyard.domain.errors import RETRY_AFTER_SECONDS, TEMPORARILY_UNAVAILABLE, error_body


class _CoalescingTransport:
    """A transport that sends everything written during one event-loop turn with one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def writelines(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


@dataclass(frozen=True)
class ConnectionLimits:
    """How long clients may take to send requests, and how many connections a process holds.
    A zero disables that limit."""

    head_timeout: float = 30.0
    body_timeout: float = 30.0
    min_body_rate: int = 1024  # bytes per second, averaged over `body_timeout`
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            head_timeout=settings.request_head_timeout,
            body_timeout=settings.request_body_timeout,
            min_body_rate=settings.min_body_rate,
            max_connections=settings.max_connections,
        )

    @property
    def step(self) -> float:
        """How often a connection's timer looks at it: the head deadline is met exactly, a stalled
        or slow body is noticed within a quarter of `body_timeout`."""
        candidates = [t for t in (self.head_timeout, self.body_timeout / 4) if t > 0]
        return min(candidates) if candidates else 0.0


def _error_reply(status: bytes, error_code: str, message: str, retry_after: int | None = None) -> bytes:
    body = orjson.dumps(error_body(error_code, message))
    return b"".join(
        [
            b"HTTP/1.1 " + status + b"\r\n",
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"" if retry_after is None else b"retry-after: " + str(retry_after).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


# Where the parser is in the request stream (the application's progress is the cycle's business).
_IDLE = 0  # between requests: no client deadline (uvicorn's keep-alive timer runs after a response)
_HEAD = 1  # request head started, not complete
_BODY = 2  # head complete, body not complete


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a coalescing transport, with the limits of `ConnectionLimits`
    (pass `functools.partial(HttpProtocol, limits=...)` as `uvicorn.run(http=...)`)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits or ConnectionLimits()
        self._step = self.limits.step
        self._phase = _IDLE
        self._head_deadline = 0.0
        self._watch: asyncio.TimerHandle | None = None
        # Body accounting: bytes received, the rate window's start, the last time bytes were seen,
        # and whether the server paused reading (so the client is not to blame) since the last look.
        self._body_bytes = 0
        self._window_start: float | None = None
        self._window_bytes = 0
        self._seen_bytes = 0
        self._progress_at = 0.0
        self._held = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        wrapped = _CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(cast(asyncio.Transport, wrapped))
        cap = self.limits.max_connections
        if cap and len(self.connections) > cap:
            self.logger.warning("Refused a connection: %d connections open (--max-connections).", cap)
            self.transport.write(
                _error_reply(
                    b"429 Too Many Requests",
                    TEMPORARILY_UNAVAILABLE,
                    f"The server has {cap} connections open, its limit; try again later.",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            )
            self.transport.close()
            return
        now = self.loop.time()
        self._start_head(now)
        if self._step:
            self._watch = self.loop.call_at(now + self._step, self._look)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == _IDLE:
            self._start_head(self.loop.time())
        super().data_received(data)

    def _start_head(self, now: float) -> None:
        self._phase = _HEAD
        self._head_deadline = now + self.limits.head_timeout

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        # httptools reports the end of a bodiless request right after this: `on_message_complete`.
        self._phase = _BODY
        self._window_start = None
        self._body_bytes = 0

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        super().on_body(body)
        if self.flow.read_paused:
            self._held = True

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = _IDLE

    # --- the connection's timer ---------------------------------------------------------------

    def _look(self) -> None:
        """Close the connection if its client is late; otherwise look again later."""
        self._watch = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        next_look = now + self._step
        if self._phase == _HEAD and self.limits.head_timeout:
            if now >= self._head_deadline:
                self._time_out(f"The request head was not received within {self.limits.head_timeout:g} s.")
                return
            next_look = min(next_look, self._head_deadline)
        elif self._phase == _BODY and self.limits.body_timeout:
            late = self._body_late(now)
            if late:
                self._time_out(late)
                return
        self._watch = self.loop.call_at(next_look, self._look)

    def _body_late(self, now: float) -> str | None:
        """Why the body's sender is too slow, or None."""
        limit = self.limits.body_timeout
        cycle = self.cycle
        held = self._held or self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)
        self._held = False
        if held or self._window_start is None:
            # (Re)start the clocks: the body just started, or the server kept it waiting.
            self._window_start = self._progress_at = now
            self._window_bytes = self._seen_bytes = self._body_bytes
            return None
        if self._body_bytes != self._seen_bytes:
            self._seen_bytes = self._body_bytes
            self._progress_at = now
        elif now - self._progress_at >= limit:
            return f"The request body stalled for {limit:g} s."
        elapsed = now - self._window_start
        if self.limits.min_body_rate and elapsed >= limit:
            received = self._body_bytes - self._window_bytes
            if received < self.limits.min_body_rate * elapsed:
                return (
                    f"The request body arrived at {received / elapsed:.0f} bytes/s over {elapsed:.0f} s, "
                    f"below the minimum of {self.limits.min_body_rate} bytes/s."
                )
            self._window_start, self._window_bytes = now, self._body_bytes
        return None

    def _time_out(self, message: str) -> None:
        """Answer 408 (unless a response is under way) and close the connection."""
        cycle = self.cycle
        if cycle is None or not cycle.response_started or cycle.response_complete:
            self.transport.write(_error_reply(b"408 Request Timeout", "BAD_REQUEST", message))
        if cycle is not None and not cycle.response_complete:
            # The handler waiting for the body sees a disconnect now, and writes nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()
