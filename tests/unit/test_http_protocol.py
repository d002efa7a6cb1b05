"""The coalescing transport under the server's HTTP protocol: one socket write per event-loop turn."""

from __future__ import annotations

import asyncio
from typing import Any

from runyard.http_protocol import _CoalescingTransport


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
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
        transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
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
        transport = _CoalescingTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.writelines([b"a", b"b"])
        transport.close()
        assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
        await asyncio.sleep(0)  # the scheduled flush finds nothing left
        return raw

    raw = _run(body)
    assert raw.writes == [b"ab"]
    assert raw.closed
