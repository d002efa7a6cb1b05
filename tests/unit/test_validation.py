"""Unit and property tests for the write rules: key syntax, lengths, batch sizes, proto-JSON field types."""

from __future__ import annotations

import math
import posixpath
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from runyard.api.http import validate
from runyard.api.mlflow.fields import Double, Int64, as_double
from runyard.domain.errors import MlflowError
from runyard.domain.validation import (
    check_max_results,
    parse_experiment_id,
    truncate,
    validate_batch_sizes,
    validate_key,
    validate_unique_param_keys,
)
from runyard.services.metric_history import evenly_spaced
from runyard.store.search import decode_page_token, encode_page_token

_KEY_CHARS = st.sampled_from(list("abcXYZ019_-. :/"))


@given(st.text(_KEY_CHARS, min_size=1, max_size=250))
def test_key_rule_matches_mlflow_definition(key: str) -> None:
    norm = posixpath.normpath(key)
    expected_ok = norm == key and norm != "." and not norm.startswith("..") and not norm.startswith("/")
    try:
        validate_key(key)
        ok = True
    except MlflowError as e:
        assert e.error_code == "INVALID_PARAMETER_VALUE"
        ok = False
    assert ok == expected_ok


@given(st.text(min_size=1, max_size=40))
def test_key_rule_never_crashes(key: str) -> None:
    try:
        validate_key(key)
    except MlflowError as e:
        assert "key" in e.message or "Key" in e.message
    else:
        assert re.match(r"^[/\w.\- :]*$", key)


@pytest.mark.parametrize("key", ["loss", "a/b", "train loss", "epoch:1", "a.b-c_d", "中文"])
def test_valid_keys(key: str) -> None:
    validate_key(key)


@pytest.mark.parametrize("key", ["../x", "a//b", "/abs", "a/", ".", "x!", "tab\tkey", "a/./b", "k" * 251])
def test_invalid_keys(key: str) -> None:
    with pytest.raises(MlflowError):
        validate_key(key)


def test_batch_limits() -> None:
    validate_batch_sizes(1000, 0, 0)
    validate_batch_sizes(900, 50, 50)
    for counts in ((1001, 0, 0), (0, 101, 0), (0, 0, 101), (950, 51, 0)):
        with pytest.raises(MlflowError):
            validate_batch_sizes(*counts)


def test_duplicate_params() -> None:
    validate_unique_param_keys(["a", "b"])
    with pytest.raises(MlflowError, match="Duplicate"):
        validate_unique_param_keys(["a", "b", "a"])


def test_truncate() -> None:
    assert truncate("abc", 5) == "abc"
    assert truncate("abcdef", 3) == "abc"


@pytest.mark.parametrize("raw", ["0", "12", 7, "-1", "-9223372036854775808"])
def test_experiment_ids(raw: str | int) -> None:
    # A negative id is well-formed: it names no experiment (the reference answers 404 for "-1").
    assert parse_experiment_id(raw) == int(raw)


@pytest.mark.parametrize("raw", ["abc", "1.5", " 1", "0x1", "99999999999999999999", "-9223372036854775809"])
def test_bad_experiment_ids(raw: str) -> None:
    with pytest.raises(MlflowError) as info:
        parse_experiment_id(raw)
    assert info.value.message == f"Invalid experiment ID '{raw}'. Experiment ID must be a valid integer."


def test_empty_experiment_id_is_missing() -> None:
    with pytest.raises(MlflowError) as info:
        parse_experiment_id("")
    assert info.value.message == (
        "Missing value for required parameter 'experiment_id'. "
        "See the API docs for more information about request parameters."
    )


def test_empty_key_is_missing_like_the_reference() -> None:
    with pytest.raises(MlflowError) as info:
        validate_key("", "metrics[0].key")
    assert info.value.message.startswith("Missing value for required parameter 'metrics[0].key'. See the API docs")


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (0, "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"),
        (-1, "Invalid value -1 for parameter 'max_results' supplied. It must be a positive integer"),
        (50001, "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000"),
    ],
)
def test_max_results_messages(limit: int, message: str) -> None:
    with pytest.raises(MlflowError) as info:
        check_max_results(limit, 50000)
    assert info.value.message == message
    assert check_max_results(50000, 50000) == 50000


class _Point(BaseModel):
    value: Double
    step: Int64 = 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, 1.0), (2.5, 2.5), ("3.25", 3.25), ("Infinity", math.inf), ("-Infinity", -math.inf), (1e308, 1e308)],
)
def test_double_field(raw: object, expected: float) -> None:
    assert as_double(validate(_Point, {"value": raw}).value, "value") == expected


def test_double_nan() -> None:
    assert math.isnan(as_double(validate(_Point, {"value": "NaN"}).value, "value"))


@pytest.mark.parametrize("raw", [True, None, [1], {"a": 1}])
def test_double_field_rejects(raw: object) -> None:
    with pytest.raises(MlflowError) as err:
        validate(_Point, {"value": raw})
    assert "'value'" in err.value.message


def test_double_field_rejects_non_numeric_strings() -> None:
    with pytest.raises(MlflowError) as err:
        as_double(validate(_Point, {"value": "abc"}).value, "metrics[3].value")
    assert "'metrics[3].value'" in err.value.message


@given(st.integers())
def test_int64_field(n: int) -> None:
    in_range = -(2**63) <= n <= 2**63 - 1
    try:
        parsed = validate(_Point, {"value": 0, "step": n}).step
    except MlflowError:
        assert not in_range
    else:
        assert in_range and parsed == n
        assert validate(_Point, {"value": 0, "step": str(n)}).step == n


@given(st.integers(min_value=0, max_value=10**12))
def test_page_token_round_trip(offset: int) -> None:
    assert decode_page_token(encode_page_token(offset)) == offset


@pytest.mark.parametrize("token", ["%%%", "bm90IGpzb24=", "eyJvZmZzZXQiOiAtMX0=", "eyJvZmZzZXQiOiAiYSJ9"])
def test_bad_page_tokens(token: str) -> None:
    with pytest.raises(MlflowError):
        decode_page_token(token)


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=2500))
def test_evenly_spaced_keeps_ends_and_bound(total: int, count: int) -> None:
    picks = evenly_spaced(total, count)
    assert len(picks) <= count
    assert picks == sorted(set(picks))
    if total:
        assert picks[-1] == total - 1
        if count > 1 or total == 1:
            assert picks[0] == 0
        assert all(0 <= p < total for p in picks)
    else:
        assert picks == []
