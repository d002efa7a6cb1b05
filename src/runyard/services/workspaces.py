"""Workspace lookup for request routing (administration arrives with the workspaces feature)."""

from __future__ import annotations

import threading
import time

from runyard.domain.entities import Workspace
from runyard.domain.errors import not_found
from runyard.store import workspaces as ws_store
from runyard.store.database import Database

DEFAULT_WORKSPACE = "default"
# Workspace rows change rarely; a short cache keeps the lookup off every request's hot path.
_CACHE_SECONDS = 5.0


class WorkspaceService:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cache: dict[str, tuple[float, Workspace]] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str | None) -> Workspace:
        """The workspace a request addresses (`default` when none is named)."""
        name = name or DEFAULT_WORKSPACE
        hit = self._cache.get(name)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        with self._db.read() as conn:
            workspace = ws_store.get_by_name(conn, name)
        if workspace is None:
            raise not_found(f"Workspace '{name}' does not exist.")
        with self._lock:
            self._cache[name] = (time.monotonic() + _CACHE_SECONDS, workspace)
        return workspace
