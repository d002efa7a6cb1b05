"""Every endpoint at the server root that `api.oauth` serves, for `app.api_routes` to mount."""

from __future__ import annotations

from runyard.api.oauth import authorize, device, discovery, login, token
from runyard.api.routing import Endpoint

ENDPOINTS: list[Endpoint] = [
    *discovery.ENDPOINTS,
    *token.ENDPOINTS,
    *authorize.ENDPOINTS,
    *login.ENDPOINTS,
    *device.ENDPOINTS,
]
