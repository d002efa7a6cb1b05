"""The logged-model search grammar (`LOGGED_MODEL_GRAMMAR`) and `order_by` resolution."""

from __future__ import annotations

import pytest

from runyard.domain.errors import INVALID_PARAMETER_VALUE, MlflowError
from runyard.domain.search_filter import LOGGED_MODEL_GRAMMAR, parse_filter
from runyard.services.logged_models import OrderByIn, _resolve_order, parse_status
from runyard.store.logged_models import MetricOrder

G = LOGGED_MODEL_GRAMMAR


def terms(text: str) -> list[tuple[str, str, str, object]]:
    return [(c.entity, c.key, c.op, c.value) for c in parse_filter(text, G)]


def rejected(text: str) -> str:
    with pytest.raises(MlflowError) as err:
        parse_filter(text, G)
    assert err.value.error_code == INVALID_PARAMETER_VALUE
    return err.value.message


def test_reference_filters_parse() -> None:
    assert terms("name = 'my-lm'") == [("attribute", "name", "=", "my-lm")]
    assert terms("name='active-lm'") == [("attribute", "name", "=", "active-lm")]
    assert terms("metrics.score > 0.5") == [("metric", "score", ">", 0.5)]
    assert terms("params.lr = '0.1' AND tags.`a b` LIKE 'x%' AND model_type IN ('agent', 'clf')") == [
        ("param", "lr", "=", "0.1"),
        ("tag", "a b", "LIKE", "x%"),
        ("attribute", "model_type", "IN", ("agent", "clf")),
    ]
    assert terms("source_run_id != 'r' and status ilike 'ready'") == [
        ("attribute", "source_run_id", "!=", "r"),
        ("attribute", "status", "ILIKE", "ready"),
    ]


@pytest.mark.parametrize(
    "spelling", ["creation_time", "creation_timestamp", "creation_timestamp_ms", "attributes.creation_time"]
)
def test_time_aliases(spelling: str) -> None:
    assert terms(f"{spelling} >= 1795676512720") == [("attribute", "creation_timestamp", ">=", 1795676512720.0)]


def test_last_updated_aliases() -> None:
    for spelling in ("last_updated_time", "last_updated_timestamp", "last_updated_timestamp_ms"):
        assert terms(f"{spelling} < 5")[0][1] == "last_updated_timestamp"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("bogus = 'x'", "unknown attribute 'bogus'"),
        ("params.lr > 1", "comparator '>'"),
        ("tags.t IS NULL", "comparator 'IS NULL'"),
        ("metrics.m = 'a'", "a number"),
        ("metrics.m LIKE 1", "comparator 'LIKE'"),
        ("creation_time = 'yesterday'", "a number"),
        ("datasets.name = 'x'", "unknown entity prefix 'datasets'"),
        ("name = 'a' OR name = 'b'", "only AND"),
        ("name = ", "end of input"),
    ],
)
def test_bad_filters(text: str, needle: str) -> None:
    assert needle in rejected(text)


def test_order_by_resolution() -> None:
    assert _resolve_order(OrderByIn("creation_time", False), 0) == MetricOrder("attribute", "creation_timestamp", False)
    assert _resolve_order(OrderByIn("name"), 0) == MetricOrder("attribute", "name", True)
    assert _resolve_order(OrderByIn("metrics.acc", True, "eval", "d1"), 0) == MetricOrder(
        "metric", "acc", True, "eval", "d1"
    )
    assert _resolve_order(OrderByIn("metrics.`my key`"), 0).key == "my key"
    for bad, needle in [
        ("params.lr", "Only metrics"),
        ("tags.t", "Only metrics"),
        ("bogus", "bogus"),
        ("nope.x", "nope.x"),
        ("", "field_name"),
    ]:
        with pytest.raises(MlflowError) as err:
            _resolve_order(OrderByIn(bad), 0)
        assert needle in err.value.message


def test_status_spellings() -> None:
    assert parse_status("LOGGED_MODEL_READY") == "READY"
    assert parse_status(2) == "READY"
    assert parse_status("3") == "FAILED"
    assert parse_status("LOGGED_MODEL_PENDING") == "PENDING"
    for bad in (None, "", "READY!", 7):
        with pytest.raises(MlflowError):
            parse_status(bad)
