"""`GET /oauth/authorize`: the authorization endpoint (RFC 6749 §4.1.1, PKCE S256 required).

An invalid client or redirect URI is shown as a page (never redirected to, §4.1.2.1); other errors
go back to the client's redirect URI. Without a browser session the user is sent to `/login` and
returns here; with one, the code is issued at once — no consent screen for Runyard's own client,
nor for applications an administrator registered (their registration is the consent). "Cancel"
on the login page comes back with `runyard_cancel=1` and answers `access_denied`."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import OAuth2Error
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import call
from runyard.api.oauth import pages
from runyard.api.oauth.forms import oauth_request, query, render
from runyard.api.routing import Endpoint, services
from runyard.api.session_cookie import browser_session
from runyard.services.identity.oauth.server import OAuthAnswer, error_answer

TITLE = "Sign-in request refused"


def _refusal(e: OAuth2Error) -> Response:
    answer = error_answer(e)
    if answer.location is not None:
        return render(answer)
    return pages.message_page(TITLE, f"{e.error}: {e.description or 'the request is not valid.'}", 400)


@pages.sign_in_page(TITLE)
async def authorize(request: Request) -> Response:
    identity = services(request).identity
    params = query(request)
    cancel = params.pop("runyard_cancel", None) == "1"
    http = oauth_request(request, params, basic=False)
    oauth = identity.oauth
    try:
        await call(oauth.validate_authorization, http)
    except OAuth2Error as e:
        return _refusal(e)
    if cancel:
        answer: OAuthAnswer = await call(oauth.authorize, http, None)
        return render(answer)
    signed_in = await browser_session(request)
    if signed_in is None:
        return pages.to_login(request, pages.current_url(request))
    principal, session = signed_in
    http.auth_time = session.creation_time // 1000
    try:
        answer = await call(oauth.authorize, http, principal)
    except OAuth2Error as e:
        return _refusal(e)
    return render(answer)


ENDPOINTS = [Endpoint("GET", "/oauth/authorize", authorize, "public")]
