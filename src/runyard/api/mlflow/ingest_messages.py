"""Fast decoding of the logging messages that carry metric points (log-batch, log-metric).

These two messages are most of a tracking server's traffic, and decoding them is the largest
per-request cost on the event loop. msgspec decodes and type-checks them into structs about three
times faster than pydantic's JSON mode. The pydantic models in `messages` stay the reference:
whatever msgspec does not accept outright (a malformed body, a number sent as a string, an
out-of-range integer, ...) is decoded again by pydantic, which either accepts it or raises the
MLflow-shaped error. So this path may only accept a subset of what pydantic accepts, with the same
meaning — the tests compare the two on generated bodies. A body holding the escape `\\u0000` (NUL,
refused) or nested too deeply for msgspec goes to pydantic too, and so does a body that is not
valid UTF-8: msgspec checks the strings it decodes, not the values of fields it skips.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import msgspec

from runyard.api.http import may_hold_nul
from runyard.api.mlflow.fields import as_double
from runyard.services.runs import MetricIn

_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _Metric(msgspec.Struct):
    key: str
    value: float | str
    timestamp: _Int64
    step: _Int64 = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class _KeyValue(msgspec.Struct):
    key: str
    value: str = ""


class _LogBatch(msgspec.Struct):
    run_id: str | None = None
    run_uuid: str | None = None
    metrics: list[_Metric] = []
    params: list[_KeyValue] = []
    tags: list[_KeyValue] = []


class _LogMetric(_Metric):
    run_id: str | None = None
    run_uuid: str | None = None


class Batch(NamedTuple):
    """A log-batch (or log-metric) request as the run service takes it."""

    run_id: str
    metrics: list[MetricIn]
    params: list[tuple[str, str]]
    tags: list[tuple[str, str]]


_BATCH = msgspec.json.Decoder(_LogBatch)
_METRIC = msgspec.json.Decoder(_LogMetric)


def _for_pydantic(body: bytes) -> bool:
    """Whether pydantic must judge the body before msgspec may: NUL, or bytes that are not UTF-8.
    `isascii` is one SIMD pass (~5 µs for a 64 KB batch); only other bodies are decoded to check."""
    if may_hold_nul(body):
        return True
    if body.isascii():
        return False
    try:
        body.decode()
    except UnicodeDecodeError:
        return True
    return False


def log_batch(body: bytes) -> Batch | None:
    """The decoded request, or None if the reference decoder must judge it."""
    if _for_pydantic(body):
        return None
    try:
        message = _BATCH.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    metrics: list[MetricIn] = [
        (
            x.key,
            x.value if isinstance(x.value, float) else as_double(x.value, f"metrics[{i}].value"),
            x.timestamp,
            x.step,
            x.model_id,
            x.dataset_name,
            x.dataset_digest,
        )
        for i, x in enumerate(message.metrics)
    ]
    return Batch(
        message.run_id or message.run_uuid or "",
        metrics,
        [(p.key, p.value) for p in message.params],
        [(t.key, t.value) for t in message.tags],
    )


def log_metric(body: bytes) -> Batch | None:
    """The decoded request (one metric), or None if the reference decoder must judge it."""
    if _for_pydantic(body):
        return None
    try:
        x = _METRIC.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    value = x.value if isinstance(x.value, float) else as_double(x.value, "value")
    point: MetricIn = (x.key, value, x.timestamp, x.step, x.model_id, x.dataset_name, x.dataset_digest)
    return Batch(x.run_id or x.run_uuid or "", [point], [], [])
