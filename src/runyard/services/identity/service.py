"""The identity and access services of one server process, wired together (`Services.identity`)."""

from __future__ import annotations

from runyard.config import Settings
from runyard.domain.identity import Principal
from runyard.domain.permissions import parse_permission
from runyard.services.identity.access import Access, PermissionCache
from runyard.services.identity.accounts import AccountService
from runyard.services.identity.audit import AuditLog
from runyard.services.identity.authenticator import Authenticator
from runyard.services.identity.failures import FailureLimiter
from runyard.services.identity.grants import GrantService
from runyard.services.identity.oauth.device_approval import DeviceApproval
from runyard.services.identity.oauth.server import OAuthServer
from runyard.services.identity.oauth.sessions import BrowserSessions
from runyard.services.identity.oauth.upstream import UpstreamSignIn
from runyard.services.identity.signing import Signer
from runyard.store.database import Database


class Identity:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.enabled = settings.auth_enabled
        self.default_level = parse_permission(settings.default_permission)
        self.audit = AuditLog(db, settings.audit_retention_days)
        self.accounts = AccountService(db, self.audit)
        self.signer = Signer(db, settings.secret_key, settings.access_token_ttl)
        self.limiter = FailureLimiter(settings.auth_failure_limit)
        self.authenticator = Authenticator(db, self.signer, self.limiter, self.audit)
        self.permissions = PermissionCache(db)
        self.grants = GrantService(db, self.accounts, self.audit, self.permissions)
        self.oauth = OAuthServer(db, self.signer, self.audit)
        self.sessions = BrowserSessions(db, self.audit)
        self.device_approval = DeviceApproval(db, self.limiter, self.audit)
        # Single sign-on through an upstream OpenID provider (`--oidc-issuer`); None when not configured.
        self.sso: UpstreamSignIn | None = (
            UpstreamSignIn(db, settings, self.audit, self.permissions) if settings.oidc_issuer is not None else None
        )

    def housekeeping(self) -> None:
        """Periodic clean-up: audit events past retention, expired sign-in state."""
        self.audit.purge()
        self.oauth.purge_expired()

    def access(self, principal: Principal, need: int) -> Access:
        return Access(principal=principal, need=need, default=self.default_level, cache=self.permissions)
