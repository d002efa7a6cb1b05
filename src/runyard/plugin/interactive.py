"""The two interactive sign-ins: the browser (authorization code + PKCE S256 through a loopback
redirect) and the device code flow (RFC 8628). Both print to `out` (standard error by default)
and return the server's tokens; neither prints a token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import webbrowser
from collections.abc import Callable
from typing import TextIO
from urllib.parse import urlencode

from runyard.plugin import settings
from runyard.plugin.errors import LoginFailed, OAuthError
from runyard.plugin.loopback import LoopbackReceiver
from runyard.plugin.oauth import OAuthClient, TokenSet

SLOW_DOWN_SECONDS = 5.0


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge): 64 random URL-safe characters and their SHA-256."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def open_browser(url: str) -> bool:
    """Open `url` in the user's browser (Python's `webbrowser`: honours BROWSER); False if none could be."""
    try:
        return bool(webbrowser.open(url, new=1, autoraise=True))
    except webbrowser.Error:
        return False


def _say(out: TextIO, text: str) -> None:
    out.write(text + "\n")
    out.flush()


def browser_login(
    client: OAuthClient,
    out: TextIO,
    *,
    launch: bool = True,
    timeout: float = settings.LOGIN_TIMEOUT,
    opener: Callable[[str], bool] = open_browser,
) -> TokenSet | None:
    """Sign in through the browser. `launch=False` prints the URL instead of opening a browser.
    Returns None when a browser was to be opened and none could be (the caller falls back to the
    device flow)."""
    endpoints = client.endpoints()
    state = secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    with LoopbackReceiver(state) as receiver:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client.client_id,
                "redirect_uri": receiver.redirect_uri,
                "scope": settings.SCOPES,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        url = f"{endpoints.authorization}?{query}"
        if launch:
            if not opener(url):
                return None
            _say(out, f"Opened a browser to sign in to {client.base_url}. If it did not open, visit:\n  {url}")
        else:
            _say(out, f"To sign in to {client.base_url}, open this URL in a browser on this machine:\n  {url}")
        _say(out, "Waiting for the sign-in to finish in the browser (Ctrl+C to cancel)...")
        answer = receiver.wait(timeout)
    if answer is None:
        raise LoginFailed(f"The browser sign-in to {client.base_url} did not finish within {timeout:g} s.")
    if "error" in answer:
        if answer["error"] == "access_denied":
            raise LoginFailed(f"The sign-in to {client.base_url} was denied.")
        detail = answer.get("error_description") or answer["error"]
        raise LoginFailed(f"The sign-in to {client.base_url} failed: {detail}")
    code = answer.get("code")
    if not code:
        raise LoginFailed(f"The sign-in to {client.base_url} answered without an authorization code.")
    try:
        return client.exchange_code(code, receiver.redirect_uri, verifier)
    except OAuthError as e:
        raise LoginFailed(f"The server refused the sign-in's authorization code ({e}).") from None


def device_login(
    client: OAuthClient,
    out: TextIO,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TokenSet:
    """Sign in with the device code flow: print the code and URL, poll until approved."""
    grant = client.device_authorization()
    _say(out, f"To sign in to {client.base_url}, open {grant.verification_uri} and enter the code {grant.user_code}")
    if grant.verification_uri_complete:
        _say(out, f"  (or open {grant.verification_uri_complete})")
    _say(out, f"Waiting for approval (the code expires in {int(grant.expires_in // 60)} min; Ctrl+C to cancel)...")
    deadline = clock() + grant.expires_in
    interval = max(grant.interval, 1.0)
    while True:
        if clock() >= deadline:
            raise LoginFailed(f"The device code expired before the sign-in to {client.base_url} was approved.")
        sleep(interval)
        try:
            return client.poll_device(grant.device_code)
        except OAuthError as e:
            if e.error == "authorization_pending":
                continue
            if e.error == "slow_down":
                interval += SLOW_DOWN_SECONDS
                continue
            if e.error == "expired_token":
                raise LoginFailed(
                    f"The device code expired before the sign-in to {client.base_url} was approved."
                ) from None
            if e.error == "access_denied":
                raise LoginFailed(f"The sign-in to {client.base_url} was denied.") from None
            raise LoginFailed(f"The device sign-in to {client.base_url} failed: {e}") from None
