"""Artifact bytes in and out, counted with `--metrics` (`runyard_artifact_*_bytes_total`): every
upload route reads its body through `upload_body`, every download passes `download_counter` to
`downloads.artifact_response`. Without metrics both are the plain stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request

from runyard.api.mlflow.downloads import ChunkFilter

if TYPE_CHECKING:
    from runyard.observe.metrics import Metrics


def _metrics(request: Request) -> Metrics | None:
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    return metrics


def upload_body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it streams in (counted as received artifact bytes with metrics on)."""
    metrics = _metrics(request)
    return request.stream() if metrics is None else metrics.counted_upload(request.stream())


def download_counter(request: Request) -> ChunkFilter | None:
    """What counts a download's bytes as they are sent (None with metrics off)."""
    metrics = _metrics(request)
    return None if metrics is None else metrics.counted_download
