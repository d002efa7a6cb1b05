"""Server probes: `/health`, `/version`, `/api/3.0/mlflow/server-info`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from runyard import MLFLOW_COMPAT_VERSION
from runyard.api.http import ok
from runyard.api.routing import Endpoint


async def health(_request: Request) -> Response:
    return PlainTextResponse("OK")


async def version(_request: Request) -> Response:
    return PlainTextResponse(MLFLOW_COMPAT_VERSION)


async def server_info(request: Request) -> Response:
    return ok(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": True,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": request.app.state.services.artifacts.multipart_enabled,
            "multipart_downloads_enabled": False,
            "presigned_upload_run_id_supported": False,
            "presigned_upload_model_id_supported": False,
            "features_enabled": {},
        }
    )


PROBE_ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/version", version, methods=["GET"]),
]
PROBE_ROUTES[0].access = "public"  # type: ignore[attr-defined]
PROBE_ROUTES[1].access = "public"  # type: ignore[attr-defined]

ENDPOINTS = [Endpoint("GET", "/server-info", server_info, "public", version="3.0")]
