"""Who is asking and where: the request context every service call receives."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from runyard.domain.entities import Workspace
from runyard.domain.errors import RESOURCE_DOES_NOT_EXIST, MlflowError
from runyard.domain.permissions import READ, REGISTERED_MODEL
from runyard.services.identity.access import Access
from runyard.store import workspaces as ws_store


@dataclass(frozen=True)
class RequestContext:
    """The resolved workspace of a request and, with `--auth on`, what its principal may do
    (`access`; None with auth off, where every check is skipped)."""

    workspace: Workspace
    access: Access | None = None

    @property
    def principal(self) -> str | None:
        return self.access.principal.name if self.access is not None else None

    def authorize(
        self, kind: str, resource_id: str, name: str, level: int | None = None, conn: Connection | None = None
    ) -> None:
        """PERMISSION_DENIED unless the caller may act on the experiment or registered model at `level`
        (default: what the route's rule requires)."""
        if self.access is not None:
            self.access.require(self.workspace, kind, resource_id, name, level, conn)

    def authorize_experiment(
        self,
        experiment_id: int | str,
        name: str | None = None,
        level: int | None = None,
        conn: Connection | None = None,
    ) -> None:
        """PERMISSION_DENIED unless the caller may act on the experiment at `level` (default: the
        route's). `name`: None when the caller found a run or logged model only (then it is read,
        from a per-process cache, only if a folder grant could apply)."""
        if self.access is not None:
            self.access.require_experiment(self.workspace, experiment_id, name, level, conn)

    def may_read_experiment(self, experiment_id: int | str, conn: Connection | None = None) -> bool:
        return self.access is None or self.access.allows_experiment(self.workspace, experiment_id, None, READ, conn)

    def authorize_model(self, name: str, level: int | None = None, conn: Connection | None = None) -> None:
        """PERMISSION_DENIED unless the caller may act on the registered model `name` at `level`."""
        if self.access is not None:
            self.access.require(self.workspace, REGISTERED_MODEL, name, name, level, conn)

    def readable(self, kind: str, id_column: Any, name_column: Any, level: int = READ) -> Any:
        """A SQL condition selecting the rows the caller may `level`, or None (auth off, or an admin)."""
        if self.access is None:
            return None
        return self.access.readable(self.workspace, kind, id_column, name_column, level)

    def forget_permissions(self) -> None:
        """This process's cached permission rows are stale (grants were moved or removed)."""
        if self.access is not None:
            self.access.cache.forget()

    def grant_creator(self, conn: Connection, kind: str, resource_id: str) -> None:
        """Give the caller MANAGE on what it just created (nothing with auth off)."""
        if self.access is not None:
            self.access.grant_creator(conn, self.workspace, kind, resource_id)


def now_ms() -> int:
    return int(time.time() * 1000)


def require_workspace(conn: Connection, ctx: RequestContext) -> None:
    """Refuse (404) a request whose workspace was deleted, by any process, since it was resolved.

    For the calls that name nothing inside the workspace (creating an experiment or a registered
    model, searches): calls on a run, experiment or model find it gone with its workspace anyway.
    One primary-key probe inside the call's own transaction; on PostgreSQL it also holds the row
    (`FOR KEY SHARE`, as the foreign key check of an insert would) until the transaction ends, so a
    concurrent deletion (which locks the row first, see `workspace_contents.lock`) either waits for
    this transaction, and then deletes what it wrote, or has committed, and this probe finds no row."""
    if not ws_store.exists(conn, ctx.workspace.id, hold=True):
        raise workspace_gone(ctx)


def workspace_gone(ctx: RequestContext) -> WorkspaceGone:
    """The error for a request whose workspace is gone (also when a foreign key said so)."""
    return WorkspaceGone(f"Workspace '{ctx.workspace.name}' not found", RESOURCE_DOES_NOT_EXIST)


class WorkspaceGone(MlflowError):
    """The request's workspace (as this process had it cached) no longer exists: RESOURCE_DOES_NOT_EXIST,
    or, if one of that name was created since, a reason to resolve the name again."""
