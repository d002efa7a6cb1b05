"""Who the browser's session cookie (set by the login page) signs in, for the pages and — for a web
UI on the same origin — the API (`api.authentication`; state-changing calls must also pass the
CSRF double-submit check in `api.security`)."""

from __future__ import annotations

from starlette.requests import Request

from runyard.api.http import call
from runyard.api.security import SESSION_COOKIE
from runyard.domain.identity import Principal
from runyard.domain.oauth import BrowserSession


async def browser_session(request: Request) -> tuple[Principal, BrowserSession] | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found: tuple[Principal, BrowserSession] | None = await call(
        request.app.state.services.identity.sessions.find, cookie
    )
    return found
