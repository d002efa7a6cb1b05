"""Builds the ASGI application: routes, error handlers, and the per-process services."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from runyard.api.errors import HANDLERS
from runyard.api.mlflow import (
    artifacts,
    experiments,
    logged_models,
    metrics,
    registry,
    runs,
    server_info,
    workspaces,
)
from runyard.api.routing import StaticFirstRouter, mount
from runyard.api.security import SecurityMiddleware, security_rules
from runyard.api.workspace_url import WorkspaceUrlMiddleware
from runyard.config import Settings
from runyard.services.container import Services


def routes() -> list[BaseRoute]:
    return [
        *server_info.PROBE_ROUTES,
        *mount(
            [
                *experiments.ENDPOINTS,
                *runs.ENDPOINTS,
                *metrics.ENDPOINTS,
                *logged_models.ENDPOINTS,
                *registry.ENDPOINTS,
            ]
        ),
        *mount([*server_info.ENDPOINTS, *workspaces.ENDPOINTS]),
        *mount(artifacts.ENDPOINTS, service="mlflow-artifacts"),
    ]


def create_app(settings: Settings | None = None) -> Starlette:
    """The application for one server process (worker processes call this with no argument)."""
    settings = settings or Settings.from_env()
    # Database calls release the GIL and must get it back quickly: with the default 5 ms switch
    # interval, the event loop thread (parsing the next requests) keeps the thread that holds the
    # SQLite write lock waiting, and every other writer waits behind it.
    sys.setswitchinterval(0.0005)
    services = Services.build(settings)
    hosts, origins = security_rules(settings.host, settings.allowed_hosts, settings.cors_allowed_origins)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            services.close()

    app = Starlette(
        routes=routes(),
        exception_handlers=HANDLERS,
        middleware=[
            Middleware(SecurityMiddleware, hosts=hosts, origins=origins),
            Middleware(WorkspaceUrlMiddleware),
        ],
        lifespan=lifespan,
    )
    app.router = StaticFirstRouter(app.router.routes, lifespan=lifespan)
    app.state.services = services
    return app
