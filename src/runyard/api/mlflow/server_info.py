"""Server probes: `/health`, `/version`, `/api/3.0/mlflow/server-info`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from runyard import MLFLOW_COMPAT_VERSION
from runyard.api.http import ok
from runyard.api.routing import Endpoint
from runyard.services.capabilities import Capabilities


async def health(_request: Request) -> Response:
    return PlainTextResponse("OK")


async def version(_request: Request) -> Response:
    return PlainTextResponse(MLFLOW_COMPAT_VERSION)


async def server_info(request: Request) -> Response:
    """Always 200 (whatever workspace the request names): a 3.18 client takes any other answer to
    mean every capability is off. The keys are those `mlflow server` 3.18 sends, but for the ones
    about features Runyard does not have (skills' size limits)."""
    caps: Capabilities = request.app.state.services.capabilities
    return ok(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": True,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": caps.multipart_uploads,
            "multipart_downloads_enabled": caps.multipart_downloads,
            "artifact_serving_enabled": caps.artifact_serving,
            "presigned_upload_run_id_supported": caps.presigned_upload_run_id,
            "presigned_upload_model_id_supported": caps.presigned_upload_model_id,
            "model_artifact_presigned_downloads_supported": caps.presigned_model_downloads,
            "features_enabled": {"gateway": False, "scheduled_issue_detection": False},
            "tracking_auth": caps.tracking_auth,
            "auth_enabled": request.app.state.services.identity.enabled,
            "artifacts_presigned_only": caps.artifacts_presigned_only,
        }
    )


PROBE_ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/version", version, methods=["GET"]),
]
PROBE_ROUTES[0].access = "public"  # type: ignore[attr-defined]
PROBE_ROUTES[1].access = "public"  # type: ignore[attr-defined]

ENDPOINTS = [Endpoint("GET", "/server-info", server_info, "public", version="3.0")]
