"""The server-rendered browser pages' shared parts: one HTML shell (no script; a strict Content
Security Policy; no framing), the session and CSRF cookies, the double-submit check for the pages'
forms, and the `next` rule (only a path on this server)."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from runyard.api.oauth.forms import OAuthError
from runyard.api.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, new_csrf_token
from runyard.domain.oauth import SESSION_TTL_SECONDS

# MLflow's UI turns each cookie named `mlflow-request-header-<Name>` into a `<Name>` request header.
MLFLOW_UI_CSRF_COOKIE = f"mlflow-request-header-{CSRF_HEADER}"
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    # Not `no-referrer`: with it, browsers send `Origin: null` on the form posts, which are refused.
    "Referrer-Policy": "same-origin",
}
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;margin:0;color:#1f2328}
main{max-width:380px;margin:10vh auto;background:#fff;border-radius:10px;padding:28px 32px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:20px;margin:0 0 18px}label{display:block;font-size:14px;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px;border:1px solid #c9ccd1;
border-radius:6px;font-size:15px}
button,.button{margin-top:18px;width:100%;padding:10px;border:0;border-radius:6px;background:#2563eb;color:#fff;
font-size:15px;cursor:pointer;text-align:center;text-decoration:none;display:block;box-sizing:border-box}
.secondary{background:#e5e7eb;color:#1f2328}.error{color:#b42318;background:#fef3f2;padding:8px 10px;
border-radius:6px;font-size:14px}.note{color:#57606a;font-size:14px}.code{font-family:monospace;font-size:22px;
letter-spacing:2px}hr{border:0;border-top:1px solid #e5e7eb;margin:20px 0}
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """`body` is HTML the caller built with `escape` for every value it did not write itself."""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · Runyard</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def message_page(title: str, text: str, status: int = 200) -> HTMLResponse:
    return page(title, f'<p class="note">{escape(text)}</p>', status)


PageHandler = Callable[[Request], Awaitable[Response]]
AUTH_OFF_TEXT = "Authentication is off on this server: no sign-in is needed."


def sign_in_page(title: str, *, auth_off_status: int = 400) -> Callable[[PageHandler], PageHandler]:
    """What every sign-in page shares: with `--auth off` it only says so, and parameters that
    cannot be parsed (an `OAuthError` from `forms.query` / `forms.form`) get one page saying why."""

    def wrap(handler: PageHandler) -> PageHandler:
        @functools.wraps(handler)
        async def sign_in_handler(request: Request) -> Response:
            if not request.app.state.services.identity.enabled:
                return message_page(title, AUTH_OFF_TEXT, auth_off_status)
            try:
                return await handler(request)
            except OAuthError as e:
                return message_page(title, e.description, 400)

        return sign_in_handler

    return wrap


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie value, or a fresh one (True: it must be set on the answer)."""
    value = request.cookies.get(CSRF_COOKIE)
    if value and 20 <= len(value) <= 128:
        return value, False
    return new_csrf_token(), True


def set_csrf_cookie(response: Response, request: Request, value: str) -> None:
    for name in (CSRF_COOKIE, MLFLOW_UI_CSRF_COOKIE):
        response.set_cookie(name, value, path="/", samesite="lax", secure=secure(request), httponly=False)


def csrf_field(value: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{escape(value)}">'


def form_csrf_ok(request: Request, form: dict[str, str]) -> bool:
    """The pages' forms carry the CSRF cookie's value as a field (double submit, like the API's
    header): a cross-site form cannot read the cookie, so it cannot send the field."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_TTL_SECONDS,
        path="/",
        samesite="lax",
        secure=secure(request),
        httponly=True,
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="lax", secure=secure(request), httponly=True)


def local_next(value: str | None, default: str = "/login") -> str:
    """A post-login destination on this server only: an absolute path, never `//host` or a scheme."""
    if not value or not value.startswith("/") or value.startswith("//") or value.startswith("/\\"):
        return default
    if any(ch in value for ch in "\r\n\t\x00") or len(value) > 4096:
        return default
    return value


def to_login(request: Request, next_path: str) -> RedirectResponse:
    return RedirectResponse(
        f"/login?next={quote(next_path, safe='')}", status_code=303, headers={"Cache-Control": "no-store"}
    )


def current_url(request: Request) -> str:
    """This request's path and query (the `next` that brings the user back here)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
