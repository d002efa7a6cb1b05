"""Service calls waited for on other threads are counted, so short calls only run inline when idle."""

from __future__ import annotations

import asyncio
import threading

import pytest

from runyard.api.http import call, nothing_in_flight, waiting_for


def test_calls_on_the_pool_count_as_in_flight_until_they_finish() -> None:
    release = threading.Event()
    seen: list[bool] = []

    async def scenario() -> None:
        assert nothing_in_flight()
        task = asyncio.ensure_future(call(release.wait, 10))
        await asyncio.sleep(0.05)
        seen.append(nothing_in_flight())
        release.set()
        assert await task is True
        seen.append(nothing_in_flight())

    asyncio.run(scenario())
    assert seen == [False, True]


def test_a_failed_wait_is_no_longer_in_flight() -> None:
    async def scenario() -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(ValueError("refused"))
        with pytest.raises(ValueError, match="refused"):
            await waiting_for(future)
        assert nothing_in_flight()

    asyncio.run(scenario())
