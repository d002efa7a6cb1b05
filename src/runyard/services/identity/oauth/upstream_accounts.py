"""Who an upstream provider's validated sign-in is here: the linked principal (issuer + `sub`), or —
at a first sign-in — a new user without a password, linked at once. Then the claim mappings:
administrator by `--oidc-admin-claim`, role memberships by `--oidc-role-claim`, both re-applied at
every sign-in and audited when they change.

A first sign-in whose name (`preferred_username`, else `email`, else `sub`) already belongs to a
principal that is not linked to this upstream user is REFUSED: taking the account over would hand a
local account to whoever controls that name at the provider. An administrator can rename or delete
the local principal, after which the sign-in works."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from runyard.domain.errors import MlflowError
from runyard.domain.identity import USER, Principal
from runyard.domain.sso import RoleName, claim_matches, local_name, plan_role_sync, role_names
from runyard.services.context import now_ms
from runyard.services.identity.access import PermissionCache
from runyard.services.identity.accounts import validate_principal_name
from runyard.services.identity.audit import FAILURE, Actor, AuditLog
from runyard.store import workspaces as ws_store
from runyard.store.database import Database
from runyard.store.identity import principals as principal_store
from runyard.store.identity import roles as role_store
from runyard.store.identity import upstream as upstream_store


class SignInRefused(Exception):
    """A sign-in this server will not complete; the message is for the user's page."""

    def __init__(self, message: str, status: int = 403, *, name: str | None = None, why: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.name = name  # for the audit event: who tried, and why it was refused
        self.why = why


@dataclass(frozen=True)
class ClaimMapping:
    admin_claim: tuple[str, str] | None  # (claim, value)
    role_claim: str | None


def _valid_name(name: str) -> bool:
    try:
        validate_principal_name(name)
    except MlflowError:
        return False
    return True


def _role_ids(conn: Connection, names: list[RoleName]) -> dict[int, RoleName]:
    found: dict[int, RoleName] = {}
    for name in names:
        workspace = ws_store.get_by_name(conn, name.workspace)
        role = role_store.get_by_name(conn, workspace.id, name.role) if workspace is not None else None
        if role is not None:
            found[role.id] = name
    return found


class UpstreamAccounts:
    def __init__(self, db: Database, audit: AuditLog, permissions: PermissionCache, mapping: ClaimMapping) -> None:
        self._db = db
        self._audit = audit
        self._permissions = permissions
        self._mapping = mapping

    def sign_in(self, issuer: str, claims: Mapping[str, object], source: str | None) -> Principal:
        """The local principal of a validated upstream sign-in, its mappings applied (SignInRefused)."""
        subject = str(claims["sub"])
        try:
            try:
                principal = self._sign_in(issuer, subject, claims, source)
            except IntegrityError:
                # A concurrent first sign-in of the same upstream user linked it first: use that link.
                principal = self._sign_in(issuer, subject, claims, source)
        except SignInRefused as e:
            # Recorded outside the sign-in's transaction, which the refusal rolled back.
            self._audit.record(Actor(e.name, source), "auth.failure", f"single sign-on refused: {e.why}", FAILURE)
            raise
        self._permissions.forget(principal.id)
        self._audit.record(Actor(principal.name, source), "auth.sso", f"sign-in through {issuer}", detail=subject)
        return principal

    def _sign_in(self, issuer: str, subject: str, claims: Mapping[str, object], source: str | None) -> Principal:
        with self._db.write() as conn:
            principal_id = upstream_store.linked_principal(conn, issuer, subject)
            principal = principal_store.get(conn, principal_id) if principal_id is not None else None
            if principal is None:
                principal = self._first_sign_in(conn, issuer, subject, claims, source)
            if not principal.enabled:
                raise SignInRefused(
                    f"The account '{principal.name}' is disabled on this server.",
                    name=principal.name,
                    why="the user is disabled",
                )
            principal = self._apply_admin(conn, principal, claims, source)
            self._apply_roles(conn, principal, claims, source)
            return principal

    def _first_sign_in(
        self, conn: Connection, issuer: str, subject: str, claims: Mapping[str, object], source: str | None
    ) -> Principal:
        name = local_name(claims, _valid_name)
        if name is None:
            raise SignInRefused(
                "The provider sent no user name this server can use.", why=f"no usable name for {subject[:80]}"
            )
        if principal_store.get_by_name(conn, name) is not None:
            raise SignInRefused(
                f"An account named '{name}' already exists on this server and is not linked to your sign-in "
                "at the provider, so it cannot be used. Ask an administrator.",
                409,
                name=name,
                why=f"the name belongs to an account not linked to {issuer} subject {subject[:80]}",
            )
        now = now_ms()
        principal_id = principal_store.insert(conn, name=name, kind=USER, password_hash=None, is_admin=False, now=now)
        upstream_store.link(conn, issuer, subject, principal_id, now)
        self._audit.record(
            Actor(name, source), "user.create", name, detail=f"single sign-on through {issuer}", conn=conn
        )
        created = principal_store.get(conn, principal_id)
        assert created is not None
        return created

    def _apply_admin(
        self, conn: Connection, principal: Principal, claims: Mapping[str, object], source: str | None
    ) -> Principal:
        if self._mapping.admin_claim is None:
            return principal
        claim, value = self._mapping.admin_claim
        is_admin = claim_matches(claims, claim, value)
        if is_admin == principal.is_admin:
            return principal
        principal_store.set_admin(conn, principal.id, is_admin, now_ms())
        self._audit.record(
            Actor(principal.name, source),
            "user.admin",
            principal.name,
            detail=f"{str(is_admin).lower()} (single sign-on claim {claim})",
            conn=conn,
        )
        changed = principal_store.get(conn, principal.id)
        assert changed is not None
        return changed

    def _apply_roles(
        self, conn: Connection, principal: Principal, claims: Mapping[str, object], source: str | None
    ) -> None:
        if self._mapping.role_claim is None:
            return
        named = _role_ids(conn, role_names(claims.get(self._mapping.role_claim)))
        members = {role.id: role for role in role_store.roles_of(conn, principal.id)}
        plan = plan_role_sync(named, upstream_store.synced_roles(conn, principal.id), members)
        actor = Actor(principal.name, source)
        for role_id in sorted(plan.assign):
            role_store.assign(conn, role_id, principal.id)
            upstream_store.remember_role(conn, principal.id, role_id)
            self._audit.record(
                actor, "role.assign", f"role {named[role_id]}: {principal.name}", detail="single sign-on", conn=conn
            )
        for role_id in sorted(plan.unassign):
            role_store.unassign(conn, role_id, principal.id)
            role = members[role_id]
            self._audit.record(
                actor,
                "role.unassign",
                f"role {role.workspace}/{role.name}: {principal.name}",
                detail="single sign-on",
                conn=conn,
            )
        for role_id in plan.forget:
            upstream_store.forget_role(conn, principal.id, role_id)
