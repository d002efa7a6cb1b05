"""Accounts: users and service principals (one namespace of names), their passwords, client secrets
and personal access tokens. Every change is one transaction with its audit event."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, exc

from runyard.domain.errors import RESOURCE_DOES_NOT_EXIST, MlflowError, already_exists, invalid
from runyard.domain.identity import (
    SERVICE_PRINCIPAL,
    USER,
    AccessToken,
    Principal,
    validate_password,
)
from runyard.domain.oauth import client_redirect_uri_problem
from runyard.services.context import now_ms
from runyard.services.identity.audit import Actor, AuditLog
from runyard.services.identity.passwords import hash_secret
from runyard.services.identity.secrets import new_client_id, new_client_secret, new_token, token_digest
from runyard.store.database import Database
from runyard.store.identity import oauth as oauth_store
from runyard.store.identity import principals as principal_store
from runyard.store.identity import tokens as token_store

MAX_NAME_LENGTH = 256


@dataclass(frozen=True)
class IssuedToken:
    """A personal access token as created: the token itself is in here and nowhere else."""

    id: str
    token: str
    expires_at: int | None


@dataclass(frozen=True)
class IssuedSecret:
    name: str
    client_id: str
    client_secret: str


def validate_principal_name(name: str | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid("A user name must not be empty.")
    if len(name) > MAX_NAME_LENGTH or any(c in name for c in ":\x00\r\n\t") or name != name.strip():
        raise invalid(
            f"Invalid user name '{name[:MAX_NAME_LENGTH]}': at most {MAX_NAME_LENGTH} characters, no colon, "
            "control characters or surrounding spaces."
        )
    return name


def validate_redirect_uris(uris: Sequence[str]) -> tuple[str, ...]:
    """Absolute http(s) URLs without fragments, duplicates dropped (INVALID_PARAMETER_VALUE otherwise)."""
    seen: list[str] = []
    for uri in uris:
        problem = client_redirect_uri_problem(uri)
        if problem is not None:
            raise invalid(f"Invalid redirect URI '{uri[:200]}': {problem}.")
        if uri not in seen:
            seen.append(uri)
    return tuple(seen)


def _uris_detail(uris: Sequence[str]) -> str | None:
    return " ".join(uris)[:1000] if uris else None


def no_such_principal(name: str) -> MlflowError:
    return MlflowError(f"User with username={name} not found", RESOURCE_DOES_NOT_EXIST)


class AccountService:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    # --- lookups ------------------------------------------------------------------------------

    def require(self, conn: Connection, name: str) -> Principal:
        found = principal_store.get_by_name(conn, name)
        if found is None:
            raise no_such_principal(name)
        return found

    def get(self, name: str) -> Principal:
        with self._db.read() as conn:
            return self.require(conn, name)

    def get_by_id(self, principal_id: int) -> Principal | None:
        with self._db.read() as conn:
            return principal_store.get(conn, principal_id)

    def list(self, kind: str | None = None) -> Sequence[Principal]:
        with self._db.read() as conn:
            return principal_store.list_all(conn, kind)

    def count(self) -> int:
        with self._db.read() as conn:
            return principal_store.count(conn)

    # --- users --------------------------------------------------------------------------------

    def create_user(self, actor: Actor, name: str, password: str, *, is_admin: bool = False) -> Principal:
        validate_principal_name(name)
        validate_password(password)
        hashed = hash_secret(password)
        try:
            with self._db.write() as conn:
                if principal_store.get_by_name(conn, name) is not None:
                    raise already_exists(f"User '{name}' already exists.")
                principal_store.insert(
                    conn, name=name, kind=USER, password_hash=hashed, is_admin=is_admin, now=now_ms()
                )
                self._audit.record(actor, "user.create", name, detail="admin" if is_admin else None, conn=conn)
                return self.require(conn, name)
        except exc.IntegrityError:
            raise already_exists(f"User '{name}' already exists.") from None

    def set_password(self, actor: Actor, name: str, password: str) -> None:
        validate_password(password)
        hashed = hash_secret(password)
        with self._db.write() as conn:
            principal = self.require(conn, name)
            if principal.kind != USER:
                raise invalid(f"'{name}' is a service principal: rotate its secret instead.")
            principal_store.set_password(conn, principal.id, hashed, now_ms())
            self._audit.record(actor, "user.password", name, conn=conn)

    def set_admin(self, actor: Actor, name: str, is_admin: bool) -> None:
        with self._db.write() as conn:
            principal = self.require(conn, name)
            principal_store.set_admin(conn, principal.id, is_admin, now_ms())
            self._audit.record(actor, "user.admin", name, detail=str(is_admin).lower(), conn=conn)

    def set_enabled(self, actor: Actor, name: str, enabled: bool) -> None:
        with self._db.write() as conn:
            principal = self.require(conn, name)
            principal_store.set_enabled(conn, principal.id, enabled, now_ms())
            self._audit.record(actor, "user.enable" if enabled else "user.disable", name, conn=conn)

    def delete(self, actor: Actor, name: str) -> None:
        with self._db.write() as conn:
            principal = self.require(conn, name)
            principal_store.delete_principal(conn, principal.id)
            self._audit.record(actor, "user.delete", name, conn=conn)

    # --- service principals -------------------------------------------------------------------

    def create_service_principal(self, actor: Actor, name: str, redirect_uris: Sequence[str] = ()) -> IssuedSecret:
        """A service principal; with `redirect_uris`, also a confidential client of the
        authorization-code flow (an application signing its users in through this server)."""
        validate_principal_name(name)
        uris = validate_redirect_uris(redirect_uris)
        client_id, secret = new_client_id(), new_client_secret()
        hashed = hash_secret(secret)
        try:
            with self._db.write() as conn:
                if principal_store.get_by_name(conn, name) is not None:
                    raise already_exists(f"User '{name}' already exists.")
                principal_id = principal_store.insert(
                    conn,
                    name=name,
                    kind=SERVICE_PRINCIPAL,
                    password_hash=None,
                    is_admin=False,
                    now=now_ms(),
                    client_id=client_id,
                    secret_hash=hashed,
                )
                if uris:
                    oauth_store.set_redirect_uris(conn, principal_id, json.dumps(list(uris)))
                self._audit.record(actor, "sp.create", name, detail=_uris_detail(uris), conn=conn)
        except exc.IntegrityError:
            raise already_exists(f"User '{name}' already exists.") from None
        return IssuedSecret(name, client_id, secret)

    def set_redirect_uris(self, actor: Actor, name: str, redirect_uris: Sequence[str]) -> tuple[str, ...]:
        """Replace a service principal's redirect URIs (none: it is no longer an authorization-code client)."""
        uris = validate_redirect_uris(redirect_uris)
        with self._db.write() as conn:
            principal = self.require(conn, name)
            if principal.kind != SERVICE_PRINCIPAL:
                raise invalid(f"'{name}' is not a service principal.")
            oauth_store.set_redirect_uris(conn, principal.id, json.dumps(list(uris)) if uris else None)
            self._audit.record(actor, "sp.redirect-uris", name, detail=_uris_detail(uris), conn=conn)
        return uris

    def redirect_uris(self, name: str) -> tuple[str, ...]:
        with self._db.read() as conn:
            principal = self.require(conn, name)
            stored = oauth_store.redirect_uris(conn, principal.id)
        return tuple(json.loads(stored)) if stored else ()

    def rotate_secret(self, actor: Actor, name: str) -> IssuedSecret:
        secret = new_client_secret()
        hashed = hash_secret(secret)
        with self._db.write() as conn:
            principal = self.require(conn, name)
            if principal.kind != SERVICE_PRINCIPAL or principal.client_id is None:
                raise invalid(f"'{name}' is not a service principal.")
            principal_store.set_secret(conn, principal.id, hashed, now_ms())
            self._audit.record(actor, "sp.rotate-secret", name, conn=conn)
        return IssuedSecret(name, principal.client_id, secret)

    # --- personal access tokens ---------------------------------------------------------------

    def create_token(self, actor: Actor, owner: str, label: str, expires_at: int | None) -> IssuedToken:
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_NAME_LENGTH:
            raise invalid(f"A token needs a name of 1 to {MAX_NAME_LENGTH} characters.")
        if expires_at is not None and expires_at <= now_ms():
            raise invalid("A token's expiry must be in the future.")
        token_id, token = new_token()
        with self._db.write() as conn:
            principal = self.require(conn, owner)
            token_store.insert(
                conn,
                token_id=token_id,
                principal_id=principal.id,
                name=label,
                token_hash=token_digest(token),
                now=now_ms(),
                expires_at=expires_at,
            )
            self._audit.record(actor, "token.create", f"token {token_id} of {owner}", detail=label, conn=conn)
        return IssuedToken(token_id, token, expires_at)

    def list_tokens(self, owner: str | None = None) -> Sequence[AccessToken]:
        with self._db.read() as conn:
            principal_id = self.require(conn, owner).id if owner is not None else None
            return token_store.list_tokens(conn, principal_id)

    def get_token(self, token_id: str) -> AccessToken | None:
        with self._db.read() as conn:
            return token_store.get(conn, token_id)

    def revoke_token(self, actor: Actor, token_id: str, *, owner: str | None = None) -> None:
        """Revoke token `token_id` (`owner`: only if it belongs to that principal — a user revoking
        their own; another's token answers as missing)."""
        with self._db.write() as conn:
            token = token_store.get(conn, token_id)
            if token is None or (owner is not None and token.principal_name != owner):
                raise MlflowError(f"Token '{token_id}' not found", RESOURCE_DOES_NOT_EXIST)
            token_store.revoke(conn, token_id, now_ms())
            self._audit.record(actor, "token.revoke", f"token {token_id} of {token.principal_name}", conn=conn)
