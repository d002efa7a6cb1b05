"""`/device`: where a signed-in user enters (or, from `verification_uri_complete`, confirms) the
code a device shows, and approves or denies its sign-in (RFC 8628 §3.3). Wrong codes count toward
the failure limiter, so user codes cannot be guessed at speed."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import client_address
from runyard.api.http import call
from runyard.api.oauth import pages
from runyard.api.oauth.forms import form, query
from runyard.api.routing import Endpoint, services
from runyard.api.session_cookie import browser_session
from runyard.domain.errors import TooManyFailures
from runyard.domain.oauth import normalize_user_code
from runyard.services.identity.oauth.device_approval import DeviceDecision

TITLE = "Sign in on a device"


def _form(csrf: str, user_code: str, name: str, error: str | None = None) -> str:
    parts = [f'<p class="note">Signed in as <b>{escape(name)}</b>. Enter the code your device shows.</p>']
    if error:
        parts.append(f'<p class="error" role="alert">{escape(error)}</p>')
    parts.append(
        f'<form method="post" action="/device">{pages.csrf_field(csrf)}'
        f'<label for="user_code">Code</label>'
        f'<input type="text" id="user_code" name="user_code" value="{escape(user_code)}" autocomplete="off" '
        f'autocapitalize="characters" spellcheck="false" required>'
        f'<button type="submit" name="decision" value="approve" id="approve">Approve sign-in</button>'
        f'<button type="submit" name="decision" value="deny" id="deny" class="secondary">Deny</button></form>'
    )
    return "".join(parts)


def _render(request: Request, user_code: str, name: str, error: str | None = None, status: int = 200) -> Response:
    csrf, fresh = pages.csrf_token(request)
    response = pages.page(TITLE, _form(csrf, user_code, name, error), status)
    if fresh:
        pages.set_csrf_cookie(response, request, csrf)
    return response


@pages.sign_in_page(TITLE)
async def device_page(request: Request) -> Response:
    params = query(request)
    signed_in = await browser_session(request)
    if signed_in is None:
        return pages.to_login(request, pages.current_url(request))
    return _render(request, normalize_user_code(params.get("user_code", "")), signed_in[0].name)


@pages.sign_in_page(TITLE)
async def decide(request: Request) -> Response:
    identity = services(request).identity
    params = await form(request)
    signed_in = await browser_session(request)
    if signed_in is None:
        return pages.to_login(request, "/device")
    principal = signed_in[0]
    typed = params.get("user_code", "")
    if not pages.form_csrf_ok(request, params):
        return _render(request, typed, principal.name, "The form expired. Please try again.", 400)
    decision = params.get("decision")
    if decision not in ("approve", "deny"):
        return _render(request, typed, principal.name, "Choose Approve or Deny.", 400)
    try:
        outcome = await call(
            identity.device_approval.decide,
            normalize_user_code(typed),
            decision == "approve",
            principal,
            client_address(request),
        )
    except TooManyFailures as e:
        response = _render(request, typed, principal.name, "Too many wrong codes. Try again later.", 429)
        response.headers.update(e.headers)
        return response
    if outcome is DeviceDecision.APPROVED:
        return pages.message_page("Device signed in", "You are signed in on your device. You can close this window.")
    if outcome is DeviceDecision.DENIED:
        return pages.message_page("Sign-in denied", "The device was not signed in. You can close this window.")
    return _render(request, typed, principal.name, outcome.value, 400)


ENDPOINTS = [
    Endpoint("GET", "/device", device_page, "public"),
    Endpoint("POST", "/device", decide, "public", raw_body=True),
]
