"""Every dual-tracking endpoint, for `app.api_routes` to mount under the `runyard` service."""

from __future__ import annotations

from runyard.api.mirror import imports, info, links
from runyard.api.routing import Endpoint

ENDPOINTS: list[Endpoint] = [*info.ENDPOINTS, *imports.ENDPOINTS, *links.ENDPOINTS]
