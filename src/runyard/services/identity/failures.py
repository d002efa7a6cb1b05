"""Slowing down guessing: failed sign-ins (wrong password, unknown or revoked token or secret) are
counted per client address and per account name over a sliding window; past the limit, further
attempts are refused with 429 and `Retry-After` until the window has room again, before any hash
is computed. Requests without credentials are not failures. Counted per server process."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from runyard.domain.errors import TooManyFailures

WINDOW_SECONDS = 60.0


class FailureLimiter:
    def __init__(self, limit: int, window_seconds: float = WINDOW_SECONDS) -> None:
        """`limit`: failures allowed per key in the window (0: no limit)."""
        self._limit = limit
        self._window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str | None) -> None:
        """Raise TooManyFailures if any of `keys` (an address, an account name) is over the limit."""
        if self._limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            for key in keys:
                if key is None:
                    continue
                times = self._recent(key, now)
                if times is not None and len(times) >= self._limit:
                    raise TooManyFailures(max(1, math.ceil(times[0] + self._window - now)))

    def record(self, *keys: str | None) -> None:
        if self._limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            for key in keys:
                if key is not None:
                    self._failures.setdefault(key, deque()).append(now)
                    self._recent(key, now)
            if len(self._failures) > 10_000:
                for key in [k for k, v in self._failures.items() if not v or v[-1] < now - self._window]:
                    del self._failures[key]

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        while len(times) > self._limit:
            times.popleft()
        return times
