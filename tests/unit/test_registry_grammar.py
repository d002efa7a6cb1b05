"""The registry search grammars: what registered-model and model-version filters and order_by accept."""

from __future__ import annotations

import pytest

from runyard.domain.errors import MlflowError
from runyard.domain.search_filter import (
    MODEL_VERSION_GRAMMAR,
    REGISTERED_MODEL_GRAMMAR,
    Comparison,
    OrderKey,
    parse_filter,
    parse_order_by,
)


def test_client_prompt_clause_parses() -> None:
    clauses = parse_filter("name LIKE 'iris%' AND tag.`mlflow.prompt.is_prompt` != 'true'", REGISTERED_MODEL_GRAMMAR)
    assert clauses == (
        Comparison("attribute", "name", "LIKE", "iris%", 0),
        Comparison("tag", "mlflow.prompt.is_prompt", "!=", "true", 22),
    )


@pytest.mark.parametrize(
    "text",
    [
        "name = 'a'",
        "name != 'a'",
        "name ILIKE '%A%'",
        "name IN ('a', 'b')",
        "name NOT IN ('a')",
        "attribute.name = 'a'",
        "tags.k = 'v' AND tag.`k 2` LIKE 'v%'",
        "creation_timestamp > 0",
    ],
)
def test_registered_model_filters(text: str) -> None:
    assert parse_filter(text, REGISTERED_MODEL_GRAMMAR)


@pytest.mark.parametrize(
    "text",
    ["run_id = 'x'", "tags.k IS NULL", "tags.k IN ('a')", "name = 'a' OR name = 'b'", "params.p = 'x'", "name > 'a'"],
)
def test_registered_model_filters_refused(text: str) -> None:
    with pytest.raises(MlflowError):
        parse_filter(text, REGISTERED_MODEL_GRAMMAR)


def test_registered_model_order_by() -> None:
    assert parse_order_by(["timestamp DESC", "name"], REGISTERED_MODEL_GRAMMAR) == (
        OrderKey("attribute", "last_updated_timestamp", False),
        OrderKey("attribute", "name", True),
    )
    assert parse_order_by(["creation_timestamp"], REGISTERED_MODEL_GRAMMAR)
    for bad in (["timestamp", "last_updated_timestamp"], ["tags.k"], ["version_number"], ["name sideways"]):
        with pytest.raises(MlflowError):
            parse_order_by(bad, REGISTERED_MODEL_GRAMMAR)


@pytest.mark.parametrize(
    "text",
    [
        "name = 'a'",
        "run_id IN ('a', 'b')",
        "run_id NOT IN ('a')",
        "source_path LIKE 'runs:/%'",
        "version_number >= 2",
        "version_number = 3 AND name = 'a'",
        "tags.kind = 'tree'",
        "last_updated_timestamp > 5",
    ],
)
def test_model_version_filters(text: str) -> None:
    assert parse_filter(text, MODEL_VERSION_GRAMMAR)


@pytest.mark.parametrize(
    "text",
    ["source_path IN ('a')", "version_number = 'x'", "version_number = 1.5", "stage = 'x'", "tags.k IS NOT NULL"],
)
def test_model_version_filters_refused(text: str) -> None:
    with pytest.raises(MlflowError):
        parse_filter(text, MODEL_VERSION_GRAMMAR)


def test_model_version_order_by() -> None:
    assert parse_order_by(["version_number DESC", "name"], MODEL_VERSION_GRAMMAR) == (
        OrderKey("attribute", "version_number", False),
        OrderKey("attribute", "name", True),
    )
    for bad in (["run_id"], ["source_path"], ["tags.k"], ["name", "name DESC"]):
        with pytest.raises(MlflowError):
            parse_order_by(bad, MODEL_VERSION_GRAMMAR)
