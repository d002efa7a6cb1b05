"""The fast decoder of log-batch/log-metric accepts only what the reference (pydantic) decoder
accepts, and decodes it to the same request."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.api.mlflow import ingest_messages as ingest
from runyard.api.mlflow.runs import _reference_log_batch, _reference_log_metric
from runyard.domain.errors import MlflowError

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1.5", " 2 ", "x", "", "inf"]),
    st.text(max_size=5),
)
_numbers = st.one_of(st.integers(min_value=-(2**64), max_value=2**64), st.floats(allow_nan=False), _scalars)


def _maybe(field: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda v: {field: v}))


_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_valid_metric = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    st.text(max_size=8).map(lambda k: {"key": k}),
    st.one_of(st.floats(), st.integers(-(2**53), 2**53), st.sampled_from(["NaN", "-Infinity", "0.25"])).map(
        lambda v: {"value": v}
    ),
    _int64.map(lambda t: {"timestamp": t}),
    _maybe("step", _int64),
    _maybe("model_id", st.one_of(st.none(), st.text(max_size=4))),
)
_any_metric = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    _maybe("key", st.one_of(st.text(max_size=8), _scalars)),
    _maybe("value", _numbers),
    _maybe("timestamp", _numbers),
    _maybe("step", _numbers),
    _maybe("model_id", st.one_of(st.none(), st.text(max_size=4), _scalars)),
    _maybe("dataset_name", st.one_of(st.none(), st.text(max_size=4))),
    _maybe("extra", _scalars),
)
_metric = st.one_of(_valid_metric, _any_metric)
_valid_kv = st.builds(lambda k, v: {"key": k, "value": v}, st.text(max_size=4), st.text(max_size=4))
_any_kv = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    _maybe("key", st.one_of(st.text(max_size=4), _scalars)),
    _maybe("value", st.one_of(st.text(max_size=4), _scalars)),
)
_kv = st.one_of(_valid_kv, _any_kv)
_batch = st.builds(
    lambda *parts: {k: v for part in parts for k, v in part.items()},
    _maybe("run_id", st.one_of(st.text(max_size=4), _scalars)),
    _maybe("run_uuid", st.one_of(st.text(max_size=4), st.none())),
    _maybe("metrics", st.one_of(st.lists(_metric, max_size=3), st.lists(_valid_metric, max_size=3), _scalars)),
    _maybe("params", st.one_of(st.lists(_kv, max_size=2), _scalars)),
    _maybe("tags", st.lists(_kv, max_size=2)),
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _outcome(decode: Any, body: bytes) -> Any:
    try:
        return decode(body)
    except MlflowError as e:
        return ("error", e.error_code, e.message)


def _check(fast: Any, reference: Any, body: bytes) -> None:
    got = _outcome(fast, body)
    if got is None:
        return  # left to the reference decoder
    assert _same(got, _outcome(reference, body)), body


@settings(max_examples=400, deadline=None)
@given(_batch)
def test_fast_log_batch_agrees_with_the_reference(message: dict[str, Any]) -> None:
    _check(ingest.log_batch, _reference_log_batch, json.dumps(message).encode())


@settings(max_examples=300, deadline=None)
@given(_metric, _maybe("run_id", st.one_of(st.text(max_size=4), _scalars)))
def test_fast_log_metric_agrees_with_the_reference(metric: dict[str, Any], ref: dict[str, Any]) -> None:
    _check(ingest.log_metric, _reference_log_metric, json.dumps({**metric, **ref}).encode())


def test_fast_path_takes_the_common_shapes() -> None:
    body = {
        "run_id": "r",
        "metrics": [{"key": "m", "value": 1, "timestamp": 2, "step": 3}, {"key": "n", "value": "NaN", "timestamp": 4}],
    }
    batch = ingest.log_batch(json.dumps(body).encode())
    assert batch is not None and batch.run_id == "r"
    assert batch.metrics[0] == ("m", 1.0, 2, 3, None, None, None)
    assert math.isnan(batch.metrics[1][1]) and batch.metrics[1][3] == 0
    assert ingest.log_metric(b'{"run_uuid": "u", "key": "k", "value": -1.5, "timestamp": 7}') == ingest.Batch(
        "u", [("k", -1.5, 7, 0, None, None, None)], [], []
    )


def test_fast_path_leaves_lenient_forms_to_the_reference() -> None:
    assert ingest.log_batch(b'{"run_id": "r", "metrics": [{"key": "m", "value": 1, "timestamp": "5"}]}') is None
    assert ingest.log_batch(b"[1]") is None and ingest.log_batch(b"{") is None
    assert (
        _reference_log_batch(b'{"run_id": "r", "metrics": [{"key": "m", "value": 1, "timestamp": "5"}]}').metrics[0][2]
        == 5
    )


def test_fast_path_leaves_non_utf8_to_the_reference() -> None:
    # msgspec checks the strings it decodes, not those of fields it skips: such a body must reach
    # the reference decoder, which refuses it (issue 11).
    batch = b'{"run_id": "r", "comment": "\xff", "metrics": []}'
    metric = b'{"run_id": "r", "comment": "\xff", "key": "k", "value": 1, "timestamp": 1}'
    assert ingest.log_batch(batch) is None and ingest.log_metric(metric) is None
    for decode, body in ((_reference_log_batch, batch), (_reference_log_metric, metric)):
        outcome = _outcome(decode, body)
        assert outcome[:2] == ("error", "INVALID_PARAMETER_VALUE")
        assert outcome[2].startswith("Malformed JSON in request body")
    # Valid UTF-8 beyond ASCII stays on the fast path.
    assert ingest.log_batch('{"run_id": "r", "comment": "é", "metrics": []}'.encode()) is not None


def test_null_fields_read_as_absent_on_both_paths() -> None:
    # proto-JSON (the reference): a null optional field takes its default, a null required one is missing.
    body = b'{"run_id": "r", "key": "k", "value": 1, "timestamp": 1, "step": null}'
    assert ingest.log_metric(body) is None
    assert _reference_log_metric(body) == ingest.Batch("r", [("k", 1.0, 1, 0, None, None, None)], [], [])
    outcome = _outcome(_reference_log_metric, b'{"run_id": "r", "key": null, "value": 1, "timestamp": 1}')
    assert outcome[2].startswith("Missing value for required parameter 'key'.")
