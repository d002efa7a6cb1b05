"""Single sign-on through an upstream OpenID provider (`--oidc-issuer`): placeholder interface."""

from __future__ import annotations


class UpstreamSignIn:
    display_name: str = ""
