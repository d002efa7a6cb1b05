"""Identity entities: principals (users and service principals), personal access tokens, roles,
grants and audit events — plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

USER: Final = "user"
SERVICE_PRINCIPAL: Final = "service_principal"

MIN_PASSWORD_LENGTH: Final = 12
ADMIN_USERNAME: Final = "admin"
TOKEN_PREFIX: Final = "ryd_pat_"
CLIENT_ID_PREFIX: Final = "ryd_sp_"


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a user or a service principal (one namespace of names)."""

    id: int
    name: str
    kind: str
    is_admin: bool
    enabled: bool
    credential_version: int
    creation_time: int
    last_update_time: int
    client_id: str | None = None

    @property
    def is_service_principal(self) -> bool:
        return self.kind == SERVICE_PRINCIPAL


@dataclass(frozen=True)
class AccessToken:
    """A personal access token's record (the token itself is shown once and stored as a hash)."""

    id: str
    principal_id: int
    principal_name: str
    name: str
    creation_time: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None

    def usable(self, now: int) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class GrantRecord:
    """A grant as stored: to one principal, in one workspace, on one resource pattern."""

    id: int
    workspace: str
    principal: str
    resource_type: str
    pattern: str
    level: int


@dataclass(frozen=True)
class Role:
    id: int
    workspace: str
    name: str
    description: str | None


@dataclass(frozen=True)
class RolePermission:
    id: int
    role_id: int
    resource_type: str
    pattern: str
    level: int


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: int
    actor: str | None
    source: str | None
    action: str
    resource: str | None
    outcome: str
    detail: str | None


def validate_password(password: str) -> None:
    """At least MIN_PASSWORD_LENGTH characters (raises INVALID_PARAMETER_VALUE, never echoing it)."""
    from runyard.domain.errors import invalid

    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(f"A password must have at least {MIN_PASSWORD_LENGTH} characters.")
