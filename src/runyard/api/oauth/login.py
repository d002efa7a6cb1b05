"""`/login` (a form with `username` and `password`; the web UI shares it) and `/logout`.

A successful sign-in starts a browser session (HttpOnly, SameSite=Lax cookie; Secure over HTTPS)
and returns to `next` — a path on this server only, typically the authorization request that sent
the user here. The form is CSRF-protected by the double-submit cookie; wrong passwords count toward
the failure limiter and are audited like any other; the answer never says which part was wrong."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from runyard.api.authentication import client_address
from runyard.api.http import call
from runyard.api.oauth import pages
from runyard.api.oauth.forms import OAuthError, form, query
from runyard.api.routing import Endpoint, services
from runyard.api.security import SESSION_COOKIE
from runyard.api.session_cookie import browser_session
from runyard.domain.errors import TooManyFailures, Unauthenticated

TITLE = "Sign in to Runyard"
WRONG = "Invalid user name or password."
EXPIRED_FORM = "The sign-in form expired. Please try again."


def _login_form(request: Request, csrf: str, next_path: str, error: str | None = None, username: str = "") -> str:
    parts = []
    if error:
        parts.append(f'<p class="error" role="alert">{escape(error)}</p>')
    parts.append(
        f'<form method="post" action="/login">{pages.csrf_field(csrf)}'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        f'<label for="username">User name</label>'
        f'<input type="text" id="username" name="username" autocomplete="username" '
        f'value="{escape(username)}" autofocus required>'
        f'<label for="password">Password</label>'
        f'<input type="password" id="password" name="password" autocomplete="current-password" required>'
        f'<button type="submit">Sign in</button></form>'
    )
    sso = services(request).identity.sso
    if sso is not None:
        href = f"/login/sso?next={quote(next_path, safe='')}"
        parts.append(
            f'<hr><a class="button secondary" id="sso" href="{escape(href)}">'
            f"Sign in with {escape(sso.display_name)}</a>"
        )
    if next_path.startswith("/oauth/authorize?"):
        parts.append(
            f'<a class="button secondary" id="cancel" href="{escape(next_path + "&runyard_cancel=1")}">Cancel</a>'
        )
    return "".join(parts)


def _render(
    request: Request, next_path: str, error: str | None = None, status: int = 200, username: str = ""
) -> Response:
    csrf, fresh = pages.csrf_token(request)
    response = pages.page(TITLE, _login_form(request, csrf, next_path, error, username), status)
    if fresh:
        pages.set_csrf_cookie(response, request, csrf)
    return response


@pages.sign_in_page(TITLE, auth_off_status=200)
async def login_page(request: Request) -> Response:
    params = query(request)
    next_path = pages.local_next(params.get("next"))
    signed_in = await browser_session(request)
    if signed_in is not None:
        if next_path != "/login":
            return RedirectResponse(next_path, status_code=303)
        return _signed_in_page(request, signed_in[0].name)
    return _render(request, next_path)


def _signed_in_page(request: Request, name: str) -> Response:
    csrf, fresh = pages.csrf_token(request)
    body = (
        f'<p class="note" id="signed-in">Signed in as <b>{escape(name)}</b>.</p>'
        f'<form method="post" action="/logout">{pages.csrf_field(csrf)}'
        f'<button type="submit" class="secondary">Sign out</button></form>'
    )
    response = pages.page("Runyard", body)
    if fresh:
        pages.set_csrf_cookie(response, request, csrf)
    return response


@pages.sign_in_page(TITLE, auth_off_status=200)
async def login(request: Request) -> Response:
    identity = services(request).identity
    try:
        params = await form(request)
    except OAuthError as e:
        return _render(request, "/login", e.description, 400)
    next_path = pages.local_next(params.get("next"))
    username = params.get("username", "")
    if not pages.form_csrf_ok(request, params):
        return _render(request, next_path, EXPIRED_FORM, 400, username)
    source = client_address(request)
    try:
        principal = await call(identity.authenticator.verify_password, username, params.get("password", ""), source)
    except Unauthenticated:
        return _render(request, next_path, WRONG, 401, username)
    except TooManyFailures as e:
        response = _render(request, next_path, "Too many failed sign-ins. Try again later.", 429, username)
        response.headers.update(e.headers)
        return response
    cookie = await call(identity.sessions.start, principal, "password", source)
    response = RedirectResponse(next_path, status_code=303, headers={"Cache-Control": "no-store"})
    pages.set_session_cookie(response, request, cookie)
    return response


@pages.sign_in_page("Sign out")
async def logout(request: Request) -> Response:
    params = await form(request)
    if not pages.form_csrf_ok(request, params):
        return pages.message_page("Sign out", EXPIRED_FORM, 400)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await call(services(request).identity.sessions.end, cookie, client_address(request))
    response = RedirectResponse("/login", status_code=303)
    pages.clear_session_cookie(response, request)
    return response


ENDPOINTS = [
    Endpoint("GET", "/login", login_page, "public"),
    Endpoint("POST", "/login", login, "public", raw_body=True),
    Endpoint("POST", "/logout", logout, "public", raw_body=True),
]
