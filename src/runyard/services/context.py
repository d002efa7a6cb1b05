"""Who is asking and where: the request context every service call receives."""

from __future__ import annotations

import time
from dataclasses import dataclass

from runyard.domain.entities import Workspace


@dataclass(frozen=True)
class RequestContext:
    """The resolved workspace of a request (and, with identity and access, its principal)."""

    workspace: Workspace
    principal: str | None = None


def now_ms() -> int:
    return int(time.time() * 1000)
