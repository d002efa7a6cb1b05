"""The artifact endpoints of the MLflow UI: file previews (`/get-artifact`,
`/model-versions/get-artifact`, a logged model's `artifacts/files`), a run's listing
(`artifacts/list`) and the UI's small uploads (`upload-artifact`).

Mounted where the reference mounts them: `ROOT_ENDPOINTS` at the server root only,
`ENDPOINTS` under `/api/2.0/mlflow` and `/ajax-api/2.0/mlflow`, `AJAX_ENDPOINTS` under
`/ajax-api/2.0/mlflow` only. Rules and lookups live in `services.artifact_access`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.artifact_traffic import download_counter, upload_body
from runyard.api.http import call, ok
from runyard.api.mlflow import render
from runyard.api.mlflow.downloads import artifact_response
from runyard.api.routing import Endpoint, in_context, resolve_context, services
from runyard.artifacts.paths import clean_relative_path
from runyard.domain.errors import BAD_REQUEST, MlflowError, invalid
from runyard.domain.validation import missing_value_message, parse_ascii_int
from runyard.services.artifact_access import ArtifactAccessService, ArtifactRoot


def _access(request: Request) -> ArtifactAccessService:
    access: ArtifactAccessService = services(request).artifact_access
    return access


def _run_id(request: Request) -> str:
    run_id = request.query_params.get("run_id") or request.query_params.get("run_uuid")
    if not run_id:
        raise invalid(missing_value_message("run_id"))
    return run_id


def _required_path(request: Request, name: str = "path") -> str:
    path = request.query_params.get(name)
    if path is None:
        raise invalid(missing_value_message(name))
    clean_relative_path(path)  # refused before any lookup, as the reference does
    return path


async def _send(request: Request, root: ArtifactRoot, path: str) -> Response:
    reader = await _access(request).open(root, path)
    return artifact_response(reader, clean_relative_path(path), download_counter(request))


async def listing(root: ArtifactRoot, path: str | None) -> Response:
    """`{"root_uri": ..., "files": [...]}` of directory `path` below `root` (files omitted when empty)."""
    out: dict[str, Any] = {"root_uri": root.uri}
    files = await call(ArtifactAccessService.list_dir, root, path)
    if files:
        out["files"] = [render.file_info(f) for f in files]
    return ok(out)


async def get_artifact(request: Request) -> Response:
    """`GET /get-artifact?run_id=...&path=...`: one file of a run's artifacts, as an attachment."""
    path = _required_path(request)
    root = await in_context(request, _access(request).run_root, _run_id(request))
    return await _send(request, root, path)


async def get_model_version_artifact(request: Request) -> Response:
    """`GET /model-versions/get-artifact?name=...&version=...&path=...` (the version page's schema)."""
    path = _required_path(request)
    q = request.query_params
    root = await in_context(request, _access(request).model_version_root, q.get("name"), q.get("version"))
    return await _send(request, root, path)


async def get_logged_model_artifact(request: Request) -> Response:
    """`GET /ajax-api/2.0/mlflow/logged-models/<id>/artifacts/files?artifact_file_path=...`."""
    path = request.query_params.get("artifact_file_path")
    if not path:
        raise MlflowError('Request must include the "artifact_file_path" query parameter.', BAD_REQUEST)
    clean_relative_path(path)
    root = await in_context(request, _access(request).logged_model_root, str(request.path_params["model_id"]))
    return await _send(request, root, path)


async def list_logged_model_artifacts(request: Request) -> Response:
    """`GET .../logged-models/<id>/artifacts/directories?artifact_directory_path=...`."""
    directory = request.query_params.get("artifact_directory_path")
    if directory:
        clean_relative_path(directory)
    root = await in_context(request, _access(request).logged_model_root, str(request.path_params["model_id"]))
    return await listing(root, directory)


async def list_run_artifacts(request: Request) -> Response:
    """`GET .../artifacts/list?run_id=...&path=...`: one directory of a run's artifacts, every path
    relative to the run's root. The reference ignores `page_token` and never sends one back."""
    path = request.query_params.get("path")
    if path:
        clean_relative_path(path)
    root = await in_context(request, _access(request).run_root, _run_id(request))
    return await listing(root, path)


async def upload_artifact(request: Request) -> Response:
    """`POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=...&path=...` with the file as the raw
    body (any content type; at most 10 MiB). mlflow 3.18's UI sends `run_id` as well."""
    q = request.query_params
    run_id = q.get("run_uuid") or q.get("run_id")
    if not run_id:
        raise invalid("Request must specify run_uuid.")
    path = q.get("path")
    if not path:
        raise invalid("Request must specify path.")
    declared = request.headers.get("content-length")
    size = None if declared is None else parse_ascii_int(declared, "Content-Length", maximum=2**63 - 1)
    ctx = await call(resolve_context, request, fresh=True)
    await _access(request).upload(ctx, run_id, path, size, upload_body(request))
    # The reference answers an empty body (Content-Type application/json, length 0).
    return Response(b"", media_type="application/json")


ROOT_ENDPOINTS = [
    Endpoint("GET", "/get-artifact", get_artifact, "artifact:read"),
    Endpoint("GET", "/model-versions/get-artifact", get_model_version_artifact, "registered_model:read"),
]

ENDPOINTS = [
    Endpoint("GET", "/artifacts/list", list_run_artifacts, "artifact:read"),
    Endpoint(
        "GET", "/logged-models/{model_id}/artifacts/directories", list_logged_model_artifacts, "logged_model:read"
    ),
]

AJAX_ENDPOINTS = [
    Endpoint("GET", "/logged-models/{model_id}/artifacts/files", get_logged_model_artifact, "logged_model:read"),
    Endpoint("POST", "/upload-artifact", upload_artifact, "artifact:write", raw_body=True),
]
