"""The connection to the backend store: engine set-up per dialect and the read/write transaction scopes.

Services open exactly one transaction per use case through `Database.write()` or `Database.read()`.
On SQLite a write transaction starts with `BEGIN IMMEDIATE`, so concurrent writers queue on the
database lock (with a busy timeout) instead of failing half-way when a read lock cannot be upgraded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # WAL + NORMAL: a committed transaction survives a crash of the server process (the OS holds
    # the WAL pages); only a power loss can take the last transactions back.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA case_sensitive_like=ON",  # LIKE is case-sensitive, ILIKE is not (as on PostgreSQL)
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
    "PRAGMA mmap_size=268435456",
    # Checkpoint (and fsync) the WAL every ~16 MiB rather than every 4 MiB: fewer stalls under ingest.
    "PRAGMA wal_autocheckpoint=4000",
    "PRAGMA journal_size_limit=67108864",
)


class Database:
    """An engine plus the transaction scopes the services use."""

    def __init__(self, url: str, *, pool: bool = True) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        self.engine: Engine = _create_engine(url, self.dialect, pool=pool)
        # SQLite has one writer at a time. Queueing this process's writers on a lock keeps them off
        # SQLite's busy handler, which sleeps in growing steps while the file is locked.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._local = threading.local()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One read-write transaction: committed on success, rolled back on any exception."""
        if getattr(self._local, "writing", False):
            raise RuntimeError("nested write transaction: it would wait for the one this thread holds")
        lock = self._write_lock or nullcontext()
        with lock, self.engine.connect() as conn:
            conn.info["immediate"] = True
            self._local.writing = True
            try:
                with conn.begin():
                    yield conn
            finally:
                self._local.writing = False
                conn.info["immediate"] = False

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction (a consistent snapshot for multi-query reads)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _create_engine(url: str, dialect: str, *, pool: bool) -> Engine:
    kwargs: dict[str, Any] = {}
    if not pool:
        kwargs["poolclass"] = NullPool
    if dialect == "sqlite":
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
        if pool:
            kwargs["pool_size"] = 8
            kwargs["max_overflow"] = 32
        engine = create_engine(url, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    if pool:
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 30
        kwargs["pool_pre_ping"] = True
    return create_engine(url, **kwargs)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) issue BEGIN itself instead of pysqlite.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")
