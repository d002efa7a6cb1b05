"""Endpoint declarations: each route names its access rule, and is mounted under every API prefix."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from runyard.api.authentication import ACCESS_SCOPE_KEY, authorize_request
from runyard.api.delete_audit import audited, deleted_kind
from runyard.api.http import call, check_request_strings, nothing_in_flight
from runyard.api.security import require_json_body
from runyard.domain.access_rules import AccessRule, parse_rule
from runyard.domain.errors import RESOURCE_DOES_NOT_EXIST, MlflowError, not_found
from runyard.domain.validation import reject_nul
from runyard.services.context import RequestContext, WorkspaceGone
from runyard.services.identity.access import Access

Handler = Callable[[Request], Awaitable[Response]]
R = TypeVar("R")

WORKSPACE_HEADER = "x-mlflow-workspace"
# Set by `runyard.api.workspace_url` when the URL names the workspace (`/w/<workspace>/...`).
WORKSPACE_SCOPE_KEY = "runyard.workspace"
# With `--metrics`: a one-item list the router puts the matched route in (`runyard.api.observe`
# reads it; middleware that copies the scope shares the list).
ROUTE_SLOT = "runyard.route"


@dataclass(frozen=True)
class Endpoint:
    """One MLflow RPC: method + path below the service prefix, its handler and its access rule.

    `access` names what a caller must be allowed to do (e.g. "experiment:read", "run:write");
    the identity and access layer enforces it, and a route without one is refused.
    `raw_body`: the body is bytes to store (artifact uploads), not a JSON message. Every other
    endpoint with a body (any method but GET) accepts only `Content-Type: application/json`.
    """

    method: str
    path: str
    handler: Handler
    access: str
    version: str = "2.0"
    raw_body: bool = False

    @property
    def json_body(self) -> bool:
        return self.method != "GET" and not self.raw_body


def mount(
    endpoints: Iterable[Endpoint], service: str = "mlflow", prefixes: Sequence[str] = ("api", "ajax-api")
) -> list[Route]:
    """Routes for `/<prefix>/<version>/<service><path>` for every prefix."""
    routes = []
    for e in endpoints:
        handler = _checked(e.handler, json_body=e.json_body, rule=parse_rule(e.access), method=e.method)
        for prefix in prefixes:
            routes.append(
                Route(
                    f"/{prefix}/{e.version}/{service}{e.path}",
                    handler,
                    methods=[e.method],
                    name=f"{prefix}:{e.version}:{service}{e.path}:{e.method}",
                )
            )
            routes[-1].access = e.access  # type: ignore[attr-defined]
    return routes


def mount_at_root(endpoints: Iterable[Endpoint]) -> list[Route]:
    """Routes at each endpoint's own path, outside the API prefixes: the reference serves its UI's
    file previews at `/get-artifact` and `/model-versions/get-artifact` (no `/ajax-api` twin)."""
    routes = []
    for e in endpoints:
        handler = _checked(e.handler, json_body=e.json_body, rule=parse_rule(e.access), method=e.method)
        route = Route(e.path, handler, methods=[e.method], name=f"root:{e.path}:{e.method}")
        route.access = e.access  # type: ignore[attr-defined]
        routes.append(route)
    return routes


def _checked(handler: Handler, *, json_body: bool, rule: AccessRule, method: str = "GET") -> Handler:
    """`handler` behind the rules every mounted endpoint shares: no NUL in the query string, path or
    workspace (`check_request_strings`), for JSON endpoints the content-type rule
    (`require_json_body`), and the route's access rule (`authorize_request`: with authentication on,
    who is asking and whether the rule admits them). One wrapper, so a request pays one extra call;
    routes that delete also record each success in the audit log (`delete_audit`)."""
    kind = deleted_kind(rule, method)
    if kind is not None:
        handler = audited(handler, kind, json_body=json_body)
    if json_body:

        @functools.wraps(handler)
        async def json_endpoint(request: Request) -> Response:
            check_request_strings(request)
            if not rule.public:
                await authorize_request(request, rule)
            require_json_body(request)
            return await handler(request)

        json_endpoint.requires_json_body = True  # type: ignore[attr-defined]
        json_endpoint.access_rule = rule  # type: ignore[attr-defined]
        return json_endpoint

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        check_request_strings(request)
        if not rule.public:
            await authorize_request(request, rule)
        return await handler(request)

    endpoint.access_rule = rule  # type: ignore[attr-defined]
    return endpoint


def services(request: Request) -> Any:
    return request.app.state.services


def _workspace_name(request: Request) -> str | None:
    """The workspace a request addresses: the URL form (set by middleware) or the MLflow header."""
    name: str | None = request.scope.get(WORKSPACE_SCOPE_KEY) or request.headers.get(WORKSPACE_HEADER)
    if name:
        reject_nul(name, "workspace")
    return name


def request_access(request: Request) -> Access | None:
    """What the request's principal may do (None: authentication is off, or the route is public)."""
    access: Access | None = request.scope.get(ACCESS_SCOPE_KEY)
    return access


def resolve_context(request: Request, *, fresh: bool = False) -> RequestContext:
    """`fresh`: read the workspace from the database rather than the per-process cache.

    A workspace the principal is not a member of answers as one that does not exist."""
    name = _workspace_name(request)
    workspace = services(request).workspaces.resolve(name, fresh=fresh)
    access = request_access(request)
    if access is not None and not access.is_member(workspace):
        raise not_found(f"Workspace '{workspace.name}' not found")
    return RequestContext(workspace=workspace, access=access)


def cached_context(request: Request) -> RequestContext | None:
    """The request context if resolving it needs no database access (so it may run on the event loop)."""
    workspace = services(request).workspaces.cached(_workspace_name(request))
    if workspace is None:
        return None
    access = request_access(request)
    if access is not None and not access.is_member(workspace):
        raise not_found(f"Workspace '{workspace.name}' not found")
    return RequestContext(workspace=workspace, access=access)


async def in_context(request: Request, fn: Callable[..., R], *args: Any, short: bool = False, **kwargs: Any) -> R:
    """Resolve the request context and run `fn(ctx, ...)` on the worker thread pool.

    `short`: the call is a few small statements (a tag, a param, a run lookup). On an embedded
    (SQLite) store it then runs on the event loop itself when nothing else is in flight (see
    `inline_now`).
    """

    def run() -> R:
        ctx = resolve_context(request)
        try:
            return fn(ctx, *args, **kwargs)
        except WorkspaceGone:
            # The cached workspace was deleted by some process: resolve the name again (404 if it is
            # gone for good; a workspace of that name created since serves the call).
            services(request).workspaces.forget(_workspace_name(request))
        except MlflowError as e:
            # Nothing found: if the workspace (maybe from this process's cache) was deleted and created
            # again by another process since, the call looked in the old one. The failed call wrote
            # nothing (its transaction rolled back); it runs again in the current workspace.
            if e.error_code != RESOURCE_DOES_NOT_EXIST or not services(request).workspaces.replaced(ctx.workspace):
                raise
        return fn(resolve_context(request, fresh=True), *args, **kwargs)

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
                        slot = scope.get(ROUTE_SLOT)
                        if slot is not None:
                            slot[0] = route
                        await route.handle(scope, receive, send)
                        return
        slot = scope.get(ROUTE_SLOT)
        if slot is None:
            await super().app(scope, receive, send)
            return
        try:
            await super().app(scope, receive, send)
        finally:
            slot[0] = scope.get("route")
