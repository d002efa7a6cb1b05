"""Endpoint declarations: each route names its access rule, and is mounted under every API prefix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from runyard.api.http import call, guarded, nothing_in_flight
from runyard.domain.validation import reject_nul
from runyard.services.context import RequestContext

Handler = Callable[[Request], Awaitable[Response]]
R = TypeVar("R")

WORKSPACE_HEADER = "x-mlflow-workspace"
# Set by `runyard.api.workspace_url` when the URL names the workspace (`/w/<workspace>/...`).
WORKSPACE_SCOPE_KEY = "runyard.workspace"


@dataclass(frozen=True)
class Endpoint:
    """One MLflow RPC: method + path below the service prefix, its handler and its access rule.

    `access` names what a caller must be allowed to do (e.g. "experiment:read", "run:write");
    the identity and access layer enforces it, and a route without one is refused.
    """

    method: str
    path: str
    handler: Handler
    access: str
    version: str = "2.0"


def mount(
    endpoints: Iterable[Endpoint], service: str = "mlflow", prefixes: Sequence[str] = ("api", "ajax-api")
) -> list[Route]:
    """Routes for `/<prefix>/<version>/<service><path>` for every prefix."""
    routes = []
    for e in endpoints:
        for prefix in prefixes:
            routes.append(
                Route(
                    f"/{prefix}/{e.version}/{service}{e.path}",
                    guarded(e.handler),
                    methods=[e.method],
                    name=f"{prefix}:{e.version}:{service}{e.path}:{e.method}",
                )
            )
            routes[-1].access = e.access  # type: ignore[attr-defined]
    return routes


def services(request: Request) -> Any:
    return request.app.state.services


def _workspace_name(request: Request) -> str | None:
    """The workspace a request addresses: the URL form (set by middleware) or the MLflow header."""
    name: str | None = request.scope.get(WORKSPACE_SCOPE_KEY) or request.headers.get(WORKSPACE_HEADER)
    if name:
        reject_nul(name, "workspace")
    return name


def resolve_context(request: Request) -> RequestContext:
    return RequestContext(workspace=services(request).workspaces.resolve(_workspace_name(request)))


def cached_context(request: Request) -> RequestContext | None:
    """The request context if resolving it needs no database access (so it may run on the event loop)."""
    workspace = services(request).workspaces.cached(_workspace_name(request))
    return None if workspace is None else RequestContext(workspace=workspace)


async def in_context(request: Request, fn: Callable[..., R], *args: Any, short: bool = False, **kwargs: Any) -> R:
    """Resolve the request context and run `fn(ctx, ...)` on the worker thread pool.

    `short`: the call is a few small statements (a tag, a param, a run lookup). On an embedded
    (SQLite) store it then runs on the event loop itself when nothing else is in flight (see
    `inline_now`).
    """

    def run() -> R:
        return fn(resolve_context(request), *args, **kwargs)

    if short and inline_now(request):
        return run()
    return await call(run)


def inline_now(request: Request) -> bool:
    """Whether a short service call may run on the event loop now: the store is a local SQLite file
    (no network round trips) and no other service call is under way, so blocking the loop for a few
    hundred microseconds delays nobody and saves two thread hand-offs."""
    return bool(services(request).inline_short_calls) and nothing_in_flight()


class StaticFirstRouter(Router):
    """Starlette's router with a dictionary in front: a path without parameters is found in one
    lookup instead of by trying every route's regex in turn (~150 routes). Everything else —
    templated paths, 404, 405, lifespan — goes through the ordinary router."""

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=list(routes), **kwargs)
        self._static: dict[str, list[Route]] = {}
        for route in self.routes:
            if isinstance(route, Route) and not route.param_convertors:
                self._static.setdefault(route.path, []).append(route)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            path: str = scope["path"]
            routes = self._static.get(path[len(root) :] if root and path.startswith(root) else path)
            if routes:
                method = scope["method"]
                for route in routes:
                    if route.methods is None or method in route.methods:
                        scope.update({"endpoint": route.endpoint, "path_params": {}, "route": route})
                        await route.handle(scope, receive, send)
                        return
        await super().app(scope, receive, send)
