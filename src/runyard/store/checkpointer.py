"""Background WAL checkpoints for a SQLite store, off the write path.

With SQLite's automatic checkpoints, the commit that crosses the WAL threshold copies the WAL
into the database file and fsyncs it while it still holds the write lock, so every writer queued
behind it waits. Here a daemon thread with its own connection runs PASSIVE checkpoints (which never
block writers or readers) at a short interval instead; the connections used for writes keep a
much higher automatic threshold only as a backstop, should the thread fall behind.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

# WAL pages (4 KiB) after which a committing writer checkpoints itself: only reached if the
# background thread cannot keep up.
BACKSTOP_PAGES = 50_000
INTERVAL_SECONDS = 0.2


class Checkpointer:
    """A daemon thread checkpointing one SQLite database file every `interval` seconds."""

    def __init__(self, path: str, *, interval: float = INTERVAL_SECONDS) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="runyard-wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread after one last checkpoint that also truncates the WAL file."""
        if not self._thread.is_alive():
            return
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=5, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            while not self._stop.wait(self._interval):
                self._checkpoint(conn, "PASSIVE")
            self._checkpoint(conn, "TRUNCATE")
        finally:
            conn.close()

    @staticmethod
    def _checkpoint(conn: sqlite3.Connection, mode: str) -> None:
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as e:  # a busy or locked database: the next round tries again
            log.debug("WAL checkpoint (%s) skipped: %s", mode, e)
