"""Grants and roles: who may do what in which workspace. Administration (who may change them) is
decided by the caller of these methods — the API layer's rules and the command line (an operator)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, exc

from runyard.domain.entities import Workspace
from runyard.domain.errors import RESOURCE_DOES_NOT_EXIST, MlflowError, already_exists, not_found
from runyard.domain.identity import GrantRecord, Principal, Role, RolePermission
from runyard.domain.permissions import NAMES, grant_target
from runyard.services.context import now_ms
from runyard.services.identity.access import PermissionCache
from runyard.services.identity.accounts import AccountService
from runyard.services.identity.audit import Actor, AuditLog
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.identity import grants as grant_store
from runyard.store.identity import roles as role_store


def _workspace(conn: Connection, name: str) -> Workspace:
    workspace = ws_store.get_by_name(conn, name)
    if workspace is None:
        raise not_found(f"Workspace '{name}' not found")
    return workspace


def _describe(resource_type: str, pattern: str, workspace: str) -> str:
    return f"{resource_type} {pattern} in {workspace}"


class GrantService:
    def __init__(self, db: Database, accounts: AccountService, audit: AuditLog, cache: PermissionCache) -> None:
        self._db = db
        self._accounts = accounts
        self._audit = audit
        self._cache = cache

    # --- grants to one principal --------------------------------------------------------------

    def put(
        self, actor: Actor, principal: str, workspace: str, resource_type: str, pattern: str, level: int
    ) -> GrantRecord:
        """Grant (or change) `principal`'s level on a resource; `level` is a stored permission level."""
        resource_type, pattern = grant_target(resource_type, pattern)
        with self._db.write() as conn:
            who = self._accounts.require(conn, principal)
            where = _workspace(conn, workspace)
            grant_store.put(
                conn,
                workspace_id=where.id,
                principal_id=who.id,
                resource_type=resource_type,
                pattern=pattern,
                level=level,
            )
            self._audit.record(
                actor,
                "grant.put",
                f"{principal}: {_describe(resource_type, pattern, workspace)}",
                detail=NAMES[level],
                conn=conn,
            )
            record = grant_store.get(
                conn, workspace_id=where.id, principal_id=who.id, resource_type=resource_type, pattern=pattern
            )
        self._cache.forget(who.id)
        assert record is not None
        return record

    def put_in(
        self, conn: Connection, principal_id: int, workspace_id: int, resource_type: str, pattern: str, level: int
    ) -> None:
        """Inside a caller's transaction (the creator of an experiment or model gets MANAGE)."""
        grant_store.put(
            conn,
            workspace_id=workspace_id,
            principal_id=principal_id,
            resource_type=resource_type,
            pattern=pattern,
            level=level,
        )
        self._cache.forget(principal_id)

    def get(self, principal: str, workspace: str, resource_type: str, pattern: str) -> GrantRecord:
        resource_type, pattern = grant_target(resource_type, pattern)
        with self._db.read() as conn:
            who = self._accounts.require(conn, principal)
            where = _workspace(conn, workspace)
            record = grant_store.get(
                conn, workspace_id=where.id, principal_id=who.id, resource_type=resource_type, pattern=pattern
            )
        if record is None:
            raise MlflowError(
                f"No permission for {principal} on {_describe(resource_type, pattern, workspace)}",
                RESOURCE_DOES_NOT_EXIST,
            )
        return record

    def remove(self, actor: Actor, principal: str, workspace: str, resource_type: str, pattern: str) -> None:
        resource_type, pattern = grant_target(resource_type, pattern)
        with self._db.write() as conn:
            who = self._accounts.require(conn, principal)
            where = _workspace(conn, workspace)
            if not grant_store.remove(
                conn, workspace_id=where.id, principal_id=who.id, resource_type=resource_type, pattern=pattern
            ):
                raise MlflowError(
                    f"No permission for {principal} on {_describe(resource_type, pattern, workspace)}",
                    RESOURCE_DOES_NOT_EXIST,
                )
            self._audit.record(
                actor, "grant.remove", f"{principal}: {_describe(resource_type, pattern, workspace)}", conn=conn
            )
        self._cache.forget(who.id)

    def list(
        self,
        *,
        principal: str | None = None,
        workspace: str | None = None,
        resource_type: str | None = None,
        pattern: str | None = None,
    ) -> Sequence[GrantRecord]:
        with self._db.read() as conn:
            principal_id = self._accounts.require(conn, principal).id if principal is not None else None
            workspace_id = _workspace(conn, workspace).id if workspace is not None else None
            return grant_store.list_grants(
                conn, principal_id=principal_id, workspace_id=workspace_id, resource_type=resource_type, pattern=pattern
            )

    # --- roles --------------------------------------------------------------------------------

    def create_role(self, actor: Actor, workspace: str, name: str, description: str | None) -> Role:
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise MlflowError("A role needs a name of 1 to 256 characters.")
        try:
            with self._db.write() as conn:
                where = _workspace(conn, workspace)
                if role_store.get_by_name(conn, where.id, name) is not None:
                    raise already_exists(f"Role '{name}' already exists in workspace '{workspace}'.")
                role_id = role_store.insert(
                    conn, workspace_id=where.id, name=name, description=description, now=now_ms()
                )
                self._audit.record(actor, "role.create", f"role {name} in {workspace}", conn=conn)
                role = role_store.get(conn, role_id)
        except exc.IntegrityError:
            raise already_exists(f"Role '{name}' already exists in workspace '{workspace}'.") from None
        assert role is not None
        return role

    def require_role(self, conn: Connection, role_id: int) -> Role:
        role = role_store.get(conn, role_id)
        if role is None:
            raise MlflowError(f"Role with id={role_id} not found", RESOURCE_DOES_NOT_EXIST)
        return role

    def role(self, role_id: int) -> Role:
        with self._db.read() as conn:
            return self.require_role(conn, role_id)

    def role_by_name(self, workspace: str, name: str) -> Role:
        with self._db.read() as conn:
            found = role_store.get_by_name(conn, _workspace(conn, workspace).id, name)
        if found is None:
            raise MlflowError(f"Role '{name}' not found in workspace '{workspace}'", RESOURCE_DOES_NOT_EXIST)
        return found

    def roles(self, workspace: str | None = None) -> Sequence[Role]:
        with self._db.read() as conn:
            return role_store.list_roles(conn, _workspace(conn, workspace).id if workspace is not None else None)

    def update_role(self, actor: Actor, role_id: int, *, name: str | None, description: str | None) -> Role:
        try:
            with self._db.write() as conn:
                role = self.require_role(conn, role_id)
                role_store.update_role(conn, role_id, name=name, description=description)
                self._audit.record(actor, "role.update", f"role {role.name} in {role.workspace}", conn=conn)
                updated = self.require_role(conn, role_id)
        except exc.IntegrityError:
            raise already_exists(f"Role '{name}' already exists in workspace.") from None
        self._cache.forget()
        return updated

    def delete_role(self, actor: Actor, role_id: int) -> None:
        with self._db.write() as conn:
            role = self.require_role(conn, role_id)
            role_store.delete_role(conn, role_id)
            self._audit.record(actor, "role.delete", f"role {role.name} in {role.workspace}", conn=conn)
        self._cache.forget()

    def add_role_permission(
        self, actor: Actor, role_id: int, resource_type: str, pattern: str, level: int
    ) -> RolePermission:
        resource_type, pattern = grant_target(resource_type, pattern)
        with self._db.write() as conn:
            role = self.require_role(conn, role_id)
            existing = role_store.find_permission(conn, role_id, resource_type, pattern)
            if existing is not None:
                raise already_exists(f"Role '{role.name}' already has a permission on {resource_type} {pattern}.")
            permission_id = role_store.add_permission(conn, role_id, resource_type, pattern, level)
            self._audit.record(
                actor,
                "role.permission.add",
                f"role {role.name} in {role.workspace}: {resource_type} {pattern}",
                detail=NAMES[level],
                conn=conn,
            )
            added = role_store.get_permission(conn, permission_id)
        self._cache.forget()
        assert added is not None
        return added

    def require_role_permission(self, conn: Connection, permission_id: int) -> RolePermission:
        found = role_store.get_permission(conn, permission_id)
        if found is None:
            raise MlflowError(f"Role permission with id={permission_id} not found", RESOURCE_DOES_NOT_EXIST)
        return found

    def update_role_permission(self, actor: Actor, permission_id: int, level: int) -> RolePermission:
        with self._db.write() as conn:
            found = self.require_role_permission(conn, permission_id)
            role_store.update_permission(conn, permission_id, level)
            self._audit.record(
                actor, "role.permission.update", f"role permission {permission_id}", detail=NAMES[level], conn=conn
            )
            updated = self.require_role_permission(conn, found.id)
        self._cache.forget()
        return updated

    def remove_role_permission(self, actor: Actor, permission_id: int) -> None:
        with self._db.write() as conn:
            self.require_role_permission(conn, permission_id)
            role_store.remove_permission(conn, permission_id)
            self._audit.record(actor, "role.permission.remove", f"role permission {permission_id}", conn=conn)
        self._cache.forget()

    def role_permissions(self, role_id: int) -> Sequence[RolePermission]:
        with self._db.read() as conn:
            self.require_role(conn, role_id)
            return role_store.permissions(conn, role_id)

    def assign(self, actor: Actor, role_id: int, principal: str) -> None:
        with self._db.write() as conn:
            role = self.require_role(conn, role_id)
            who = self._accounts.require(conn, principal)
            if not role_store.assign(conn, role_id, who.id):
                raise already_exists(f"User '{principal}' already has role '{role.name}'.")
            self._audit.record(actor, "role.assign", f"role {role.name} in {role.workspace}: {principal}", conn=conn)
        self._cache.forget(who.id)

    def unassign(self, actor: Actor, role_id: int, principal: str) -> None:
        with self._db.write() as conn:
            role = self.require_role(conn, role_id)
            who = self._accounts.require(conn, principal)
            if not role_store.unassign(conn, role_id, who.id):
                raise MlflowError(f"User '{principal}' does not have role '{role.name}'.", RESOURCE_DOES_NOT_EXIST)
            self._audit.record(actor, "role.unassign", f"role {role.name} in {role.workspace}: {principal}", conn=conn)
        self._cache.forget(who.id)

    def roles_of(self, principal: str, workspace: str | None = None) -> Sequence[Role]:
        with self._db.read() as conn:
            who = self._accounts.require(conn, principal)
            return role_store.roles_of(conn, who.id, _workspace(conn, workspace).id if workspace is not None else None)

    def members(self, role_id: int) -> Sequence[Principal]:
        with self._db.read() as conn:
            self.require_role(conn, role_id)
            return role_store.members(conn, role_id)
