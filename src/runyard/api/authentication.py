"""Who is asking, for every non-public route (with `--auth on`): the credentials in the
`Authorization` header (else the login page's session cookie) are checked (from the per-process
cache on the event loop, else on a worker
thread: a password hash must not block the loop), the route's rule is applied (admin-only routes),
and the request's `Access` is left in its scope for the services' resource checks."""

from __future__ import annotations

from starlette.requests import Request

from runyard.api.http import call
from runyard.api.session_cookie import browser_session
from runyard.domain.access_rules import AccessRule
from runyard.domain.errors import Unauthenticated, permission_denied
from runyard.domain.identity import Principal

ACCESS_SCOPE_KEY = "runyard.access"
PRINCIPAL_SCOPE_KEY = "runyard.principal"


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def authenticate(request: Request) -> Principal | None:
    """The request's principal (None with authentication off); Unauthenticated without valid credentials."""
    identity = request.app.state.services.identity
    if not identity.enabled:
        return None
    known: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if known is not None:
        return known
    authorization = request.headers.get("authorization")
    if not authorization:
        signed_in = await browser_session(request)
        if signed_in is None:
            raise Unauthenticated()
        request.scope[PRINCIPAL_SCOPE_KEY] = signed_in[0]
        return signed_in[0]
    principal: Principal | None = identity.authenticator.cached(authorization)
    if principal is None:
        principal = await call(identity.authenticator.authenticate, authorization, client_address(request))
    request.scope[PRINCIPAL_SCOPE_KEY] = principal
    return principal


async def authorize_request(request: Request, rule: AccessRule) -> None:
    """Apply a non-public route's rule; with authentication off, nothing to do."""
    principal = await authenticate(request)
    if principal is None:
        return
    if rule.admin and not principal.is_admin:
        raise permission_denied(f"Permission denied: {request.method} {request.url.path} is for administrators.")
    request.scope[ACCESS_SCOPE_KEY] = request.app.state.services.identity.access(principal, rule.level)
