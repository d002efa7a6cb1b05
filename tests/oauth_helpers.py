"""Plays the browser and the OAuth client against a live server over raw HTTP: PKCE pairs, the
login form (with its CSRF field and the `Origin` a browser sends), authorization requests."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import urllib.parse
from dataclasses import dataclass

import httpx

CLI = "runyard-cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name} in page"
    return html.unescape(match.group(1))


def query_of(location: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


@dataclass
class Browser:
    """A cookie jar on one server, following redirects by hand."""

    base: str
    client: httpx.Client

    @classmethod
    def at(cls, base: str) -> Browser:
        return cls(base, httpx.Client(base_url=base, timeout=30))

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post_form(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data=data, headers={"Origin": self.base})

    def login(self, page: httpx.Response, username: str, password: str) -> httpx.Response:
        """Submit the login form `page` shows."""
        assert 'name="username"' in page.text and 'name="password"' in page.text
        form = {
            "username": username,
            "password": password,
            "csrf_token": hidden(page.text, "csrf_token"),
            "next": hidden(page.text, "next"),
        }
        return self.post_form("/login", form)

    def sign_in(self, username: str, password: str) -> None:
        resp = self.login(self.get("/login"), username, password)
        assert resp.status_code == 303, resp.text

    def authorize(self, params: dict[str, str]) -> httpx.Response:
        return self.client.get("/oauth/authorize", params=params)

    def close(self) -> None:
        self.client.close()


def code_request(redirect_uri: str, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CLI,
        "redirect_uri": redirect_uri,
        "scope": "openid profile offline_access",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def exchange(base: str, code: str, redirect_uri: str, verifier: str) -> httpx.Response:
    return httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": CLI,
            "code_verifier": verifier,
        },
    )


def refresh(base: str, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{base}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLI}
    )
