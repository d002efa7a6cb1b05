"""The connection to the backend store: engine set-up per dialect and the read/write transaction scopes.

Services open exactly one transaction per use case through `Database.write()` or `Database.read()`.
On SQLite a write transaction starts with `BEGIN IMMEDIATE`, so concurrent writers queue on the
database lock (with a busy timeout) instead of failing half-way when a read lock cannot be upgraded,
and this process's concurrent writes share transactions (`group_commit`): one commit per burst.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from runyard.config import DEFAULT_SQLITE_CACHE_MIB, DEFAULT_SQLITE_MMAP_MIB
from runyard.store.checkpointer import BACKSTOP_PAGES, Checkpointer
from runyard.store.group_commit import GroupCommitter

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # WAL + NORMAL: a committed transaction survives a crash of the server process (the OS holds
    # the WAL pages); only a power loss can take the last transactions back.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    # Foreign keys enforced: no row can name a workspace, experiment or run that is gone (a write
    # racing a workspace's deletion fails instead of leaving orphans). Migrations turn them off.
    "PRAGMA foreign_keys=ON",
    "PRAGMA case_sensitive_like=ON",  # LIKE is case-sensitive, ILIKE is not (as on PostgreSQL)
    "PRAGMA temp_store=MEMORY",
    # Checkpoint (and fsync) the WAL every ~16 MiB rather than every 4 MiB: fewer stalls under ingest.
    # A server process raises this further and checkpoints in the background (`checkpointer`).
    "PRAGMA wal_autocheckpoint=4000",
    "PRAGMA journal_size_limit=67108864",
)


@dataclass(frozen=True)
class SqliteMemory:
    """How much memory SQLite may hold: a page cache per connection, and a shared read-only mapping
    of the database file (the OS counts mapped pages that were read in the process's RSS)."""

    cache_mib: int = DEFAULT_SQLITE_CACHE_MIB
    mmap_mib: int = DEFAULT_SQLITE_MMAP_MIB

    def pragmas(self) -> tuple[str, ...]:
        return (f"PRAGMA cache_size=-{self.cache_mib * 1024}", f"PRAGMA mmap_size={self.mmap_mib * 1024 * 1024}")


class Database:
    """An engine plus the transaction scopes the services use."""

    def __init__(
        self,
        url: str,
        *,
        pool: bool = True,
        background_checkpoints: bool = False,
        sqlite_memory: SqliteMemory | None = None,
        foreign_keys: bool = True,
    ) -> None:
        """`background_checkpoints`: for a long-lived server process on a SQLite file (see `checkpointer`).
        `foreign_keys=False`: SQLite does not enforce them (schema migrations rebuild tables)."""
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        database = self.url.database
        self._checkpointer: Checkpointer | None = None
        if background_checkpoints and self.dialect == "sqlite" and database and database != ":memory:":
            self._checkpointer = Checkpointer(database)
        autocheckpoint = BACKSTOP_PAGES if self._checkpointer else None
        self.engine: Engine = _create_engine(
            url,
            self.dialect,
            pool=pool,
            autocheckpoint=autocheckpoint,
            memory=sqlite_memory or SqliteMemory(),
            foreign_keys=foreign_keys,
        )
        if self._checkpointer:
            self._checkpointer.start()
        # SQLite has one writer at a time. Queueing this process's writers in the group committer keeps
        # them off SQLite's busy handler (which sleeps in growing steps while the file is locked) and
        # lets a burst of them share one commit.
        self._group = GroupCommitter(self.engine) if self.dialect == "sqlite" else None
        self._local = threading.local()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One read-write transaction: committed on success, rolled back on any exception."""
        if getattr(self._local, "writing", False):
            raise RuntimeError("nested write transaction: it would wait for the one this thread holds")
        self._local.writing = True
        try:
            if self._group is not None:
                with self._group.unit() as conn:
                    yield conn
                return
            with self.engine.connect() as conn, conn.begin():
                yield conn
        finally:
            self._local.writing = False

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction (a consistent snapshot for multi-query reads)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def refresh_statistics(self, *tables: str) -> None:
        """PostgreSQL: re-sample the tables' planner statistics (`ANALYZE`). Until autovacuum first
        gets to a freshly filled table, the planner has no idea of its size and may scan it whole
        where an index seek would do (sampled history: 1.2 s instead of 25 ms for 300k points)."""
        if self.dialect != "postgresql":
            return
        with self.engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"ANALYZE {', '.join(tables)}")

    def pool_status(self) -> tuple[int, int]:
        """(connections checked out now, the pool's configured size) of this process's pool."""
        pool = self.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        return (int(checked_out()) if callable(checked_out) else 0, int(size()) if callable(size) else 0)

    def statistics_state(self, table: str) -> tuple[float, int]:
        """PostgreSQL: (rows at the table's last ANALYZE, -1 if never; rows changed since, by every
        process, as the statistics collector has counted them so far). SQLite: (-1, 0)."""
        if self.dialect != "postgresql":
            return -1.0, 0
        with self.engine.connect() as conn, conn.begin():
            row = conn.exec_driver_sql(
                "SELECT c.reltuples, COALESCE(s.n_mod_since_analyze, 0) FROM pg_class c "
                "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
                "WHERE c.oid = to_regclass(%(table)s)",
                {"table": table},
            ).first()
        return (float(row[0]), int(row[1])) if row is not None else (-1.0, 0)

    def dispose(self) -> None:
        if self._group is not None:
            self._group.close()
        self.engine.dispose()
        if self._checkpointer:
            self._checkpointer.stop()


def _create_engine(
    url: str, dialect: str, *, pool: bool, autocheckpoint: int | None, memory: SqliteMemory, foreign_keys: bool
) -> Engine:
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
            # Hand out the most recently used connection: its page cache is warm, and idle ones do not
            # each fill a cache of their own (round-robin would grow memory to pool size x cache).
            kwargs["pool_use_lifo"] = True
        engine = create_engine(url, **kwargs)
        pragmas = SQLITE_PRAGMAS + memory.pragmas()
        if not foreign_keys:
            kept = [p for p in pragmas if not p.startswith("PRAGMA foreign_keys")]
            pragmas = (*kept, "PRAGMA foreign_keys=OFF")
        _install_sqlite_hooks(engine, autocheckpoint, pragmas)
        return engine
    if pool:
        kwargs["pool_size"] = 10
        kwargs["max_overflow"] = 30
        kwargs["pool_pre_ping"] = True
    return create_engine(url, **kwargs)


def _install_sqlite_hooks(engine: Engine, autocheckpoint: int | None, pragmas: tuple[str, ...]) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event (below) issue BEGIN itself instead of pysqlite.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        if autocheckpoint is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")
