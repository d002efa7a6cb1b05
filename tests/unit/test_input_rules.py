"""Rules for untrusted input (issue 10 items 4-8): NUL, ASCII integers, forged page tokens, caps."""

from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.api.http import check_json_nul, may_hold_nul, parse_json
from runyard.api.mlflow import ingest_messages as ingest
from runyard.api.mlflow import messages as m
from runyard.domain import limits
from runyard.domain.errors import MlflowError
from runyard.domain.search_filter import RUN_GRAMMAR, parse_filter, parse_order_by
from runyard.domain.validation import find_nul, parse_ascii_int, parse_experiment_id
from runyard.services.registry import parse_version
from runyard.store import metric_series
from runyard.store.search import MAX_PAGE_OFFSET, decode_page_token, decode_page_token_with_position


def _token(data: object) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


# --- NUL ---------------------------------------------------------------------------------------


def test_find_nul_names_the_field() -> None:
    assert find_nul({"tags": [{"key": "ok"}, {"key": "a\x00"}]}) == "tags[1].key"
    assert find_nul({"a\x00": 1}) == "a\x00"
    assert find_nul({"name": "fine", "n": [1, None, {"x": "y"}]}) is None


def test_json_body_with_escaped_nul_is_refused_naming_the_field() -> None:
    with pytest.raises(MlflowError, match=r"'name'.*NUL"):
        parse_json(b'{"name": "a\\u0000b"}', m.CreateExperiment)
    # An escaped backslash followed by "u0000" is not NUL.
    assert parse_json(b'{"name": "a\\\\u0000b"}', m.CreateExperiment).name == "a\\u0000b"
    check_json_nul(b'{"name": "a\\u0000b"')  # malformed: left to the model's parser


def test_msgspec_fast_path_leaves_nul_and_deep_nesting_to_pydantic() -> None:
    nul = b'{"run_id": "r", "metrics": [{"key": "a\\u0000", "value": 1, "timestamp": 1}]}'
    assert ingest.log_batch(nul) is None
    deep = b'{"run_id": "r", "key": ' + b"[" * 1000 + b"]" * 1000 + b', "value": 1, "timestamp": 1}'
    assert ingest.log_metric(deep) is None
    assert ingest.log_batch(b'{"run_id": "r", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}") is None
    with pytest.raises(MlflowError):
        parse_json(deep, m.LogMetric)


def test_nul_scan_is_cheap_on_a_full_log_batch() -> None:
    """The scan adds a bytes search to the hot path: well under 5% of the decode of 1,000 metrics."""
    metrics = [
        {"key": f"loss_{i % 10}", "value": i * 0.5, "timestamp": 1700000000000 + i, "step": i} for i in range(1000)
    ]
    body = json.dumps({"run_id": "0123456789abcdef", "metrics": metrics}).encode()
    n = 200
    start = time.perf_counter()
    for _ in range(n):
        ingest._BATCH.decode(body)
    decode = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(n):
        may_hold_nul(body)
    scan = time.perf_counter() - start
    assert scan < decode * 0.05 + 1e-3, (scan, decode)


# --- ASCII integers ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["\uff11", "\u00b2", "\u0661", " 1", "1 ", "1_0", "+1", "", "1.0", "0x1", "9" * 20])
def test_ids_are_ascii_digits(text: str) -> None:
    with pytest.raises(MlflowError):
        parse_experiment_id(text)
    with pytest.raises(MlflowError):
        parse_version(text)


def test_ascii_int_bounds() -> None:
    assert parse_ascii_int("0", "f") == 0
    assert parse_ascii_int("9223372036854775807", "f") == 2**63 - 1
    assert parse_ascii_int(7, "f") == 7
    for bad in ("9223372036854775808", "-1", True, None, 2**63, 1.0):
        with pytest.raises(MlflowError, match="'f'"):
            parse_ascii_int(bad, "f")
    assert parse_version("2147483647") == 2**31 - 1
    with pytest.raises(MlflowError):
        parse_version("18446744073709551616")


@given(st.text(max_size=25))
def test_ascii_int_accepts_exactly_ascii_digit_strings(text: str) -> None:
    ascii_digits = text.isascii() and text.isdigit()
    try:
        value = parse_ascii_int(text, "f")
    except MlflowError:
        assert not ascii_digits or int(text) > 2**63 - 1
    else:
        assert ascii_digits and value == int(text)


# --- page tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        _token({"offset": 2**63}),
        _token({"offset": 2**64}),
        _token({"offset": -1}),
        _token({"offset": "1"}),
        _token({"offset": True}),
        _token({"offset": 1.0}),
        _token([0]),
        _token("offset"),
        base64.b64encode(b'{"offset": 1e400}').decode(),
        base64.b64encode(b"[" * 5000).decode(),
        base64.b64encode(b'{"offset": ' + b"1" * 5000 + b"}").decode(),
        base64.b64encode(b"\xff").decode(),
        "not base64!",
        "\uff11",
        "A" * 10_000,
    ],
)
def test_forged_page_tokens_are_refused(token: str) -> None:
    with pytest.raises(MlflowError) as e:
        decode_page_token(token)
    assert e.value.http_status == 400


@pytest.mark.parametrize(
    "after",
    [
        [2**63, 0, 1.0, False],
        [0, -(2**63) - 1, 1.0, False],
        [0, 0, 10**400, False],
        [0, 0, float("nan"), False],
        [0, 0, 1.0, "x"],
        [0, 0, "1", False],
        {"a": 1},
        [[[]]],
    ],
)
def test_history_positions_are_bounded(after: object) -> None:
    assert metric_series.parse_position(after) is None


def test_history_position_from_a_1e400_token() -> None:
    token = base64.b64encode(b'{"offset": 0, "after": [0, 0, 1e400, false]}').decode()
    _, after = decode_page_token_with_position(token)
    assert metric_series.parse_position(after) == (0, 0, float("inf"), False)  # the server writes ±Infinity too


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["offset", "after", "x"]), inner),
    max_leaves=12,
)


@given(st.one_of(st.text(max_size=60), _JSON.map(lambda d: _token(d) if _finite(d) else "x")))
def test_any_token_is_a_bounded_position_or_an_mlflow_error(token: str) -> None:
    try:
        offset, after = decode_page_token_with_position(token)
    except MlflowError as e:
        assert e.http_status == 400
        return
    assert isinstance(offset, int) and 0 <= offset <= MAX_PAGE_OFFSET
    position = metric_series.parse_position(after)
    if position is not None:
        ts, step, value, is_nan = position
        assert -(2**63) <= ts < 2**63 and -(2**63) <= step < 2**63
        assert isinstance(value, float) and value == value
        assert isinstance(is_nan, bool)


def _finite(data: object) -> bool:
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        return False
    return True


# --- search caps -------------------------------------------------------------------------------


def test_order_by_and_filter_sizes_are_capped() -> None:
    ok = [f"metrics.m{i}" for i in range(limits.MAX_ORDER_BY_KEYS)]
    assert len(parse_order_by(ok, RUN_GRAMMAR)) == limits.MAX_ORDER_BY_KEYS
    with pytest.raises(MlflowError, match="at most 16 order_by"):
        parse_order_by([*ok, "metrics.extra"], RUN_GRAMMAR)
    terms = [f"params.p{i} = 'x'" for i in range(limits.MAX_FILTER_COMPARISONS)]
    assert len(parse_filter(" AND ".join(terms), RUN_GRAMMAR)) == limits.MAX_FILTER_COMPARISONS
    with pytest.raises(MlflowError, match="at most 100 comparisons"):
        parse_filter(" AND ".join([*terms, "params.q = 'x'"]), RUN_GRAMMAR)
