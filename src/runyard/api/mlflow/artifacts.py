"""The proxied artifact API (`/api/2.0/mlflow-artifacts/...`): streamed upload, download, list, delete,
multipart uploads whose parts are PUT back to this server, and the presigned-download probe (501).

Every request naming a path is refused (400) if the path belongs to another workspace
(`services.artifact_owners`), before anything is read or written."""

from __future__ import annotations

import contextlib
import posixpath

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.artifact_traffic import download_counter, upload_body
from runyard.api.http import call, ok, parse_json_body
from runyard.api.mlflow import render
from runyard.api.mlflow.downloads import artifact_response
from runyard.api.mlflow.fields import Int64
from runyard.api.mlflow.messages import Message
from runyard.api.routing import Endpoint, resolve_context, services
from runyard.artifacts.base import ArtifactBackend
from runyard.artifacts.paths import clean_relative_path
from runyard.domain.errors import NOT_IMPLEMENTED, RESOURCE_DOES_NOT_EXIST, MlflowError, invalid, not_found
from runyard.services.artifacts import PRESIGNED_DOWNLOAD_UNSUPPORTED
from runyard.services.context import RequestContext


async def _backend(request: Request, path: str | None = None) -> ArtifactBackend:
    """The request's workspace's backend, once `path` (if given) is known not to be another workspace's."""
    return (await _owned(request, path))[1]


async def _owned(request: Request, path: str | None) -> tuple[RequestContext, ArtifactBackend]:
    """`_backend` with the request's context."""

    def resolve() -> tuple[RequestContext, ArtifactBackend]:
        # Read afresh: no artifact request may reach the folder of a workspace deleted by another process.
        ctx = resolve_context(request, fresh=True)
        if path is not None:
            services(request).artifact_owners.check(ctx, path)
        backend: ArtifactBackend = services(request).artifacts.backend(ctx)
        return ctx, backend

    return await call(resolve)


async def _journal(request: Request, ctx: RequestContext, path: str, *, deleted: bool = False) -> None:
    """Leave the write in the mirror outbox of a linked workspace (before it is acknowledged)."""
    await call(services(request).artifact_journal.written, ctx.workspace.id, clean_relative_path(path), deleted=deleted)


async def _unless_workspace_gone(request: Request, ctx: RequestContext, backend: ArtifactBackend, path: str) -> None:
    """After a file was published: if its workspace was deleted meanwhile (by any process; its
    folder may already be gone, or a workspace of the same name created since), take the file back
    and answer 404, so that nothing of a deleted workspace appears in a new one of its name."""
    if await call(services(request).workspaces.replaced, ctx.workspace):
        with contextlib.suppress(MlflowError, OSError):
            await call(backend.delete, path)
        raise not_found(f"Workspace '{ctx.workspace.name}' not found")


def _path_param(request: Request) -> str:
    return str(request.path_params.get("artifact_path", ""))


async def upload(request: Request) -> Response:
    path = _path_param(request)
    ctx, backend = await _owned(request, path)
    await backend.write(path, upload_body(request))
    await _unless_workspace_gone(request, ctx, backend, path)
    await _journal(request, ctx, path)
    return ok()


async def download(request: Request) -> Response:
    path = _path_param(request)
    backend = await _backend(request, path)
    reader = await backend.read(path)
    return artifact_response(reader, clean_relative_path(path), download_counter(request))


async def list_artifacts(request: Request) -> Response:
    path = request.query_params.get("path", "")
    backend = await _backend(request, path)
    files = await call(backend.list, path)
    if not files:
        return ok()
    return ok({"files": [render.file_info(f) for f in files]})


async def delete(request: Request) -> Response:
    path = _path_param(request)
    ctx, backend = await _owned(request, path)
    await call(backend.delete, path)
    await _journal(request, ctx, path, deleted=True)
    return ok()


# --- multipart --------------------------------------------------------------------------------


class CreateMultipart(Message):
    path: str
    num_parts: Int64 = 1


class PartMessage(Message):
    part_number: Int64
    etag: str = ""
    url: str | None = None


class CompleteMultipart(Message):
    path: str
    upload_id: str
    parts: list[PartMessage] = Field(default_factory=list)


class AbortMultipart(Message):
    path: str = ""
    upload_id: str


def _target(request: Request, local_path: str) -> str:
    """The artifact the client means: the URL's directory plus the basename of its local file."""
    directory = _path_param(request)
    name = posixpath.basename(local_path.replace("\\", "/"))
    if not name:
        raise invalid("Missing value for required parameter 'path'.")
    return posixpath.join(directory, name) if directory else name


async def create_multipart(request: Request) -> Response:
    body = await parse_json_body(request, CreateMultipart)
    target = _target(request, body.path)
    backend = await _backend(request, target)
    upload_id = await call(backend.create_multipart, target, body.num_parts)
    base = str(request.base_url).rstrip("/")
    credentials = [
        {
            "url": f"{base}/api/2.0/mlflow-artifacts/mpu/part/{upload_id}/{n}",
            "part_number": n,
            "headers": {},
        }
        for n in range(1, body.num_parts + 1)
    ]
    return ok({"upload_id": upload_id, "credentials": credentials})


async def _upload_backend(request: Request, upload_id: str) -> ArtifactBackend:
    """The backend of an open upload, once the caller may write the path it was created for (a
    part's URL names only the upload: without this, anyone holding an upload id could write it)."""
    backend = await _backend(request, None)
    target = await call(backend.multipart_target, upload_id)
    return await _backend(request, target)


async def upload_part(request: Request) -> Response:
    upload_id = str(request.path_params["upload_id"])
    backend = await _upload_backend(request, upload_id)
    part_number = int(request.path_params["part_number"])
    etag = await backend.write_part(upload_id, part_number, upload_body(request))
    return Response(b"", status_code=200, headers={"ETag": f'"{etag}"'})


async def complete_multipart(request: Request) -> Response:
    body = await parse_json_body(request, CompleteMultipart)
    target = _target(request, body.path)
    ctx, backend = await _owned(request, target)
    await backend.complete_multipart(body.upload_id, target, [(p.part_number, p.etag) for p in body.parts])
    await _unless_workspace_gone(request, ctx, backend, target)
    await _journal(request, ctx, target)
    return ok()


async def abort_multipart(request: Request) -> Response:
    body = await parse_json_body(request, AbortMultipart)
    backend = await _backend(request, _path_param(request) or None)
    try:
        target = await call(backend.multipart_target, body.upload_id)
    except MlflowError as error:
        if error.error_code != RESOURCE_DOES_NOT_EXIST:
            raise
        return ok()  # aborting an unknown (e.g. finished) upload is a no-op
    backend = await _backend(request, target)
    await call(backend.abort_multipart, body.upload_id)
    return ok()


async def presigned_download(request: Request) -> Response:
    """`GET /presigned/<path>`: a URL to fetch the file from storage directly. A local folder has none,
    so, after the same path and workspace checks as a download, 501 (as `mlflow server` answers for a
    local destination): the client then downloads through `/artifacts/<path>`."""
    path = _path_param(request)
    await _backend(request, path)
    raise MlflowError(PRESIGNED_DOWNLOAD_UNSUPPORTED, NOT_IMPLEMENTED)


ENDPOINTS = [
    Endpoint("PUT", "/artifacts/{artifact_path:path}", upload, "artifact:write", raw_body=True),
    Endpoint("GET", "/artifacts/{artifact_path:path}", download, "artifact:read"),
    Endpoint("DELETE", "/artifacts/{artifact_path:path}", delete, "artifact:delete"),
    Endpoint("GET", "/artifacts", list_artifacts, "artifact:read"),
    Endpoint("GET", "/presigned/{artifact_path:path}", presigned_download, "artifact:read"),
    Endpoint("POST", "/mpu/create/{artifact_path:path}", create_multipart, "artifact:write"),
    Endpoint("POST", "/mpu/create", create_multipart, "artifact:write"),
    Endpoint("POST", "/mpu/complete/{artifact_path:path}", complete_multipart, "artifact:write"),
    Endpoint("POST", "/mpu/complete", complete_multipart, "artifact:write"),
    Endpoint("POST", "/mpu/abort/{artifact_path:path}", abort_multipart, "artifact:write"),
    Endpoint("POST", "/mpu/abort", abort_multipart, "artifact:write"),
    Endpoint("PUT", "/mpu/part/{upload_id}/{part_number:int}", upload_part, "artifact:write", raw_body=True),
]
