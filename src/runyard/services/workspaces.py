"""Workspaces: request routing (resolve a name to a workspace), and administration (create, list,
update, delete) shared by the REST API and the `runyard workspace` command."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Connection, exc

from runyard.domain.entities import Workspace
from runyard.domain.errors import MlflowError, already_exists, invalid, not_found
from runyard.domain.workspaces import (
    DEFAULT_PATH_ROOTS,
    DEFAULT_WORKSPACE,
    NAMING_PATH,
    normalise_roots,
    validate_naming,
    validate_workspace_name,
)
from runyard.services.artifact_roots import normalise_root
from runyard.services.artifacts import ArtifactService
from runyard.services.context import now_ms
from runyard.services.identity.access import Access
from runyard.store import workspace_contents
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.identity import grants as grant_store

# Workspace rows change rarely; a short cache keeps the lookup off every request's hot path.
_CACHE_SECONDS = 5.0
DELETE_MODES = ("RESTRICT", "CASCADE")

__all__ = ["DEFAULT_WORKSPACE", "WorkspaceService"]


class WorkspaceService:
    def __init__(self, db: Database, artifacts: ArtifactService) -> None:
        self._db = db
        self._artifacts = artifacts
        self._cache: dict[str, tuple[float, Workspace]] = {}
        self._lock = threading.Lock()

    # --- routing ------------------------------------------------------------------------------

    def resolve(self, name: str | None, *, fresh: bool = False) -> Workspace:
        """The workspace a request addresses (`default` when none is named).

        From a short per-process cache unless `fresh`: a call that names a run, experiment or model
        finds it gone with its workspace, and the others check the workspace in their own
        transaction (`context.require_workspace`), so a deletion by another process is seen at once."""
        name = (name or "").strip() or DEFAULT_WORKSPACE
        hit = None if fresh else self._cache.get(name)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        # A name no workspace can have is a bad request (400), as in the reference; only a
        # well-formed one is looked up (404 if there is none).
        validate_workspace_name(name)
        with self._db.read() as conn:
            workspace = ws_store.get_by_name(conn, name)
        if workspace is None:
            raise not_found(f"Workspace '{name}' not found")
        with self._lock:
            self._cache[name] = (time.monotonic() + _CACHE_SECONDS, workspace)
        return workspace

    def forget(self, name: str | None) -> None:
        """Drop a cached workspace (found deleted): the next request resolves its name again."""
        self._forget((name or "").strip() or DEFAULT_WORKSPACE)

    def replaced(self, workspace: Workspace) -> bool:
        """Whether `workspace` (as a request resolved it, maybe from the cache) is no longer the one
        of its name: deleted, or deleted and created again (a new id). Then it is forgotten, and the
        caller resolves the name again. One indexed read, for answers that found nothing."""
        with self._db.read() as conn:
            current = ws_store.get_by_name(conn, workspace.name)
        if current is not None and current.id == workspace.id:
            return False
        self._forget(workspace.name)
        return True

    def cached(self, name: str | None) -> Workspace | None:
        """The workspace `resolve` would answer, if it can do so without the database; else None."""
        hit = self._cache.get((name or "").strip() or DEFAULT_WORKSPACE)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def _forget(self, name: str) -> None:
        with self._lock:
            self._cache.pop(name, None)

    # --- administration -----------------------------------------------------------------------

    def list_all(self) -> list[Workspace]:
        with self._db.read() as conn:
            return ws_store.list_all(conn)

    def list_visible(self, access: Access | None) -> list[Workspace]:
        """The workspaces the caller may see: all with authentication off or for an administrator,
        else those it is a member of (and `default`, everyone's)."""
        if access is None or access.is_admin:
            return self.list_all()
        with self._db.read() as conn:
            return ws_store.list_among(conn, grant_store.member_workspace_ids(access.principal.id), DEFAULT_WORKSPACE)

    def get(self, name: str, access: Access | None = None) -> Workspace:
        """The workspace `name`; one the caller is not a member of answers as one that does not exist."""
        validate_workspace_name(name)
        with self._db.read() as conn:
            workspace = ws_store.get_by_name(conn, name)
            if workspace is not None and access is not None and not access.is_member(workspace, conn):
                workspace = None
        if workspace is None:
            raise not_found(f"Workspace '{name}' not found")
        return workspace

    def create(
        self,
        name: str,
        *,
        description: str | None = None,
        naming: str = "flat",
        artifact_root: str | None = None,
        path_roots: tuple[str, ...] | list[str] | None = None,
        operator: bool = False,
    ) -> Workspace:
        """`operator`: the caller is the command line, which may set an artifact root anywhere
        (the REST API only inside the artifact destination or the allow-list; see `artifact_roots`)."""
        if name == DEFAULT_WORKSPACE:
            raise invalid(f"The '{DEFAULT_WORKSPACE}' workspace is reserved and cannot be created")
        validate_workspace_name(name)
        validate_naming(naming)
        roots: tuple[str, ...] = ()
        if naming == NAMING_PATH:
            roots = normalise_roots(path_roots or DEFAULT_PATH_ROOTS)
        elif path_roots:
            raise invalid("Path roots only apply to workspaces with path naming.")
        artifact_root = normalise_root(artifact_root)
        try:
            with self._db.write() as conn:
                if ws_store.get_by_name(conn, name) is not None:
                    raise already_exists(f"Workspace '{name}' already exists.")
                if artifact_root is not None:
                    self._check_root(conn, name, artifact_root, operator=operator)
                ws_store.insert(
                    conn,
                    name=name,
                    description=description,
                    naming=naming,
                    artifact_root=artifact_root,
                    path_roots=roots,
                    now=now_ms(),
                )
                if artifact_root is None:
                    # After the insert: a concurrent create of the name waits on its unique key and
                    # fails, so it cannot empty the folder of the workspace that won.
                    self._artifacts.clear_leftovers(name)
        except exc.IntegrityError:
            raise already_exists(f"Workspace '{name}' already exists.") from None
        return self.get(name)

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        artifact_root: str | None = None,
        operator: bool = False,
    ) -> Workspace:
        """`operator`: as for `create`."""
        if description is None and artifact_root is None:
            raise invalid("Workspace update must have at least one key")
        validate_workspace_name(name)
        values: dict[str, object] = {}
        if description is not None:
            values["description"] = description
        if artifact_root is not None:
            values["artifact_root"] = normalise_root(artifact_root)
        with self._db.write() as conn:
            workspace = ws_store.get_by_name(conn, name)
            if workspace is None:
                raise not_found(f"Workspace '{name}' not found")
            if artifact_root is not None and workspace_contents.count_experiments(conn, workspace.id):
                raise invalid(
                    f"Cannot change the artifact root of workspace '{name}': it already holds experiments "
                    "whose artifacts live under the current root."
                )
            new_root = values.get("artifact_root")
            if isinstance(new_root, str):
                self._check_root(conn, name, new_root, operator=operator)
            ws_store.update_fields(conn, workspace.id, now_ms(), **values)
        self._forget(name)
        return self.get(name)

    def delete(self, name: str, mode: str = "RESTRICT") -> None:
        """RESTRICT refuses a workspace that still holds anything; CASCADE deletes its contents too."""
        if mode not in DELETE_MODES:
            raise invalid(f"Invalid deletion mode '{mode}'. Expected one of {', '.join(DELETE_MODES)}.")
        if name == DEFAULT_WORKSPACE:
            raise invalid(f"The '{DEFAULT_WORKSPACE}' workspace is reserved and cannot be deleted")
        validate_workspace_name(name)
        with self._db.write() as conn:
            workspace = ws_store.get_by_name(conn, name)
            if workspace is None:
                raise not_found(f"Workspace '{name}' not found")
            workspace_contents.lock(conn, workspace.id)
            if not ws_store.exists(conn, workspace.id):  # a concurrent deletion won the lock
                raise not_found(f"Workspace '{name}' not found")
            held = workspace_contents.summary(conn, workspace.id)
            if held and mode == "RESTRICT":
                listing = ", ".join(f"{count} {what}" for what, count in held.items())
                raise MlflowError(
                    f"Cannot delete workspace '{name}': it still holds {listing}. "
                    "Delete them first, or delete with mode=CASCADE (`runyard workspace delete --force`).",
                    "INVALID_STATE",
                )
            workspace_contents.delete_all(conn, workspace.id)
            # Grants, roles and role members go with it: a new workspace of the name starts with none.
            grant_store.delete_for_workspace(conn, workspace.id)
            ws_store.delete_row(conn, workspace.id)
        self._forget(name)
        self._artifacts.drop_workspace(workspace)

    def _check_root(self, conn: Connection, name: str, root: str, *, operator: bool) -> None:
        others = [(w.name, w.artifact_root) for w in ws_store.list_all(conn)]
        self._artifacts.policy.check(name, root, operator=operator, others=others)

    # --- housekeeping -------------------------------------------------------------------------

    def purge_stale_uploads(self) -> int:
        """Remove upload left-overs (crashes, abandoned multipart uploads) in every workspace's folder."""
        return self._artifacts.purge_stale_uploads(self.list_all())
