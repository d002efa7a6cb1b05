"""Workspace administration endpoints (`/api/3.0/mlflow/workspaces`), as the MLflow client calls them.

Runyard extensions, ignored by the MLflow client: `naming` (`flat` | `path`) and `path_roots` on
create, and both echoed back on every workspace object.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import call, ok, parse_json_body
from runyard.api.mlflow.messages import Message
from runyard.api.routing import Endpoint, request_access, services
from runyard.domain.entities import Workspace


class CreateWorkspace(Message):
    name: str
    description: str | None = None
    default_artifact_root: str | None = None
    naming: str = "flat"
    path_roots: list[str] = Field(default_factory=list)


class UpdateWorkspace(Message):
    description: str | None = None
    default_artifact_root: str | None = None


def render(w: Workspace) -> dict[str, Any]:
    out: dict[str, Any] = {"name": w.name}
    if w.description is not None:
        out["description"] = w.description
    if w.artifact_root is not None:
        out["default_artifact_root"] = w.artifact_root
    out["naming"] = w.naming
    if w.path_roots:
        out["path_roots"] = list(w.path_roots)
    return out


def _name(request: Request) -> str:
    return str(request.path_params["workspace_name"])


async def list_workspaces(request: Request) -> Response:
    workspaces = await call(services(request).workspaces.list_visible, request_access(request))
    return ok({"workspaces": [render(w) for w in workspaces]} if workspaces else {})


async def create_workspace(request: Request) -> Response:
    body = await parse_json_body(request, CreateWorkspace)
    workspace = await call(
        services(request).workspaces.create,
        body.name,
        description=body.description,
        naming=body.naming,
        artifact_root=body.default_artifact_root,
        path_roots=body.path_roots or None,
    )
    response = ok({"workspace": render(workspace)})
    response.status_code = 201
    return response


async def get_workspace(request: Request) -> Response:
    workspace = await call(services(request).workspaces.get, _name(request), request_access(request))
    return ok({"workspace": render(workspace)})


async def update_workspace(request: Request) -> Response:
    body = await parse_json_body(request, UpdateWorkspace)
    workspace = await call(
        services(request).workspaces.update,
        _name(request),
        description=body.description,
        artifact_root=body.default_artifact_root,
    )
    return ok({"workspace": render(workspace)})


async def delete_workspace(request: Request) -> Response:
    mode = request.query_params.get("mode", "RESTRICT")
    await call(services(request).workspaces.delete, _name(request), mode)
    return Response(status_code=204)


ENDPOINTS = [
    Endpoint("GET", "/workspaces", list_workspaces, "workspace:list", version="3.0"),
    Endpoint("POST", "/workspaces", create_workspace, "workspace:admin", version="3.0"),
    Endpoint("GET", "/workspaces/{workspace_name}", get_workspace, "workspace:read", version="3.0"),
    Endpoint("PATCH", "/workspaces/{workspace_name}", update_workspace, "workspace:admin", version="3.0"),
    Endpoint("DELETE", "/workspaces/{workspace_name}", delete_workspace, "workspace:admin", version="3.0"),
]
