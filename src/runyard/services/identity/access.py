"""Authorization: what one authenticated request may do, decided by `runyard.domain.permissions`.

`Access` travels in the request context. Point checks (`require`) evaluate the rule in memory over
the principal's permission rows in the workspace, which each process caches for
`PERMISSIONS_TTL_SECONDS`; a check that would refuse reads them again first, so a new grant works
at once and a revoked one stops within that time. Lists use the same rule as SQL (`readable`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from runyard.domain.entities import Workspace
from runyard.domain.errors import permission_denied
from runyard.domain.identity import Principal
from runyard.domain.permissions import (
    EXPERIMENT,
    FOLDER,
    MANAGE,
    NAMES,
    NO_PERMISSIONS,
    READ,
    Grant,
    effective_level,
    user_folder,
)
from runyard.domain.workspaces import DEFAULT_WORKSPACE, NAMING_PATH
from runyard.store import schema
from runyard.store.database import Database
from runyard.store.identity import access_sql
from runyard.store.identity import grants as grant_store

PERMISSIONS_TTL_SECONDS = 3.0


@dataclass(frozen=True)
class _Rows:
    grants: tuple[Grant, ...]
    member: bool
    loaded_at: float


class ExperimentNames:
    """Per process: experiment id → name, for the checks that need it (folder grants and the
    `/Users/<name>/` folders of `path` workspaces) when the caller found only a run or a logged
    model. Kept for `PERMISSIONS_TTL_SECONDS` like the permission rows; a rename in this process
    forgets the entry at once."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._names: dict[int, tuple[str, float]] = {}

    def name(self, experiment_id: int, conn: Connection | None) -> str:
        cached = self._names.get(experiment_id)
        if cached is not None and time.monotonic() - cached[1] < PERMISSIONS_TTL_SECONDS:
            return cached[0]
        stmt = select(schema.experiments.c.name).where(schema.experiments.c.experiment_id == experiment_id)
        if conn is not None:
            found = conn.execute(stmt).scalar()
        else:
            with self._db.read() as own:
                found = own.execute(stmt).scalar()
        name = str(found) if found is not None else ""
        if len(self._names) > 100_000:
            self._names.clear()
        self._names[experiment_id] = (name, time.monotonic())
        return name

    def forget(self, experiment_id: int) -> None:
        self._names.pop(experiment_id, None)


class PermissionCache:
    """Per process: (principal, workspace) → the permission rows that apply and membership."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._rows: dict[tuple[int, int], _Rows] = {}
        self._lock = threading.Lock()
        self.names = ExperimentNames(db)

    def rows(self, principal_id: int, workspace: Workspace, conn: Connection | None, *, fresh: bool = False) -> _Rows:
        key = (principal_id, workspace.id)
        cached = self._rows.get(key)
        if cached is not None and not fresh and time.monotonic() - cached.loaded_at < PERMISSIONS_TTL_SECONDS:
            return cached
        if conn is not None:
            loaded = self._load(conn, principal_id, workspace)
        else:
            with self._db.read() as own:
                loaded = self._load(own, principal_id, workspace)
        with self._lock:
            if len(self._rows) > 50_000:
                self._rows.clear()
            self._rows[key] = loaded
        return loaded

    @staticmethod
    def _load(conn: Connection, principal_id: int, workspace: Workspace) -> _Rows:
        grants = grant_store.applicable_grants(conn, principal_id, workspace.id)
        member = (
            workspace.name == DEFAULT_WORKSPACE
            or bool(grants)
            or grant_store.is_member(conn, principal_id, workspace.id)
        )
        return _Rows(grants, member, time.monotonic())

    def forget(self, principal_id: int | None = None) -> None:
        """Drop cached rows (this process's own grant changes take effect at once)."""
        with self._lock:
            if principal_id is None:
                self._rows.clear()
            else:
                for key in [k for k in self._rows if k[0] == principal_id]:
                    del self._rows[key]


@dataclass(frozen=True)
class Access:
    """The principal of a request, the level its route requires, and how to check it."""

    principal: Principal
    need: int
    default: int
    cache: PermissionCache

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    def _owner_prefix(self, workspace: Workspace) -> str | None:
        if workspace.naming == NAMING_PATH and not self.principal.is_service_principal:
            return user_folder(self.principal.name)
        return None

    def is_member(self, workspace: Workspace, conn: Connection | None = None) -> bool:
        if self.is_admin or workspace.name == DEFAULT_WORKSPACE:
            return True
        if self.cache.rows(self.principal.id, workspace, conn).member:
            return True
        return self.cache.rows(self.principal.id, workspace, conn, fresh=True).member

    def level(
        self,
        workspace: Workspace,
        kind: str,
        resource_id: str,
        name: str | None,
        conn: Connection | None = None,
        *,
        fresh: bool = False,
    ) -> int:
        """The caller's effective level on one experiment or registered model. `name` None: an
        experiment's name is read (cached) only if a folder grant or an owned folder could match it;
        a registered model's name is its id."""
        if self.is_admin:
            return MANAGE
        rows = self.cache.rows(self.principal.id, workspace, conn, fresh=fresh)
        if not rows.member:
            return NO_PERMISSIONS
        owner_prefix = self._owner_prefix(workspace)
        if name is None:
            if kind != EXPERIMENT:
                name = resource_id
            elif owner_prefix is not None or any(g.resource_type == FOLDER for g in rows.grants):
                name = self.cache.names.name(int(resource_id), conn)
            else:
                name = ""
        return effective_level(rows.grants, kind, resource_id, name, default=self.default, owner_prefix=owner_prefix)

    def allows(
        self,
        workspace: Workspace,
        kind: str,
        resource_id: str,
        name: str | None,
        level: int | None = None,
        conn: Connection | None = None,
    ) -> bool:
        wanted = self.need if level is None else level
        if self.level(workspace, kind, resource_id, name, conn) >= wanted:
            return True
        return self.level(workspace, kind, resource_id, name, conn, fresh=True) >= wanted

    def require(
        self,
        workspace: Workspace,
        kind: str,
        resource_id: str,
        name: str | None,
        level: int | None = None,
        conn: Connection | None = None,
    ) -> None:
        """PERMISSION_DENIED unless the caller holds `level` (default: the route's) on the resource."""
        wanted = self.need if level is None else level
        if not self.allows(workspace, kind, resource_id, name, wanted, conn):
            what = "experiment" if kind == "experiment" else "registered model"
            raise permission_denied(
                f"Permission denied: {self.principal.name} lacks {NAMES[wanted]} on {what} '{resource_id}'."
            )

    def allows_experiment(
        self,
        workspace: Workspace,
        experiment_id: int | str,
        name: str | None = None,
        level: int | None = None,
        conn: Connection | None = None,
    ) -> bool:
        """`allows` for an experiment by id — the check of runs and logged models."""
        return self.allows(workspace, EXPERIMENT, str(int(experiment_id)), name, level, conn)

    def require_experiment(
        self,
        workspace: Workspace,
        experiment_id: int | str,
        name: str | None = None,
        level: int | None = None,
        conn: Connection | None = None,
    ) -> None:
        """`require` for an experiment by id."""
        self.require(workspace, EXPERIMENT, str(int(experiment_id)), name, level, conn)

    def grant_creator(self, conn: Connection, workspace: Workspace, kind: str, resource_id: str) -> None:
        """The creator of an experiment or registered model gets MANAGE on it, in the creating
        transaction."""
        grant_store.put(
            conn,
            workspace_id=workspace.id,
            principal_id=self.principal.id,
            resource_type=kind,
            pattern=resource_id,
            level=MANAGE,
        )
        self.cache.forget(self.principal.id)

    def readable(self, workspace: Workspace, kind: str, id_column: Any, name_column: Any, level: int = READ) -> Any:
        """A SQL condition selecting the rows the caller may `level` (None: an admin sees everything)."""
        if self.is_admin:
            return None
        return access_sql.at_least(
            level,
            principal_id=self.principal.id,
            workspace_id=workspace.id,
            kind=kind,
            id_column=id_column,
            name_column=name_column,
            default=self.default,
            owner_prefix=self._owner_prefix(workspace),
        )
