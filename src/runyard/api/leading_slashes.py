"""Repeated leading slashes in a request path (`//model-versions/get-artifact`) read as one, as
`mlflow server` serves them: a client that joins its base URL and a path with one slash too many
still reaches the endpoint. (Repeated slashes inside the path are left to routing.)"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class LeadingSlashesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("//"):
            scope = dict(scope)
            scope["path"] = "/" + path.lstrip("/")
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = b"/" + raw.lstrip(b"/")
        await self.app(scope, receive, send)
