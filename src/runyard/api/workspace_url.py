"""The workspace in the URL: `http://host:5000/w/<workspace>/api/...` for clients that cannot send
the `X-MLFLOW-WORKSPACE` header (mlflow 2.x, curl, other tools).

The middleware moves `/w/<workspace>` into the ASGI `root_path`, so routing sees the ordinary path
and URLs the server builds for the client (e.g. multipart part URLs) keep the workspace prefix.
A request whose URL and header name different workspaces is refused.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from runyard.api.http import error_response
from runyard.api.routing import WORKSPACE_HEADER, WORKSPACE_SCOPE_KEY
from runyard.domain.errors import invalid

PREFIX = "/w/"
SERVER_INFO_SUFFIX = "/mlflow/server-info"


class WorkspaceUrlMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        local = path[len(root) :] if root and path.startswith(root) else path
        if local.startswith(PREFIX):
            name, _, _rest = local[len(PREFIX) :].partition("/")
            header = _header(scope, WORKSPACE_HEADER.encode())
            # server-info answers whatever the workspace (as in `mlflow server`): a client that gets
            # anything but 200 there takes every capability to be off for the rest of its life.
            if header and header.strip() and header.strip() != name and not _is_server_info(_rest):
                message = (
                    f"The workspace in the URL ('{name}') and in the X-MLFLOW-WORKSPACE header "
                    f"('{header.strip()}') differ: name one workspace."
                )
                await error_response(invalid(message))(scope, receive, send)
                return
            scope = dict(scope)
            scope["root_path"] = f"{root}{PREFIX}{name}"
            scope[WORKSPACE_SCOPE_KEY] = name
        await self.app(scope, receive, send)


def _is_server_info(rest: str) -> bool:
    return rest.rstrip("/").endswith(SERVER_INFO_SUFFIX)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
