"""Tests for runyard.domain.search_filter: the MLflow filter / order_by parser."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from runyard.domain.errors import INVALID_PARAMETER_VALUE, MlflowError
from runyard.domain.search_filter import (
    ALL_COMPARATORS,
    EXPERIMENT_GRAMMAR,
    LOGGED_MODEL_GRAMMAR,
    MODEL_VERSION_GRAMMAR,
    REGISTERED_MODEL_GRAMMAR,
    RUN_GRAMMAR,
    Attribute,
    Comparison,
    EntitySpec,
    Grammar,
    KeyRule,
    OrderKey,
    parse_filter,
    parse_order_by,
)

R = RUN_GRAMMAR
E = EXPERIMENT_GRAMMAR


def one(text: str, grammar: Grammar = R) -> Comparison:
    (comparison,) = parse_filter(text, grammar)
    return comparison


def terms(text: str, grammar: Grammar = R) -> list[tuple[str, str, str, object]]:
    return [(c.entity, c.key, c.op, c.value) for c in parse_filter(text, grammar)]


def error(text: str, grammar: Grammar = R) -> str:
    with pytest.raises(MlflowError) as info:
        parse_filter(text, grammar)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    return info.value.message


def order(*clauses: str, grammar: Grammar = R) -> list[tuple[str, str, bool]]:
    return [(k.entity, k.key, k.ascending) for k in parse_order_by(list(clauses), grammar)]


def order_error(*clauses: str, grammar: Grammar = R) -> str:
    with pytest.raises(MlflowError) as info:
        parse_order_by(list(clauses), grammar)
    assert info.value.error_code == INVALID_PARAMETER_VALUE
    return info.value.message


# ------------------------------------------------------------------ empty input


@pytest.mark.parametrize("text", [None, ""])
def test_empty_filter_means_no_filter(text: str | None) -> None:
    assert parse_filter(text, R) == ()
    assert parse_filter(text, E) == ()


@pytest.mark.parametrize("text", [" ", "\t\n  "])
def test_whitespace_only_filter_is_refused_as_the_reference_does(text: str) -> None:
    # mlflow server 3.17.2 answers 400 INVALID_PARAMETER_VALUE with these messages (issue 11).
    for grammar in (R, E, REGISTERED_MODEL_GRAMMAR, MODEL_VERSION_GRAMMAR):
        with pytest.raises(MlflowError) as info:
            parse_filter(text, grammar)
        assert info.value.error_code == INVALID_PARAMETER_VALUE
        assert info.value.message == f"Invalid filter '{text}'. Could not be parsed."
    with pytest.raises(MlflowError) as info:
        parse_filter(text, LOGGED_MODEL_GRAMMAR)
    assert info.value.message == f"Invalid filter string: '{text}'. Expected a single SQL expression."


@pytest.mark.parametrize("clauses", [None, [], ()])
def test_empty_order_by(clauses: Sequence[str] | None) -> None:
    assert parse_order_by(clauses, R) == ()


def test_non_string_inputs_are_mlflow_errors() -> None:
    with pytest.raises(MlflowError):
        parse_filter(123, R)  # type: ignore[arg-type]  # the wrong type is what is tested
    with pytest.raises(MlflowError):
        parse_order_by([None], R)  # type: ignore[list-item]  # the wrong type is what is tested
    with pytest.raises(MlflowError):
        parse_order_by([b"metrics.a"], R)  # type: ignore[list-item]  # the wrong type is what is tested


# ------------------------------------------------------------------ run prefixes


@pytest.mark.parametrize(
    ("prefix", "entity"),
    [
        ("metrics", "metric"),
        ("metric", "metric"),
        ("params", "param"),
        ("param", "param"),
        ("parameters", "param"),
        ("parameter", "param"),
        ("tags", "tag"),
        ("tag", "tag"),
    ],
)
def test_keyed_prefix_aliases(prefix: str, entity: str) -> None:
    value = "1" if entity == "metric" else "'v'"
    c = one(f"{prefix}.my_key = {value}")
    assert (c.entity, c.key, c.op) == (entity, "my_key", "=")
    assert c.value == (1.0 if entity == "metric" else "v")


@pytest.mark.parametrize("prefix", ["attributes", "attribute", "attr", "run"])
def test_attribute_prefix_aliases(prefix: str) -> None:
    assert terms(f"{prefix}.status = 'FINISHED'") == [("attribute", "status", "=", "FINISHED")]


@pytest.mark.parametrize("prefix", ["datasets", "dataset"])
@pytest.mark.parametrize("key", ["name", "digest", "context"])
def test_dataset_prefix_aliases_and_keys(prefix: str, key: str) -> None:
    assert terms(f"{prefix}.{key} = 'x'") == [("dataset", key, "=", "x")]


@pytest.mark.parametrize("text", ["PARAMS.a = 'x'", "Metrics.a > 1", "TAGS.a = 'x'", "Attributes.status = 'x'"])
def test_prefixes_are_case_sensitive(text: str) -> None:
    assert "unknown entity prefix" in error(text)


def test_unknown_prefix_lists_valid_ones() -> None:
    message = error("foo.bar = 'x'")
    assert "unknown entity prefix 'foo' at column 1" in message
    assert "metrics." in message and "datasets." in message


# ------------------------------------------------------------------ run attributes


@pytest.mark.parametrize("name", ["run_id", "run_name", "status", "user_id", "artifact_uri"])
def test_unprefixed_string_attributes(name: str) -> None:
    assert terms(f"{name} = 'x'") == [("attribute", name, "=", "x")]


@pytest.mark.parametrize("name", ["start_time", "end_time"])
def test_unprefixed_numeric_attributes(name: str) -> None:
    assert terms(f"{name} >= 1700000000000") == [("attribute", name, ">=", 1700000000000)]


@pytest.mark.parametrize("alias", ["created", "Created"])
def test_created_is_start_time(alias: str) -> None:
    assert terms(f"{alias} < 5") == [("attribute", "start_time", "<", 5)]
    assert terms(f"attributes.{alias} < 5") == [("attribute", "start_time", "<", 5)]


@pytest.mark.parametrize(
    "text",
    [
        "`run name` = 'x'",
        "`Run name` = 'x'",
        "`Run Name` = 'x'",
        "\"Run Name\" = 'x'",
        "attributes.`Run name` = 'x'",
        "attr.\"run name\" = 'x'",
    ],
)
def test_run_name_aliases(text: str) -> None:
    assert terms(text) == [("attribute", "run_name", "=", "x")]


@pytest.mark.parametrize(
    "name", ["run_uuid", "lifecycle_stage", "experiment_id", "Status", "START_TIME", "loss", "CREATED"]
)
def test_unknown_run_attributes_rejected(name: str) -> None:
    message = error(f"{name} = 'x'")
    assert f"unknown attribute '{name}' at column 1" in message
    assert "run_id" in message


def test_unprefixed_unknown_key_hints_at_prefixes() -> None:
    assert "need a prefix such as metrics." in error("loss > 1")


# ------------------------------------------------------------------ comparators


@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_metric_comparators(op: str) -> None:
    assert terms(f"metrics.loss {op} 0.5") == [("metric", "loss", op, 0.5)]


@pytest.mark.parametrize("op", ["LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"])
def test_metric_rejects_non_numeric_comparators(op: str) -> None:
    message = error(f"metrics.loss {op} 1")
    assert f"comparator '{op}' at column 14 is not supported for metrics.loss" in message
    assert "expected one of =, !=, >, >=, <, <=" in message


@pytest.mark.parametrize("entity", ["params", "tags"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_param_and_tag_comparators(entity: str, op: str) -> None:
    c = one(f"{entity}.k {op} 'v%'")
    assert (c.op, c.value) == (op, "v%")


@pytest.mark.parametrize("entity", ["params", "tags"])
@pytest.mark.parametrize("op", ["IS NULL", "IS NOT NULL"])
def test_param_and_tag_null_checks(entity: str, op: str) -> None:
    c = one(f"{entity}.k {op}")
    assert (c.op, c.value) == (op, None)


@pytest.mark.parametrize("entity", ["params", "tags"])
@pytest.mark.parametrize("op", [">", ">=", "<", "<=", "IN", "NOT IN"])
def test_param_and_tag_reject_other_comparators(entity: str, op: str) -> None:
    assert "is not supported" in error(f"{entity}.k {op} 'v'")


@pytest.mark.parametrize("name", ["run_id", "run_name", "status", "user_id", "artifact_uri"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_string_attribute_comparators(name: str, op: str) -> None:
    assert terms(f"attributes.{name} {op} 'x'") == [("attribute", name, op, "x")]


@pytest.mark.parametrize("name", ["run_name", "status", "user_id", "artifact_uri"])
@pytest.mark.parametrize("op", ["IN", "NOT IN", ">", "<=", "IS NULL"])
def test_string_attributes_reject_other_comparators(name: str, op: str) -> None:
    assert f"comparator '{op}'" in error(f"{name} {op} ('x')")


@pytest.mark.parametrize("op", ["IN", "NOT IN"])
def test_run_id_in_list(op: str) -> None:
    assert terms(f"run_id {op} ('a', 'b')") == [("attribute", "run_id", op, ("a", "b"))]


@pytest.mark.parametrize("name", ["start_time", "end_time"])
@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_numeric_attribute_comparators(name: str, op: str) -> None:
    assert terms(f"{name} {op} 10") == [("attribute", name, op, 10)]


@pytest.mark.parametrize("op", ["LIKE", "ILIKE", "IN", "NOT IN", "IS NULL"])
def test_numeric_attributes_reject_string_comparators(op: str) -> None:
    assert "is not supported for attribute 'start_time'" in error(f"start_time {op} 1")


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_dataset_scalar_comparators(op: str) -> None:
    assert terms(f"datasets.digest {op} 'abc'") == [("dataset", "digest", op, "abc")]


@pytest.mark.parametrize("op", ["IN", "NOT IN"])
def test_dataset_list_comparators(op: str) -> None:
    assert terms(f"datasets.context {op} ('train', 'eval')") == [("dataset", "context", op, ("train", "eval"))]


@pytest.mark.parametrize("op", [">", "<", "IS NULL", "IS NOT NULL"])
def test_dataset_rejects_other_comparators(op: str) -> None:
    assert "is not supported for datasets.name" in error(f"datasets.name {op} 'x'")


def test_unknown_dataset_key() -> None:
    assert "unknown dataset key 'foo' at column 10; expected one of context, digest, name" in error(
        "datasets.foo = 'x'"
    )


@pytest.mark.parametrize("op", ["==", "<>", "!"])
def test_non_mlflow_operators_rejected(op: str) -> None:
    message = error(f"metrics.a {op} 1")
    assert f"unexpected token '{op}' at column 11; expected a comparator" in message


@pytest.mark.parametrize("text", ["params.a NOT LIKE 'x'", "params.a NOT ILIKE 'x'", "params.a RLIKE 'x'"])
def test_negated_and_regex_patterns_rejected(text: str) -> None:
    error(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.a like 'x'", "LIKE"),
        ("params.a Ilike 'x'", "ILIKE"),
        ("run_id in ('x')", "IN"),
        ("run_id nOt In ('x')", "NOT IN"),
        ("tags.a is null", "IS NULL"),
        ("tags.a Is Not NuLL", "IS NOT NULL"),
        ("tags.a IS\n\tNOT    NULL", "IS NOT NULL"),
    ],
)
def test_keywords_are_case_and_whitespace_insensitive(text: str, expected: str) -> None:
    assert one(text).op == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tags.a IS 'x'", "expected NULL or NOT NULL after IS"),
        ("tags.a IS NOT 'x'", "expected NULL after IS NOT"),
        ("tags.a IS", "unexpected end of input at column 10"),
        ("metrics.a", "unexpected end of input at column 10; expected a comparator"),
    ],
)
def test_incomplete_comparators(text: str, expected: str) -> None:
    assert expected in error(text)


# ------------------------------------------------------------------ conjunctions


def test_and_conjunction_in_order_with_positions() -> None:
    text = "metrics.loss < 0.5 and params.opt = 'adam' AND tags.`team` LIKE 'ml-%'"
    assert parse_filter(text, R) == (
        Comparison("metric", "loss", "<", 0.5, 0),
        Comparison("param", "opt", "=", "adam", 23),
        Comparison("tag", "team", "LIKE", "ml-%", 47),
    )


def test_same_key_twice_is_allowed() -> None:
    assert terms("metrics.a > 1 AND metrics.a < 3") == [
        ("metric", "a", ">", 1.0),
        ("metric", "a", "<", 3.0),
    ]


def test_no_whitespace_needed_around_symbols() -> None:
    assert terms("metrics.a>-1 AND params.b='x'") == [("metric", "a", ">", -1.0), ("param", "b", "=", "x")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.a = 'x' OR params.b = 'y'", "unsupported token 'OR' at column 16; only AND is supported"),
        ("params.a = 'x' or params.b = 'y'", "unsupported token 'or' at column 16"),
        ("(params.a = 'x')", "unexpected token '(' at column 1; expected an identifier (parentheses"),
        ("metrics.a > 1 AND (params.b = 'x')", "unexpected token '(' at column 19"),
        ("NOT params.a = 'x'", "unexpected token 'NOT' at column 1; expected an identifier"),
        ("params.a = 'x' AND", "unexpected end of input at column 19; expected an identifier"),
        ("AND params.a = 'x'", "unexpected token 'AND' at column 1"),
        ("params.a = 'x' AND AND params.b = 'y'", "unexpected token 'AND' at column 20"),
        ("params.a = 'x' params.b = 'y'", "unexpected token 'params.b' at column 16; expected AND"),
        ("params.a = 'x'params.b = 'y'", "unexpected token 'params.b' at column 15"),
        ("params.a = 'x';", "unexpected character ';' at column 15"),
        ("params.a = 'x'; params.b = 'y'", "unexpected character ';' at column 15"),
        ("params.a = 'x' -- comment", "unexpected character '-' at column 16"),
        ("metrics.a > 1 )", "unexpected token ')' at column 15"),
    ],
)
def test_structure_errors(text: str, expected: str) -> None:
    assert expected in error(text)


# ------------------------------------------------------------------ quoting


@pytest.mark.parametrize(
    ("text", "entity", "key"),
    [
        ("metrics.`my key` > 1", "metric", "my key"),
        ('metrics."my key" > 1', "metric", "my key"),
        ("metrics.'my key' > 1", "metric", "my key"),
        ("params.`a-b/c:d` = 'x'", "param", "a-b/c:d"),
        ("tags.`mlflow.runName` = 'x'", "tag", "mlflow.runName"),
        ("tags.mlflow.runName = 'x'", "tag", "mlflow.runName"),
        ("tags.\"mlflow.user\" = 'x'", "tag", "mlflow.user"),
        ("`params`.a = 'x'", "param", "a"),
        ("`params`.`a b` = 'x'", "param", "a b"),
        ("`metrics`.a.b > 1", "metric", "a.b"),
        ("params.1a = 'x'", "param", "1a"),
        ("params.é中 = 'x'", "param", "é中"),
        ("params.`a``b` = 'x'", "param", "a``b"),
        ("`status` = 'x'", "attribute", "status"),
        ("\"status\" = 'x'", "attribute", "status"),
    ],
)
def test_key_quoting(text: str, entity: str, key: str) -> None:
    c = one(text)
    assert (c.entity, c.key) == (entity, key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'status' = 'x'", "unexpected token 'status' at column 1; expected an identifier (single quotes"),
        ("params . a = 'x'", "unexpected token '.' at column 8; expected no whitespace around the '.'"),
        ("params. = 'x'", "unexpected token '=' at column 9; expected a key after 'params.'"),
        ("params.`` = 'x'", "empty key at column 8"),
        ("params.a-b = 'x'", "unexpected character '-' at column 9 (quote keys"),
        ("params.a/b = 'x'", "unexpected character '/' at column 9"),
        ("\"params.a\" = 'x'", "unknown attribute 'params.a' at column 1"),
        ("params.`a b = 'x'", "unterminated quoted text: token ` at column 8"),
        ("`params`.", "unexpected end of input at column 10; expected a key after '`params`.'"),
    ],
)
def test_key_errors(text: str, expected: str) -> None:
    assert expected in error(text)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'x'", "x"),
        ('"x"', "x"),
        ("''", ""),
        ("'with space and %_ wildcards'", "with space and %_ wildcards"),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        # Like the reference server, quoted text is taken verbatim: escapes are not decoded.
        ("'it''s'", "it''s"),
        ("'it\\'s'", "it\\'s"),
        ('"a""b"', 'a""b'),
        ("'multi\nline'", "multi\nline"),
        ("'ünïcödé 中文'", "ünïcödé 中文"),
    ],
)
def test_string_values(literal: str, value: str) -> None:
    assert one(f"params.p = {literal}").value == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.a = 'abc", "unterminated quoted text: token ' at column 12 has no closing '"),
        ('params.a = "abc', 'unterminated quoted text: token " at column 12'),
        ("params.a = 'a\\'", "unterminated quoted text: token ' at column 12"),
        ("params.a = abc", "unexpected token 'abc' at column 12; expected a quoted string for params.a"),
        ("params.a = 1", "unexpected token '1' at column 12; expected a quoted string"),
        ("params.a = `abc`", "unexpected token `abc` at column 12; expected a quoted string"),
        ("params.a = ", "unexpected end of input at column 12; expected a quoted string"),
        ("status = ('x')", "a parenthesised list needs IN or NOT IN"),
    ],
)
def test_string_value_errors(text: str, expected: str) -> None:
    assert expected in error(text)


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1.0),
        ("0", 0.0),
        ("-3", -3.0),
        ("0.25", 0.25),
        ("-0.25", -0.25),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("1e-3", 0.001),
        ("1E+3", 1000.0),
        ("-2.5e-2", -0.025),
        ("12345678901234567890", 12345678901234567890.0),
        ("1e999", float("inf")),
    ],
)
def test_metric_values_are_floats(literal: str, value: float) -> None:
    c = one(f"metrics.m = {literal}")
    assert isinstance(c.value, float)
    assert c.value == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.m = '1'", "unexpected token '1' at column 13; expected a number for metrics.m"),
        ('metrics.m = "1"', "expected a number"),
        ("metrics.m = +1", "unexpected character '+' at column 13"),
        ("metrics.m = - 1", "unexpected character '-' at column 13"),
        ("metrics.m = 0x10", "unexpected token 'x10' at column 14; expected AND"),
        ("metrics.m = nan", "unexpected token 'nan' at column 13; expected a number"),
        ("metrics.m = 1.2.3", "unexpected token '.3' at column 16"),
        ("metrics.m = \u0661", "unexpected character '\u0661' at column 13"),  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_metric_value_errors(text: str, expected: str) -> None:
    assert expected in error(text)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("1700000000000", 1700000000000),
        ("-5", -5),
        ("1e3", 1000),
        ("2.0", 2),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_numeric_attribute_values_are_ints(literal: str, value: int) -> None:
    c = one(f"start_time = {literal}")
    assert type(c.value) is int
    assert c.value == value


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("1.5", "takes an integer (milliseconds since the epoch), got non-integer token '1.5' at column 14"),
        ("1e-3", "non-integer token '1e-3'"),
        ("9223372036854775808", "out of the 64-bit range: token '9223372036854775808' at column 14"),
        ("1e999999999999", "out of the 64-bit range"),
        ("-1e999999999999", "out of the 64-bit range"),
        ("'5'", "unexpected token '5' at column 14; expected an integer for attribute 'start_time'"),
    ],
)
def test_numeric_attribute_value_errors(literal: str, expected: str) -> None:
    assert expected in error(f"start_time > {literal}")


# ------------------------------------------------------------------ IN lists


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("('a')", ("a",)),
        ("('a',)", ("a",)),
        ("('a', 'b', 'c')", ("a", "b", "c")),
        ("(\"a\", 'b')", ("a", "b")),
        ("(  'a'  ,'b'  )", ("a", "b")),
        ("('a,b', 'c)')", ("a,b", "c)")),
    ],
)
def test_in_lists(literal: str, value: tuple[str, ...]) -> None:
    assert one(f"run_id IN {literal}").value == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run_id IN ()", "empty list at column 11; IN needs at least one value"),
        ("run_id NOT IN ( )", "empty list at column 15"),
        ("run_id IN 'a'", "unexpected token 'a' at column 11; expected '(' to start a list"),
        ("run_id IN", "unexpected end of input at column 10; expected '('"),
        ("run_id IN ('a'", "unexpected end of input at column 15; expected ',' or ')'"),
        ("run_id IN ('a' 'b')", "unexpected token 'b' at column 16; expected ',' or ')'"),
        ("run_id IN ('a',,)", "unexpected token ',' at column 16; expected a quoted string"),
        ("run_id IN (,)", "unexpected token ',' at column 12"),
        ("run_id IN ('a', 1)", "unexpected token '1' at column 17; expected a quoted string"),
        ("run_id IN (('a'))", "unexpected token '(' at column 12"),
        ("run_id IN (a)", "unexpected token 'a' at column 12"),
        ("run_id = ('a')", "unexpected token '(' at column 10"),
    ],
)
def test_in_list_errors(text: str, expected: str) -> None:
    assert expected in error(text)


# ------------------------------------------------------------------ error messages


def test_error_message_format_names_token_and_column() -> None:
    message = error("metrics.loss >> 1")
    assert message == (
        "Invalid filter 'metrics.loss >> 1': unexpected token '>' at column 15; expected a number for metrics.loss"
    )


def test_bad_comparator_message_lists_allowed_comparators() -> None:
    assert error("metrics.loss ~ 1") == ("Invalid filter 'metrics.loss ~ 1': unexpected character '~' at column 14")
    assert error("metrics.loss LIKES 1") == (
        "Invalid filter 'metrics.loss LIKES 1': unexpected token 'LIKES' at column 14; "
        "expected a comparator (=, !=, >, >=, <, <=)"
    )


def test_long_filters_are_truncated_in_messages() -> None:
    text = "params.a = '" + "x" * 5000 + "' AND ?"
    message = error(text)
    assert len(message) < 400
    assert f"column {len(text)}" in message


def test_columns_count_characters_not_bytes() -> None:
    assert "at column 19" in error("params.`é中` = 'x' ?")


@pytest.mark.parametrize("text", ["params.a = 'x' $", "params.a = 'x' ?", "params.a = 'x' *", "params.a = 'x' \\"])
def test_stray_characters(text: str) -> None:
    assert "unexpected character" in error(text)


# ------------------------------------------------------------------ run order_by


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.loss", ("metric", "loss", True)),
        ("metrics.loss DESC", ("metric", "loss", False)),
        ("metric.loss desc", ("metric", "loss", False)),
        ("metrics.loss ASC", ("metric", "loss", True)),
        ("metrics.loss aSc", ("metric", "loss", True)),
        ("params.`a b`", ("param", "a b", True)),
        ("params.`a b` DESC", ("param", "a b", False)),
        ('params."a b" DESC', ("param", "a b", False)),
        ("parameters.lr", ("param", "lr", True)),
        ("tags.`mlflow.runName` DESC", ("tag", "mlflow.runName", False)),
        ("attributes.start_time ASC", ("attribute", "start_time", True)),
        ("start_time", ("attribute", "start_time", True)),
        ("created DESC", ("attribute", "start_time", False)),
        ("Created", ("attribute", "start_time", True)),
        ("attr.run_id", ("attribute", "run_id", True)),
        ("run.status", ("attribute", "status", True)),
        ("run_name", ("attribute", "run_name", True)),
        ("end_time", ("attribute", "end_time", True)),
        ("user_id", ("attribute", "user_id", True)),
        ("artifact_uri", ("attribute", "artifact_uri", True)),
        ("  metrics.loss\t DESC  ", ("metric", "loss", False)),
        ("`metrics`.loss", ("metric", "loss", True)),
    ],
)
def test_run_order_by(clause: str, expected: tuple[str, str, bool]) -> None:
    assert order(clause) == [expected]


def test_order_by_several_clauses() -> None:
    assert parse_order_by(["metrics.a DESC", "params.b", "start_time ASC"], R) == (
        OrderKey("metric", "a", False),
        OrderKey("param", "b", True),
        OrderKey("attribute", "start_time", True),
    )


def test_order_by_accepts_a_single_string() -> None:
    assert parse_order_by("metrics.a DESC", R) == (OrderKey("metric", "a", False),)


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("", "empty clause"),
        ("   ", "empty clause"),
        ("metrics.loss DOWN", "unexpected token 'DOWN' at column 14; expected ASC, DESC or the end"),
        ("metrics.loss DESC NULLS LAST", "unexpected token 'NULLS' at column 19; expected the end"),
        ("metrics.loss DESC, params.a", "unexpected token ',' at column 18; expected the end"),
        ("metrics.a b", "unexpected token 'b' at column 11"),
        ("datasets.name", "prefix 'datasets' at column 1 cannot be used in runs order_by"),
        ("`Run name`", "unknown attribute 'Run name' at column 1; runs order_by accept"),
        ("lifecycle_stage", "unknown attribute 'lifecycle_stage'"),
        ("experiment_id", "unknown attribute 'experiment_id'"),
        ("timestamp", "unknown attribute 'timestamp'"),
        ("foo.bar", "unknown entity prefix 'foo'"),
        ("metrics.loss = 1", "unexpected token '=' at column 14"),
        ("metrics.", "unexpected end of input at column 9; expected a key"),
        ("'metrics.loss'", "single quotes are for values"),
    ],
)
def test_run_order_by_errors(clause: str, expected: str) -> None:
    message = order_error(clause)
    assert message.startswith(f"Invalid order_by clause '{clause}': ")
    assert expected in message


@pytest.mark.parametrize(
    "clauses",
    [
        ["metrics.a", "metrics.a DESC"],
        ["metric.a", "metrics.a"],
        ["start_time", "created DESC"],
        ["params.`x`", 'params."x"'],
    ],
)
def test_run_order_by_rejects_duplicates(clauses: list[str]) -> None:
    assert "already ordered on" in order_error(*clauses)


def test_same_key_under_different_entities_is_not_a_duplicate() -> None:
    assert len(order("metrics.a", "params.a", "tags.a")) == 3


# ------------------------------------------------------------------ experiments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name = 'exp'", [("attribute", "name", "=", "exp")]),
        ("attribute.name LIKE 'e%'", [("attribute", "name", "LIKE", "e%")]),
        ("name ILIKE '%E'", [("attribute", "name", "ILIKE", "%E")]),
        ("name != 'x'", [("attribute", "name", "!=", "x")]),
        ("`name` = 'x'", [("attribute", "name", "=", "x")]),
        ("creation_time > 1", [("attribute", "creation_time", ">", 1)]),
        ("last_update_time <= 2", [("attribute", "last_update_time", "<=", 2)]),
        ("experiment_id = '7'", [("attribute", "experiment_id", "=", "7")]),
        ("experiment_id != '7'", [("attribute", "experiment_id", "!=", "7")]),
        ("experiment_id IN ('1', '2')", [("attribute", "experiment_id", "IN", ("1", "2"))]),
        ("experiment_id NOT IN ('1')", [("attribute", "experiment_id", "NOT IN", ("1",))]),
        ("tags.team = 'ml'", [("tag", "team", "=", "ml")]),
        ("tag.`a b` LIKE 'x%'", [("tag", "a b", "LIKE", "x%")]),
        ("tags.t IS NULL", [("tag", "t", "IS NULL", None)]),
        ("tags.t is not null", [("tag", "t", "IS NOT NULL", None)]),
        (
            "name LIKE 'a%' AND tags.x = 'y' AND creation_time >= 0",
            [
                ("attribute", "name", "LIKE", "a%"),
                ("tag", "x", "=", "y"),
                ("attribute", "creation_time", ">=", 0),
            ],
        ),
    ],
)
def test_experiment_filters(text: str, expected: list[tuple[str, str, str, object]]) -> None:
    assert terms(text, E) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.name = 'x'", "unknown entity prefix 'attributes' at column 1; experiments accept"),
        ("attr.name = 'x'", "unknown entity prefix 'attr'"),
        ("params.a = 'x'", "unknown entity prefix 'params'"),
        ("metrics.a > 1", "unknown entity prefix 'metrics'"),
        ("lifecycle_stage = 'active'", "unknown attribute 'lifecycle_stage'"),
        ("run_id = 'x'", "unknown attribute 'run_id'"),
        ("name IS NULL", "comparator 'IS NULL' at column 6 is not supported for attribute 'name'"),
        ("name IN ('a')", "comparator 'IN' at column 6 is not supported"),
        ("name > 'a'", "comparator '>' at column 6 is not supported"),
        ("experiment_id LIKE '1'", "comparator 'LIKE' at column 15 is not supported"),
        ("experiment_id > '1'", "comparator '>' at column 15 is not supported"),
        ("experiment_id = 1", "unexpected token '1' at column 17; expected a quoted string"),
        ("experiment_id = 'abc'", "must be an integer id, got token 'abc' at column 17"),
        ("experiment_id IN ('1', 'x')", "must be an integer id, got token 'x' at column 24"),
        ("experiment_id = '" + "9" * 5000 + "'", "must be an integer id"),
        ("experiment_id = '99999999999999999999'", "must be an integer id"),
        ("creation_time > 5.5", "non-integer token '5.5'"),
        ("creation_time > '5'", "expected an integer for attribute 'creation_time'"),
        ("creation_time LIKE 5", "comparator 'LIKE'"),
        ("tags.a > 'x'", "comparator '>'"),
        ("tags.a IN ('x')", "comparator 'IN'"),
    ],
)
def test_experiment_filter_errors(text: str, expected: str) -> None:
    assert expected in error(text, E)


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("name", ("attribute", "name", True)),
        ("name DESC", ("attribute", "name", False)),
        ("experiment_id asc", ("attribute", "experiment_id", True)),
        ("creation_time", ("attribute", "creation_time", True)),
        ("last_update_time DESC", ("attribute", "last_update_time", False)),
        ("attribute.name", ("attribute", "name", True)),
    ],
)
def test_experiment_order_by(clause: str, expected: tuple[str, str, bool]) -> None:
    assert order(clause, grammar=E) == [expected]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("tags.a", "prefix 'tags' at column 1 cannot be used in experiments order_by"),
        ("lifecycle_stage", "unknown attribute 'lifecycle_stage'"),
        ("attributes.name", "unknown entity prefix 'attributes'"),
        ("metrics.a", "unknown entity prefix 'metrics'"),
        ("start_time", "unknown attribute 'start_time'"),
    ],
)
def test_experiment_order_by_errors(clause: str, expected: str) -> None:
    assert expected in order_error(clause, grammar=E)


def test_experiment_order_by_allows_repeats_like_the_reference_server() -> None:
    assert order("name", "name DESC", grammar=E) == [
        ("attribute", "name", True),
        ("attribute", "name", False),
    ]


# ------------------------------------------------------------------ grammar reuse


def test_grammar_introspection() -> None:
    assert R.attribute_names() == (
        "artifact_uri",
        "end_time",
        "run_id",
        "run_name",
        "start_time",
        "status",
        "user_id",
    )
    attr = R.attribute("Created")
    assert attr is not None and attr.name == "start_time"
    assert R.attribute("Run name") is not None
    assert R.attribute("Run name", for_order=True) is None
    assert "datasets" in R.prefix_names()
    assert E.prefix_names() == ("attribute", "tag", "tags")


def test_custom_grammar() -> None:
    model_versions = Grammar(
        name="model versions",
        prefixes={"attribute": "attribute", "tags": "tag"},
        attributes=(
            Attribute("name", KeyRule("string", frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}))),
            Attribute("version_number", KeyRule("int", frozenset({"=", ">", "<"})), aliases=("version",)),
            Attribute("source_path", KeyRule("string", frozenset({"="})), orderable=False),
        ),
        entities={"tag": EntitySpec(KeyRule("string", frozenset({"=", "!="})), orderable=False)},
    )
    assert terms("name IN ('a', 'b') AND version > 2 AND tags.x != 'y'", model_versions) == [
        ("attribute", "name", "IN", ("a", "b")),
        ("attribute", "version_number", ">", 2),
        ("tag", "x", "!=", "y"),
    ]
    assert "model versions order_by accept name, version_number" in order_error("source_path", grammar=model_versions)
    assert "unknown entity prefix 'metrics'" in error("metrics.a > 1", model_versions)


# ============================================================ property tests
#
# A renderer turns an AST back into filter text.  It can render canonically or with a
# randomised "style": random whitespace, random keyword case, random prefix aliases and
# random quoting, which must not change the parse.

_BARE_KEY = re.compile(r"[\w.]+")  # after "prefix." the lexer takes [\w.]+ as part of the identifier
_BARE_NAME = re.compile(r"[^\W\d]\w*")  # an unprefixed identifier
_QUOTE_BODIES = {
    "`": re.compile(r"(?:[^`]|``)*", re.DOTALL),
    '"': re.compile(r'(?:[^"\\]|\\.|"")*', re.DOTALL),
    "'": re.compile(r"(?:[^'\\]|\\.|'')*", re.DOTALL),
}
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})


def quotings(content: str, quotes: str) -> list[str]:
    """Every way of quoting ``content`` with the given quote characters that reads back verbatim."""
    return [f"{q}{content}{q}" for q in quotes if _QUOTE_BODIES[q].fullmatch(content)]


class Style:
    """How to render: canonical (draw is None) or randomised through hypothesis' data.draw."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any] | None = None) -> None:
        self.draw = draw

    def pick(self, options: Sequence[str]) -> str:
        assert options
        return options[0] if self.draw is None else str(self.draw(st.sampled_from(options)))

    def ws(self, *, required: bool) -> str:
        if self.draw is None:
            return " "
        return str(self.draw(st.text(alphabet=" \t\r\n", min_size=1 if required else 0, max_size=3)))

    def kw(self, word: str) -> str:
        if self.draw is None:
            return word
        flips = self.draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
        return "".join(c.lower() if flip else c for c, flip in zip(word, flips, strict=True))


def prefixes_for(grammar: Grammar, entity: str) -> list[str]:
    return sorted(p for p, e in grammar.prefixes.items() if e == entity)


def render_identifier(grammar: Grammar, c: Comparison, style: Style, *, for_order: bool = False) -> str:
    options: list[str] = []
    if c.entity == "attribute":
        attr = grammar.attribute(c.key, for_order=for_order)
        assert attr is not None
        for spelling in (attr.name, *(attr.order_aliases if for_order else attr.aliases)):
            if _BARE_NAME.fullmatch(spelling) and spelling.upper() not in _KEYWORDS:
                options.append(spelling)
            options.extend(quotings(spelling, '`"'))
            for prefix in prefixes_for(grammar, "attribute"):
                if _BARE_KEY.fullmatch(spelling):
                    options.append(f"{prefix}.{spelling}")
                options.extend(f"{prefix}.{q}" for q in quotings(spelling, "`\"'"))
    else:
        for prefix in prefixes_for(grammar, c.entity):
            if _BARE_KEY.fullmatch(c.key):
                options.append(f"{prefix}.{c.key}")
            options.extend(f"{prefix}.{q}" for q in quotings(c.key, "`\"'"))
            options.extend(f"`{prefix}`.{q}" for q in quotings(c.key, "`\"'"))
    if not options:
        raise ValueError(f"cannot render key {c.key!r}")
    return style.pick(options)


def render_string(value: str, style: Style) -> str:
    options = quotings(value, "'\"")
    if not options:
        raise ValueError(f"cannot render value {value!r}")
    return style.pick(options)


def render_comparison(grammar: Grammar, c: Comparison, style: Style) -> str:
    out = render_identifier(grammar, c, style)
    if c.op in ("=", "!=", ">", ">=", "<", "<="):
        out += style.ws(required=False) + c.op + style.ws(required=False)
    else:
        words = [style.kw(word) for word in c.op.split()]
        out += style.ws(required=True) + style.ws(required=True).join(words)
        if c.value is not None:
            out += style.ws(required=c.op in ("LIKE", "ILIKE"))
    if isinstance(c.value, tuple):
        items = [render_string(v, style) for v in c.value]
        sep = "," + style.ws(required=False)
        trailing = style.pick(["", ","]) if style.draw is not None else ""
        out += "(" + style.ws(required=False) + sep.join(items) + trailing + style.ws(required=False) + ")"
    elif isinstance(c.value, str):
        out += render_string(c.value, style)
    elif isinstance(c.value, (int, float)):
        out += repr(c.value)
    return out


def render_filter(grammar: Grammar, comparisons: Sequence[Comparison], style: Style) -> tuple[str, list[int]]:
    """Render to text; also return where each comparison starts."""
    text = style.ws(required=False) if style.draw is not None else ""
    positions: list[int] = []
    for i, c in enumerate(comparisons):
        if i:
            text += style.ws(required=True) + style.kw("AND") + style.ws(required=True)
        positions.append(len(text))
        text += render_comparison(grammar, c, style)
    if style.draw is not None:
        text += style.ws(required=False)
    return text, positions


_KEY_ALPHABET = st.sampled_from([*"abcXYZ_019.", " ", "-", "/", ":", "é", "中", "`", '"', "'", "%"])
_VALUE_ALPHABET = st.sampled_from([*"abcXYZ019 _%.-/", "'", '"', "\\", "é", "中", "\n", "`", "(", ")", ","])
_keys = st.text(_KEY_ALPHABET, min_size=1, max_size=8)
_strings = st.text(_VALUE_ALPHABET, max_size=8)


@st.composite
def comparisons(draw: Callable[[st.SearchStrategy[Any]], Any], grammar: Grammar) -> Comparison:
    """A valid comparison for ``grammar`` (position 0)."""
    targets: list[tuple[str, st.SearchStrategy[str], KeyRule]] = [
        ("attribute", st.just(attr.name), attr.rule) for attr in grammar.attributes
    ]
    for entity, spec in grammar.entities.items():
        keys = _keys if spec.keys is None else st.sampled_from(sorted(spec.keys))
        targets.append((entity, keys, spec.rule))
    entity, key_strategy, rule = draw(st.sampled_from(targets))
    key = draw(key_strategy)
    op = draw(st.sampled_from([op for op in ALL_COMPARATORS if op in rule.ops]))
    value: str | float | int | tuple[str, ...] | None
    if op in ("IS NULL", "IS NOT NULL"):
        value = None
    elif rule.value_type == "float":
        value = draw(st.floats(allow_nan=False, allow_infinity=False))
    elif rule.value_type == "int":
        value = draw(st.integers(min_value=-(2**63), max_value=2**63 - 1))
    else:
        item = st.integers(0, 2**63 - 1).map(str) if rule.value_type == "integer_string" else _strings
        value = tuple(draw(st.lists(item, min_size=1, max_size=4))) if op in ("IN", "NOT IN") else draw(item)
    return Comparison(entity, key, op, value, 0)


def renderable(grammar: Grammar, cs: Sequence[Comparison]) -> bool:
    try:
        render_filter(grammar, cs, Style())
    except ValueError:
        return False
    return True


_GRAMMARS = st.sampled_from([RUN_GRAMMAR, EXPERIMENT_GRAMMAR])


@st.composite
def filters(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[Grammar, list[Comparison]]:
    grammar = draw(_GRAMMARS)
    cs = draw(st.lists(comparisons(grammar), min_size=1, max_size=4).filter(lambda cs: renderable(grammar, cs)))
    return grammar, cs


def without_positions(cs: Sequence[Comparison]) -> list[Comparison]:
    return [dataclasses.replace(c, position=0) for c in cs]


@settings(max_examples=150, deadline=None)
@given(filters())
def test_parse_inverts_render(case: tuple[Grammar, list[Comparison]]) -> None:
    grammar, cs = case
    text, positions = render_filter(grammar, cs, Style())
    parsed = parse_filter(text, grammar)
    assert without_positions(parsed) == cs
    assert [c.position for c in parsed] == positions


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters(), st.data())
def test_whitespace_case_prefix_and_quoting_do_not_change_the_parse(
    case: tuple[Grammar, list[Comparison]], data: st.DataObject
) -> None:
    grammar, cs = case
    text, positions = render_filter(grammar, cs, Style(data.draw))
    parsed = parse_filter(text, grammar)
    assert without_positions(parsed) == cs, text
    assert [c.position for c in parsed] == positions


@st.composite
def order_cases(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[Grammar, str, OrderKey]:
    grammar = draw(_GRAMMARS)
    targets: list[tuple[str, st.SearchStrategy[str]]] = [
        ("attribute", st.just(attr.name)) for attr in grammar.attributes if attr.orderable
    ]
    targets += [(e, _keys) for e, spec in grammar.entities.items() if spec.orderable and spec.keys is None]
    entity, keys = draw(st.sampled_from(targets))
    key = draw(keys)
    style = Style(draw)
    target = Comparison(entity, key, "=", None, 0)
    try:
        ident = render_identifier(grammar, target, style, for_order=True)
    except ValueError:
        assume(False)
    direction = draw(st.sampled_from(["", "ASC", "DESC"]))
    clause = style.ws(required=False) + ident
    if direction:
        clause += style.ws(required=True) + style.kw(direction)
    clause += style.ws(required=False)
    return grammar, clause, OrderKey(entity, key, direction != "DESC")


@settings(max_examples=200, deadline=None)
@given(order_cases())
def test_order_by_round_trip(case: tuple[Grammar, str, OrderKey]) -> None:
    grammar, clause, expected = case
    assert parse_order_by([clause], grammar) == (expected,)


def only_mlflow_errors(text: str) -> None:
    for grammar in (RUN_GRAMMAR, EXPERIMENT_GRAMMAR):
        try:
            result = parse_filter(text, grammar)
        except MlflowError as exc:
            assert exc.error_code == INVALID_PARAMETER_VALUE
            # Every refusal names the column, but a whitespace-only filter (the reference's words).
            assert "column" in exc.message or exc.message == f"Invalid filter '{text}'. Could not be parsed."
        else:
            assert isinstance(result, tuple)
            assert all(isinstance(c, Comparison) for c in result)
        try:
            parse_order_by([text], grammar)
        except MlflowError as exc:
            assert exc.error_code == INVALID_PARAMETER_VALUE


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_only_raises_mlflow_error(text: str) -> None:
    only_mlflow_errors(text)


_FRAGMENTS = st.sampled_from(
    [
        "metrics.", "params.", "tags.", "attributes.", "datasets.", "run_id", "start_time", "name",
        "experiment_id", "creation_time", "status", "loss", "`", "'", '"', "(", ")", ",", ".", " ",
        " AND ", " OR ", " IN ", " NOT ", " IS ", " NULL", " LIKE ", "=", "!=", ">", "<", ">=", "<=",
        "1", "-", "0.5", "1e999", "e", "x", "\\", "é", "9" * 30, ";", "$",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=14).map("".join))
def test_grammar_like_noise_only_raises_mlflow_error(text: str) -> None:
    only_mlflow_errors(text)


@settings(max_examples=100, deadline=None)
@given(filters(), st.data())
def test_mutated_valid_filters_only_raise_mlflow_error(
    case: tuple[Grammar, list[Comparison]], data: st.DataObject
) -> None:
    grammar, cs = case
    text, _ = render_filter(grammar, cs, Style())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        if data.draw(st.booleans()) and at < len(text):
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + data.draw(st.sampled_from(list("'\"`() ,.=<>!-1aé"))) + text[at:]
    only_mlflow_errors(text)
