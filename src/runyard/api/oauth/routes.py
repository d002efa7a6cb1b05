"""Every endpoint at the server root that `api.oauth` serves, for `app.api_routes` to mount."""

from __future__ import annotations

from runyard.api.oauth import authorize, device, discovery, login, sso, token
from runyard.api.routing import Endpoint

ENDPOINTS: list[Endpoint] = [
    *discovery.ENDPOINTS,
    *token.ENDPOINTS,
    *authorize.ENDPOINTS,
    *login.ENDPOINTS,
    *sso.ENDPOINTS,
    *device.ENDPOINTS,
]
