"""Figures the metrics read from the database at scrape time: they are the same for every process
sharing it (the metric inbox, the mirror links' backlog), so one query answers for all."""

from __future__ import annotations

from runyard.services.mirror.links import LinkService, LinkStatus
from runyard.store import metric_inbox
from runyard.store.database import Database


class StoreFigures:
    def __init__(self, db: Database, links: LinkService) -> None:
        self._db = db
        self._links = links

    def inbox_points(self) -> int | None:
        """Points waiting in the SQLite metric inbox (None on PostgreSQL, which has none)."""
        if not self._db.is_sqlite:
            return None
        with self._db.read() as conn:
            return metric_inbox.size(conn)

    def mirror_links(self) -> list[LinkStatus]:
        """Every mirror link with its pending entries and lag."""
        return self._links.overview()
