"""Every endpoint of the auth API, for `app.api_routes` to mount (under `api` and `ajax-api`)."""

from __future__ import annotations

from runyard.api.identity import permissions, roles, users
from runyard.api.routing import Endpoint

ENDPOINTS: list[Endpoint] = [*users.ENDPOINTS, *roles.ENDPOINTS, *permissions.ENDPOINTS]
