"""Questions the MLflow auth API asks about principals that the accounts and grants services do not
answer on their own: does a password match (self-service password change), is someone a workspace
administrator (MANAGE on the workspace), does someone hold a role in a workspace, and what may a
principal do with one experiment or registered model (`users/permissions/get`)."""

from __future__ import annotations

from runyard.domain.entities import Workspace
from runyard.domain.identity import Principal
from runyard.domain.permissions import DENY, EXPERIMENT, MANAGE, READ, WORKSPACE
from runyard.services.identity.passwords import verify_secret
from runyard.services.identity.service import Identity
from runyard.store import experiments as experiment_store
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.identity import principals as principal_store
from runyard.store.identity import roles as role_store


class Directory:
    def __init__(self, db: Database, identity: Identity) -> None:
        self._db = db
        self._identity = identity

    def workspace(self, name: str) -> Workspace | None:
        with self._db.read() as conn:
            return ws_store.get_by_name(conn, name)

    def password_matches(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s current password (argon2 verify; constant-time)."""
        with self._db.read() as conn:
            found = principal_store.password_hash(conn, name)
        return found is not None and verify_secret(found[1], password)

    def is_workspace_admin(self, principal: Principal, workspace_name: str) -> bool:
        """A global admin, or MANAGE on the workspace itself (a grant or a role permission) and no DENY."""
        if principal.is_admin:
            return True
        workspace = self.workspace(workspace_name)
        if workspace is None:
            return False
        rows = self._identity.permissions.rows(principal.id, workspace, None, fresh=True)
        levels = [g.level for g in rows.grants if g.resource_type == WORKSPACE]
        return bool(levels) and DENY not in levels and max(levels) >= MANAGE

    def admin_workspaces(self, principal: Principal) -> set[str]:
        with self._db.read() as conn:
            names = [w.name for w in ws_store.list_all(conn)]
        return {name for name in names if self.is_workspace_admin(principal, name)}

    def role_workspaces(self, principal: Principal) -> set[str]:
        """The workspaces in which `principal` holds at least one role."""
        with self._db.read() as conn:
            return {role.workspace for role in role_store.roles_of(conn, principal.id)}

    def level(self, principal: Principal, workspace_name: str, kind: str, resource_id: str) -> int:
        """`principal`'s effective level on one experiment (by id) or registered model (by name) in
        the workspace, by the same rule the request checks use (an unknown resource: what the
        matching wildcard grants or the default would give)."""
        if principal.is_admin:
            return MANAGE
        workspace = self.workspace(workspace_name)
        if workspace is None:
            return 0
        name = resource_id
        if kind == EXPERIMENT:
            name = self._experiment_name(workspace, resource_id) or ""
        access = self._identity.access(principal, READ)
        return access.level(workspace, kind, resource_id, name, fresh=True)

    def _experiment_name(self, workspace: Workspace, experiment_id: str) -> str | None:
        if not experiment_id.isdigit():
            return None
        with self._db.read() as conn:
            found = experiment_store.get(conn, workspace.id, int(experiment_id))
        return found.name if found is not None else None

    def role_permission_workspace(self, permission_id: int) -> str | None:
        """The workspace of the role that holds role permission `permission_id` (None: no such row)."""
        with self._db.read() as conn:
            found = role_store.get_permission(conn, permission_id)
            role = role_store.get(conn, found.role_id) if found is not None else None
        return role.workspace if role is not None else None
