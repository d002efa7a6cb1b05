"""Interned metric/param/tag keys: names map to small integer ids, cached per process.

Ids never change once committed, so the cache is safe across threads and worker processes. New
names are interned either in their own short transaction (`ids_for`) or inside the caller's write
transaction (`ids_within`, then `remember` once it committed), so a rolled-back write can never
leave an id in the cache that the database does not hold.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Connection, select

from runyard.store import fastsql, schema
from runyard.store.database import Database


class KeyRegistry:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()

    def ids_for(self, names: Iterable[str]) -> dict[str, int]:
        """Ids for `names`, interning the ones never seen before."""
        wanted = set(names)
        missing = [n for n in wanted if n not in self._ids]
        if missing:
            self._load(missing, create=True)
        return {n: self._ids[n] for n in wanted}

    def ids_within(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Ids for `names`, interning new ones in the caller's (write) transaction `conn`.

        New ids are not cached: pass the result to `remember` after that transaction committed.
        Names are inserted in sorted order, so two transactions interning the same new names on
        PostgreSQL wait for each other instead of deadlocking.
        """
        wanted = set(names)
        known = self._ids
        missing = sorted(n for n in wanted if n not in known)
        if not missing:
            return {n: known[n] for n in wanted}
        fastsql.insert_rows(conn, "INSERT INTO keys (name)", [(n,) for n in missing], "ON CONFLICT (name) DO NOTHING")
        test, params = fastsql.one_of(conn, missing)
        found = dict(fastsql.execute(conn, f"SELECT name, key_id FROM keys WHERE name {test}", params).fetchall())
        return {n: known[n] if n in known else found[n] for n in wanted}

    def remember(self, ids: dict[str, int]) -> None:
        """Cache ids that are committed (see `ids_within`)."""
        if any(n not in self._ids for n in ids):
            self._remember((key_id, name) for name, key_id in ids.items())

    def cached_ids(self, names: Iterable[str]) -> dict[str, int] | None:
        """Ids for `names` if every one is already known to this process (no database access), else None."""
        ids = self._ids
        try:
            return {n: ids[n] for n in names}
        except KeyError:
            return None

    def existing_id(self, name: str) -> int | None:
        """The id of `name` if any run ever used it (for searches: no write)."""
        if name not in self._ids:
            self._load([name], create=False)
        return self._ids.get(name)

    def names_for(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = set(ids)
        missing = [i for i in wanted if i not in self._names]
        if missing:
            with self._db.read() as conn:
                rows = conn.execute(
                    select(schema.keys.c.key_id, schema.keys.c.name).where(schema.keys.c.key_id.in_(missing))
                ).all()
            self._remember(rows)
        return {i: self._names[i] for i in wanted if i in self._names}

    def _load(self, names: list[str], *, create: bool) -> None:
        if create:
            with self._db.write() as conn:
                ids = self.ids_within(conn, names)
            self.remember(ids)
            return
        table = schema.keys
        with self._db.read() as conn:
            rows = conn.execute(select(table.c.key_id, table.c.name).where(table.c.name.in_(names))).all()
        self._remember(rows)

    def _remember(self, rows: Iterable[tuple[int, str]]) -> None:
        with self._lock:
            for key_id, name in rows:
                self._ids[name] = key_id
                self._names[key_id] = name
