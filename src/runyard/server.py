"""Runs the server: migrate the store, print where to point MLflow, start uvicorn's workers."""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from types import FrameType
from typing import cast

import uvicorn

from runyard.config import Settings
from runyard.http_protocol import ConnectionLimits, HttpProtocol
from runyard.store.migrate import upgrade

log = logging.getLogger("runyard")


def serve(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    # Worker processes rebuild the settings from the environment.
    os.environ.update(settings.to_env())
    url = f"http://{_display_host(settings.host)}:{settings.port}"
    # uvicorn drains in-flight requests on SIGTERM/SIGINT and then re-raises the signal to the
    # handler that was installed before it: make that a clean exit.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    print(f"Runyard serving on {url} — point MLflow at it: export MLFLOW_TRACKING_URI={url}", flush=True)
    uvicorn.run(
        "runyard.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers if settings.workers > 1 else None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
        # Typed int by uvicorn, used as a float (`loop.call_later`): fractions work.
        timeout_keep_alive=cast(int, settings.keep_alive_timeout),
        server_header=False,
        http=functools.partial(HttpProtocol, limits=ConnectionLimits.from_settings(settings)),  # type: ignore[arg-type]
    )


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)
