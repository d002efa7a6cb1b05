"""Request ids: one per HTTP request, taken from the client's `X-Request-Id` when it is well-formed
(so a proxy's or client's id follows the request into Runyard's logs) and generated otherwise.

The id lives in a context variable for the request's duration; `logs.RequestIdFilter` copies it into
every log record, and the service thread pool runs each call in the request's context
(`api.http.call`), so records from service code carry it too.
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar
from typing import Final

HEADER: Final = "X-Request-Id"
HEADER_KEY: Final = b"x-request-id"
MAX_LENGTH: Final = 128
# Letters, digits and `-_.:=+/@`: enough for UUIDs, hex and base64 ids, trace ids such as
# `Root=1-5759e988-bd86...`; nothing that could break a log line (spaces, quotes, control characters).
_WELL_FORMED: Final = re.compile(rb"[A-Za-z0-9\-_.:=+/@]{1,%d}" % MAX_LENGTH)

CURRENT: ContextVar[str | None] = ContextVar("runyard_request_id", default=None)


def well_formed(value: bytes) -> bool:
    """Whether a client's `X-Request-Id` value may be used as the request's id."""
    return _WELL_FORMED.fullmatch(value) is not None


_random = random.Random()  # seeded from the OS per process; an id needs to be unique, not secret


def new_id() -> str:
    """A fresh id: 16 hex digits (64 random bits; half the cost of reading the OS's random source)."""
    return f"{_random.getrandbits(64):016x}"


def from_header(value: bytes | None) -> str:
    """The request's id: the client's value if it is well-formed, else a fresh one."""
    if value is not None and well_formed(value):
        return value.decode("ascii")
    return new_id()


def current() -> str | None:
    """The id of the request being handled (None outside a request)."""
    return CURRENT.get()
