"""`GET /api/2.0/runyard/mirror/info`: tells a replicator that the target is a Runyard server and which
version of the import API it serves (public: it reveals nothing about the server's contents)."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok
from runyard.api.routing import Endpoint

IMPORT_API_VERSION: Final = 1


async def mirror_info(request: Request) -> Response:
    return ok({"server": "runyard", "import_api": IMPORT_API_VERSION})


ENDPOINTS = [Endpoint("GET", "/mirror/info", mirror_info, "public")]
