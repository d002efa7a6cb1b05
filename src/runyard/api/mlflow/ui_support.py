"""Endpoints the MLflow web UI calls on every page for features Runyard does not have (the MLflow
assistant, the AI gateway), answered as `mlflow server` 3.17.2 answers them when neither is
configured, so the UI shows them as not set up instead of showing errors.

- `GET /ajax-api/3.0/mlflow/assistant/config`: the reference's answer exactly.
- `GET /ajax-api/3.0/mlflow/assistant/providers`: no providers and none resolved. (The reference
  lists the assistant back-ends its own package ships, and offers one as resolved even when none is
  configured; Runyard runs none of them, so it offers none and the UI does not start a chat.)
- `PUT /ajax-api/3.0/mlflow/assistant/config`: refused (403), as the reference refuses callers that
  may not configure its assistant.
- `GET`/`POST /ajax-api/2.0/mlflow/gateway-proxy`: `{"endpoints": []}`, the reference's answer when no
  gateway (`MLFLOW_DEPLOYMENTS_TARGET`) is configured, whatever the request asks for.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok
from runyard.api.routing import Endpoint
from runyard.domain.errors import PERMISSION_DENIED, MlflowError

_NO_ASSISTANT_CONFIG: dict[str, object] = {"providers": {}, "projects": {}, "remote_access_allowed": False}
_NO_PROVIDERS: dict[str, object] = {"providers": [], "resolved": None, "gateway_vendor_options": {}}
_NO_GATEWAY: dict[str, object] = {"endpoints": []}


async def assistant_config(_request: Request) -> Response:
    return ok(_NO_ASSISTANT_CONFIG)


async def assistant_providers(_request: Request) -> Response:
    return ok(_NO_PROVIDERS)


async def update_assistant_config(_request: Request) -> Response:
    raise MlflowError("The MLflow assistant is not available on this server.", PERMISSION_DENIED)


async def gateway_proxy(_request: Request) -> Response:
    return ok(_NO_GATEWAY)


# Fixed answers that name nothing in any workspace.
ASSISTANT_ENDPOINTS = [
    Endpoint("GET", "/assistant/config", assistant_config, "authenticated", version="3.0"),
    Endpoint("PUT", "/assistant/config", update_assistant_config, "authenticated", version="3.0"),
    Endpoint("GET", "/assistant/providers", assistant_providers, "authenticated", version="3.0"),
]
GATEWAY_ENDPOINTS = [
    Endpoint("GET", "/gateway-proxy", gateway_proxy, "authenticated"),
    Endpoint("POST", "/gateway-proxy", gateway_proxy, "authenticated"),
]
