"""The coalescing transport under the server's HTTP protocol: one socket write per event-loop turn."""

from __future__ import annotations

import asyncio
from typing import Any

from runyard.http_protocol import _CoalescingTransport


class _Recorder(asyncio.Transport):
    """A transport that records what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name == "peername" else default


def _run(body: Any) -> Any:
    return asyncio.run(body())


def test_writes_of_one_turn_go_out_as_one() -> None:
    async def body() -> _Recorder:
        raw = _Recorder()
        transport = _CoalescingTransport(raw, asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"")
        transport.write(b'{"ok": true}')
        assert raw.writes == []  # nothing sent before the turn ends
        assert transport.get_write_buffer_size() == 31
        await asyncio.sleep(0)
        transport.write(b"next")
        await asyncio.sleep(0)
        return raw

    assert _run(body).writes == [b'HTTP/1.1 200 OK\r\n\r\n{"ok": true}', b"next"]


def test_close_sends_what_is_pending_and_other_calls_reach_the_transport() -> None:
    async def body() -> _Recorder:
        raw = _Recorder()
        transport = _CoalescingTransport(raw, asyncio.get_running_loop())
        transport.writelines([b"a", b"b"])
        transport.close()
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        await asyncio.sleep(0)  # the scheduled flush finds nothing left
        return raw

    raw = _run(body)
    assert raw.writes == [b"ab"]
    assert raw.closed


def _protocol(limits: Any) -> Any:
    from uvicorn.config import Config
    from uvicorn.protocols.http.flow_control import FlowControl
    from uvicorn.server import ServerState

    from runyard.http_protocol import _BODY, HttpProtocol

    async def app(_scope: Any, _receive: Any, _send: Any) -> None:
        return None

    protocol = HttpProtocol(Config(app=app), ServerState(), {}, _loop=asyncio.new_event_loop(), limits=limits)
    protocol.flow = FlowControl(_Recorder())
    protocol._phase = _BODY
    return protocol


def test_a_body_the_server_kept_waiting_is_not_the_clients_fault() -> None:
    from runyard.http_protocol import ConnectionLimits

    p = _protocol(ConnectionLimits(body_timeout=4, min_body_rate=1000))
    assert p._body_late(0.0) is None  # the first look starts the clocks
    p._body_bytes = 100
    assert p._body_late(1.0) is None
    p.flow.read_paused = True  # the handler has not consumed what it was sent
    assert p._body_late(6.0) is None
    p.flow.read_paused = False
    assert p._body_late(9.0) is None  # clocks restarted at 6.0
    assert "stalled for 4 s" in p._body_late(10.5)
    p.loop.close()


def test_a_slow_body_is_late_once_a_window_has_passed() -> None:
    from runyard.http_protocol import ConnectionLimits

    p = _protocol(ConnectionLimits(body_timeout=4, min_body_rate=1000))
    assert p._body_late(0.0) is None
    for t in (1.0, 2.0, 3.0):
        p._body_bytes += 500  # 500 bytes/s, never silent
        assert p._body_late(t) is None
    p._body_bytes += 500
    assert "below the minimum of 1000 bytes/s" in p._body_late(4.0)
    fast = _protocol(ConnectionLimits(body_timeout=4, min_body_rate=1000))
    assert fast._body_late(0.0) is None
    for t in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0):
        fast._body_bytes += 5000
        assert fast._body_late(t) is None
    p.loop.close()
    fast.loop.close()


def test_the_timer_step() -> None:
    from runyard.http_protocol import ConnectionLimits

    assert ConnectionLimits().step == 7.5
    assert ConnectionLimits(head_timeout=1, body_timeout=40).step == 1
    assert ConnectionLimits(head_timeout=0, body_timeout=0).step == 0
