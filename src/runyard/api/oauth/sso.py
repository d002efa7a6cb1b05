"""`/login/sso` and `/login/sso/callback`: single sign-on through the upstream OpenID provider
(`--oidc-issuer`). The first sends the browser to the provider; the second, where the provider
sends it back, starts a browser session and returns to `next` — or shows one page saying what went
wrong (an unknown or spent state, the provider's `error=`, a refused account), never a traceback.

The state is bound to the browser that started the sign-in: `/login/sso` sets it in a short-lived
HttpOnly cookie, and the callback refuses a state that browser did not start — so an attacker
cannot sign a victim's browser in as the attacker by sending it a callback URL of their own
(login CSRF, RFC 6749 §10.12)."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from runyard.api.authentication import client_address
from runyard.api.http import call
from runyard.api.oauth import pages
from runyard.api.oauth.forms import issuer, query
from runyard.api.routing import Endpoint, services
from runyard.services.identity.oauth.upstream import SignInRefused, UpstreamSignIn

TITLE = "Single sign-on"
CALLBACK_PATH = "/login/sso/callback"
STATE_COOKIE = "runyard_sso_state"
STATE_COOKIE_SECONDS = 600
_PROVIDER_ERRORS = {
    "access_denied": "The sign-in was cancelled or refused at the provider.",
    "login_required": "The provider needs you to sign in there first.",
    "consent_required": "The provider needs your consent for this server.",
    "temporarily_unavailable": "The provider is unavailable right now. Try again later.",
}


NOT_CONFIGURED = "Single sign-on is not configured on this server."


def _sso(request: Request) -> UpstreamSignIn | None:
    sso: UpstreamSignIn | None = services(request).identity.sso
    return sso


def _refused(e: SignInRefused) -> Response:
    return pages.message_page(TITLE, e.message, e.status)


def redirect_uri(request: Request) -> str:
    return issuer(request) + CALLBACK_PATH


@pages.sign_in_page(TITLE)
async def start(request: Request) -> Response:
    sso = _sso(request)
    if sso is None:
        return pages.message_page(TITLE, NOT_CONFIGURED, 404)
    params = query(request)
    try:
        url = await call(sso.begin, pages.local_next(params.get("next")), redirect_uri(request))
    except SignInRefused as e:
        return _refused(e)
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    state = dict(parse_qsl(urlsplit(url).query)).get("state", "")
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_COOKIE_SECONDS,
        path="/login/sso",
        samesite="lax",
        secure=pages.secure(request),
        httponly=True,
    )
    return response


def _started_here(request: Request, state: str) -> bool:
    started = request.cookies.get(STATE_COOKIE, "")
    return bool(started) and hmac.compare_digest(started.encode(), state.encode())


@pages.sign_in_page(TITLE)
async def callback(request: Request) -> Response:
    sso = _sso(request)
    if sso is None:
        return pages.message_page(TITLE, NOT_CONFIGURED, 404)
    params = query(request)
    state = params.get("state", "")
    error = params.get("error")
    if error is not None:
        await call(sso.cancel, state)
        text = _PROVIDER_ERRORS.get(error, f"The provider refused the sign-in ({error[:80]}).")
        return pages.message_page(TITLE, f"{text} You are not signed in here.", 400)
    code = params.get("code", "")
    if not code or not state:
        return pages.message_page(TITLE, "The provider's answer lacks its code or state. Start the sign-in again.", 400)
    if not _started_here(request, state):
        return pages.message_page(
            TITLE, "This sign-in was not started in this browser (or it took too long). Start it again.", 400
        )
    source = client_address(request)
    try:
        finished = await call(sso.finish, state, code, redirect_uri(request), source)
    except SignInRefused as e:
        return _refused(e)
    identity = services(request).identity
    cookie = await call(identity.sessions.start, finished.principal, sso.method, source)
    response = RedirectResponse(finished.next_path, status_code=303, headers={"Cache-Control": "no-store"})
    pages.set_session_cookie(response, request, cookie)
    response.delete_cookie(STATE_COOKIE, path="/login/sso", samesite="lax", secure=pages.secure(request), httponly=True)
    return response


ENDPOINTS = [
    Endpoint("GET", "/login/sso", start, "public"),
    Endpoint("GET", CALLBACK_PATH, callback, "public"),
]
