"""Builds the ASGI application: routes, error handlers, and the per-process services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from runyard.api import metrics_endpoint, mlflow_ui
from runyard.api.errors import HANDLERS, AnsweredErrorsMiddleware
from runyard.api.graphql import routes as graphql
from runyard.api.identity import audit_events, personal_tokens
from runyard.api.identity import routes as identity_api
from runyard.api.leading_slashes import LeadingSlashesMiddleware
from runyard.api.mirror import routes as mirror_routes
from runyard.api.mlflow import (
    artifacts,
    experiments,
    logged_models,
    metrics,
    registry,
    runs,
    server_info,
    ui_artifacts,
    ui_support,
    workspaces,
)
from runyard.api.oauth import routes as oauth_routes
from runyard.api.observe import ObserveMiddleware
from runyard.api.route_rules import check_route_table
from runyard.api.routing import StaticFirstRouter, mount, mount_at_root
from runyard.api.security import SecurityMiddleware, security_rules
from runyard.api.ui import charts as ui_charts
from runyard.api.ui import pages as ui_pages
from runyard.api.ui import session as ui_session
from runyard.api.workspace_url import WorkspaceUrlMiddleware
from runyard.config import Settings
from runyard.observe.logs import ACCESS_LOGGER
from runyard.services.container import Services

if TYPE_CHECKING:
    from runyard.observe.metrics import Metrics

log = logging.getLogger("runyard")


def routes(*, metrics: bool = True) -> list[BaseRoute]:
    """Every route; `metrics=False` leaves `GET /metrics` out (served with `--metrics` only)."""
    api = api_routes()
    extra = mount_at_root(metrics_endpoint.ENDPOINTS) if metrics else []
    return [*api, *extra, *ui_pages.ui_routes(), *mlflow_ui.mounted(api, mlflow_ui.locate_build())]


def api_routes() -> list[BaseRoute]:
    """Everything but the MLflow UI's own files. Routes the UI calls (`ajax-api/...`, `graphql`,
    `get-artifact`) belong here: they are also mounted below the UI's prefix when it has one."""
    return [
        *server_info.PROBE_ROUTES,
        *mount(
            [
                *experiments.ENDPOINTS,
                *runs.ENDPOINTS,
                *metrics.ENDPOINTS,
                *logged_models.ENDPOINTS,
                *registry.ENDPOINTS,
                *ui_artifacts.ENDPOINTS,
            ]
        ),
        # The reference serves these for its UI under `/ajax-api/2.0/mlflow` only.
        *mount(
            [*metrics.AJAX_ENDPOINTS, *experiments.AJAX_ENDPOINTS, *ui_artifacts.AJAX_ENDPOINTS],
            prefixes=("ajax-api",),
        ),
        *mount_at_root(ui_artifacts.ROOT_ENDPOINTS),
        *mount([*server_info.ENDPOINTS, *workspaces.ENDPOINTS]),
        # MLflow's auth REST API (basic-auth app): users, roles, user permissions; `--auth on` only.
        *mount(identity_api.ENDPOINTS),
        *mount(artifacts.ENDPOINTS, service="mlflow-artifacts"),
        *mount_at_root(graphql.ENDPOINTS),
        *mount_at_root(oauth_routes.ENDPOINTS),
        *mount([*personal_tokens.ENDPOINTS, *audit_events.ENDPOINTS, *mirror_routes.ENDPOINTS], service="runyard"),
        # Only the web UI asks these.
        *mount(ui_session.ENDPOINTS, service="runyard", prefixes=("ajax-api",)),
        # Only where the reference serves them: the web UI's `ajax-api` prefix.
        *mount([*ui_support.ASSISTANT_ENDPOINTS, *ui_support.GATEWAY_ENDPOINTS], prefixes=("ajax-api",)),
        *mount(ui_charts.ENDPOINTS, service="runyard"),
    ]


async def purge_stale_uploads(services: Services, interval_seconds: float) -> None:
    """Remove upload left-overs at start-up and then every `interval_seconds`, until cancelled."""
    while True:
        try:
            await anyio.to_thread.run_sync(services.workspaces.purge_stale_uploads)
        except Exception:
            log.exception("purging stale uploads failed; will retry")
        await asyncio.sleep(interval_seconds)


async def purge_audit_events(services: Services, interval_seconds: float) -> None:
    """Drop audit events past `--audit-retention-days` and expired sign-in state (codes, sessions,
    refresh tokens) at start-up and then every `interval_seconds`."""
    while True:
        try:
            await anyio.to_thread.run_sync(services.identity.housekeeping)
        except Exception:
            log.exception("identity housekeeping failed; will retry")
        await asyncio.sleep(interval_seconds)


AUDIT_PURGE_INTERVAL_SECONDS = 3600.0


async def sample_metrics(metrics: Metrics, interval_seconds: float) -> None:
    """Copy this process's sampled gauges to the metric files every `interval_seconds`."""
    while True:
        try:
            metrics.sample()
        except Exception:
            log.exception("sampling the metrics failed; will retry")
        await asyncio.sleep(interval_seconds)


class RunyardApp(Starlette):
    """Starlette with `ObserveMiddleware` outside even its error handling, so the request id is
    known to every log line and sent with every response, a 500 included."""

    access_log: logging.Logger | None = None
    metrics: Metrics | None = None

    def build_middleware_stack(self) -> ASGIApp:
        return ObserveMiddleware(super().build_middleware_stack(), access_log=self.access_log, metrics=self.metrics)


def create_app(settings: Settings | None = None) -> Starlette:
    """The application for one server process (worker processes call this with no argument)."""
    settings = settings or Settings.from_env()
    # Database calls release the GIL and must get it back quickly: with the default 5 ms switch
    # interval, the event loop thread (parsing the next requests) keeps the thread that holds the
    # SQLite write lock waiting, and every other writer waits behind it.
    sys.setswitchinterval(0.0005)
    services = Services.build(settings)
    metrics = _metrics(settings, services)
    hosts, origins = security_rules(settings.host, settings.allowed_hosts, settings.cors_allowed_origins)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(purge_stale_uploads(services, settings.upload_purge_interval_seconds)),
            asyncio.create_task(purge_audit_events(services, AUDIT_PURGE_INTERVAL_SECONDS)),
        ]
        if metrics is not None:
            from runyard.observe.metrics import SAMPLE_SECONDS

            tasks.append(asyncio.create_task(sample_metrics(metrics, SAMPLE_SECONDS)))
        if settings.mirror:
            services.start_replicator()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.close()
            if metrics is not None:
                metrics.close()

    table = routes(metrics=metrics is not None)
    # Deny by default: a route served without its access rule applied stops start-up.
    check_route_table(table)
    app = RunyardApp(
        routes=table,
        exception_handlers=HANDLERS,
        middleware=[
            Middleware(AnsweredErrorsMiddleware),
            Middleware(LeadingSlashesMiddleware),
            Middleware(SecurityMiddleware, hosts=hosts, origins=origins),
            Middleware(WorkspaceUrlMiddleware),
        ],
        lifespan=lifespan,
    )
    app.router = StaticFirstRouter(app.router.routes, lifespan=lifespan)
    app.access_log = logging.getLogger(ACCESS_LOGGER) if settings.access_log else None
    app.metrics = metrics
    app.state.services = services
    app.state.metrics = metrics
    return app


def _metrics(settings: Settings, services: Services) -> Metrics | None:
    """This process's metrics with `--metrics` (prometheus_client is imported only then)."""
    if not settings.metrics_enabled:
        return None
    from runyard.observe.metrics import Metrics
    from runyard.services.observability import StoreFigures

    return Metrics(services.db, services.point_writer, StoreFigures(services.db, services.mirror_links))
