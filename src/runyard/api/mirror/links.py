"""Mirror link administration over HTTP: `/api/2.0/runyard/workspaces/{workspace}/links`.

- `GET  …/links` — every link with its delivery state (what `runyard workspace status --json` prints);
- `POST …/links` — link the workspace: `{"target_url", "target_workspace"?, "name"?, "experiments"?,
  "credentials"?: {"kind": "none"|"token"|"basic"|"client_credentials", "token" | "username" +
  "password" | "client_id" + "client_secret"}}`; the credentials are sealed and never shown again;
- `GET  …/links/{name}`, `DELETE …/links/{name}`, `POST …/links/{name}/pause|resume|retry`.

With `--auth on`, the caller needs MANAGE on the source workspace, and to make a link to another
server (any target URL that is not this server's own) an administrator: a workspace admin must not
be able to send the workspace's data to a server of their choosing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import PRINCIPAL_SCOPE_KEY
from runyard.api.http import call, ok, parse_json_body
from runyard.api.identity.common import directory
from runyard.api.mlflow.messages import Message
from runyard.api.routing import Endpoint, request_access, services
from runyard.domain.errors import not_found, permission_denied
from runyard.domain.identity import Principal
from runyard.domain.mirror import AuthKind, TargetCredentials
from runyard.services.mirror.links import LinkRequest, LinkService


class CredentialsIn(Message):
    kind: AuthKind = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    client_id: str = ""
    client_secret: str = ""


class CreateLink(Message):
    target_url: str
    target_workspace: str | None = None
    name: str | None = None
    experiments: str | None = None
    credentials: CredentialsIn = Field(default_factory=CredentialsIn)


def _links(request: Request) -> LinkService:
    found: LinkService = services(request).mirror_links
    return found


def _same_server(request: Request, url: str) -> bool:
    """Whether `url` names this server as the caller reached it (host and port)."""
    target, own = urlsplit(url), urlsplit(str(request.base_url))
    default = {"http": 80, "https": 443}
    return (target.hostname or "").lower() == (own.hostname or "").lower() and (
        target.port or default.get(target.scheme)
    ) == (own.port or default.get(own.scheme))


async def _authorize(request: Request, workspace: str, *, target_url: str | None = None) -> str | None:
    """The caller's name (None with auth off) once they may administer the workspace's links."""
    principal: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if principal is None:
        return None
    if principal.is_admin:
        return principal.name
    if not await call(directory(request).is_workspace_admin, principal, workspace):
        access = request_access(request)
        found = await call(services(request).workspaces.resolve, workspace)
        if access is None or not access.is_member(found):
            raise not_found(f"Workspace '{workspace}' not found")
        raise permission_denied(f"Permission denied: managing mirror links of '{workspace}' needs MANAGE on it.")
    if target_url is not None and not _same_server(request, target_url):
        raise permission_denied("Permission denied: only administrators may link a workspace to another server.")
    return principal.name


def _workspace(request: Request) -> str:
    return str(request.path_params["workspace"])


def _name(request: Request) -> str:
    return str(request.path_params["name"])


async def list_links(request: Request) -> Response:
    workspace = _workspace(request)
    await _authorize(request, workspace)
    found = await call(_links(request).status, workspace)
    return ok({"links": [s.as_json() for s in found]})


async def create_link(request: Request) -> Response:
    workspace = _workspace(request)
    body = await parse_json_body(request, CreateLink)
    creator = await _authorize(request, workspace, target_url=body.target_url)
    c = body.credentials
    credentials = TargetCredentials(c.kind, c.token, c.username, c.password, c.client_id, c.client_secret)
    link = LinkRequest(body.target_url, body.target_workspace, credentials, body.name, body.experiments)
    status = await call(_links(request).link, workspace, link, created_by=creator)
    return ok({"link": status.as_json()})


async def get_link(request: Request) -> Response:
    workspace = _workspace(request)
    await _authorize(request, workspace)
    found = await call(_links(request).status, workspace, _name(request))
    return ok({"link": found[0].as_json()})


async def delete_link(request: Request) -> Response:
    workspace = _workspace(request)
    await _authorize(request, workspace)
    await call(_links(request).unlink, workspace, _name(request))
    return ok()


async def pause_link(request: Request) -> Response:
    workspace = _workspace(request)
    await _authorize(request, workspace)
    status = await call(_links(request).set_paused, workspace, _name(request), True)
    return ok({"link": status.as_json()})


async def resume_link(request: Request) -> Response:
    workspace = _workspace(request)
    await _authorize(request, workspace)
    status = await call(_links(request).set_paused, workspace, _name(request), False)
    return ok({"link": status.as_json()})


async def retry_link(request: Request) -> Response:
    workspace = _workspace(request)
    await _authorize(request, workspace)
    count = await call(_links(request).retry, workspace, _name(request))
    return ok({"retried": count})


_BASE = "/workspaces/{workspace}/links"
ENDPOINTS = [
    Endpoint("GET", _BASE, list_links, "workspace:manage"),
    Endpoint("POST", _BASE, create_link, "workspace:manage"),
    Endpoint("GET", _BASE + "/{name}", get_link, "workspace:manage"),
    Endpoint("DELETE", _BASE + "/{name}", delete_link, "workspace:manage"),
    Endpoint("POST", _BASE + "/{name}/pause", pause_link, "workspace:manage"),
    Endpoint("POST", _BASE + "/{name}/resume", resume_link, "workspace:manage"),
    Endpoint("POST", _BASE + "/{name}/retry", retry_link, "workspace:manage"),
]
