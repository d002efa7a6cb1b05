"""Rules every write obeys: key syntax, lengths, batch sizes and metric values (MLflow's rules)."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from runyard.domain import limits
from runyard.domain.errors import invalid

_KEY_RE = re.compile(r"^[/\w.\- :]*$")
# ASCII digits only: `int()` and `str.isdigit()` also take full-width (U+FF11) and superscript (U+00B2) digits.
_ASCII_INT_RE = re.compile(r"-?[0-9]{1,19}")
INT64_MAX = 2**63 - 1
NUL = "\x00"
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def _render(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def invalid_value_message(path: str, value: object, reason: str | None = None) -> str:
    base = f"Invalid value {_render(value)} for parameter '{path}' supplied"
    return f"{base}: {reason}" if reason else f"{base}."


# The reference server's wording for a required field that is absent, null or "" (the three are
# one case in proto-JSON).
MISSING_VALUE_HINT = "See the API docs for more information about request parameters."


def missing_value_message(path: str) -> str:
    return f"Missing value for required parameter '{path}'. {MISSING_VALUE_HINT}"


def check_max_results(limit: int, maximum: int) -> int:
    """`max_results` of runs/search and experiments/search, refused in the reference's words."""
    if limit < 1:
        raise invalid(f"Invalid value {limit} for parameter 'max_results' supplied. It must be a positive integer")
    if limit > maximum:
        raise invalid(f"Invalid value {limit} for parameter 'max_results' supplied. It must be at most {maximum}")
    return limit


def require_value(value: str | None, path: str) -> str:
    """A required string field: absent, null and "" are all missing (proto-JSON's rule)."""
    if not value:
        raise invalid(missing_value_message(path))
    return value


# Keys repeat constantly (the same few metric names in every batch): remember the valid ones.
_VALID_KEYS: set[str] = set()
_VALID_KEYS_LIMIT = 100_000


def validate_key(key: str, path: str = "key", what: str = "Key") -> None:
    """Metric, param and tag keys: MLflow's character set, no path tricks, at most 250 characters."""
    if key in _VALID_KEYS:
        return
    if not key:
        raise invalid(missing_value_message(path))  # the reference: "" is a missing key
    _check_key(key, path, what)
    if len(_VALID_KEYS) >= _VALID_KEYS_LIMIT:
        _VALID_KEYS.clear()
    _VALID_KEYS.add(key)


def _check_key(key: str, path: str, what: str) -> None:
    if not _KEY_RE.match(key):
        raise invalid(
            invalid_value_message(
                path,
                key,
                "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
                "spaces ( ), colon(:) and slashes (/).",
            )
        )
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith("..") or norm.startswith("/"):
        raise invalid(
            invalid_value_message(
                path,
                key,
                "Names may be treated as files in certain cases, and must not resolve to other names "
                f"when treated as such. This name would resolve to {norm!r}",
            )
        )
    if len(key) > limits.MAX_KEY_LENGTH:
        raise invalid(f"{what} '{path}' exceeds the maximum length of {limits.MAX_KEY_LENGTH} characters")


def truncate(value: str, limit: int) -> str:
    """Param and run-tag values longer than the limit are stored truncated (MLflow's documented default)."""
    return value if len(value) <= limit else value[:limit]


def validate_length(path: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise invalid(f"'{path}' exceeds the maximum length of {limit} characters")


def validate_metric(key: str, value: float, timestamp: int, path: str = "") -> None:
    """Key rules and a non-negative timestamp (the value's type is settled by request parsing)."""
    prefix = f"{path}." if path else ""
    validate_key(key, f"{prefix}key", "Metric name")
    if timestamp < 0:
        raise invalid(
            invalid_value_message(
                f"{prefix}timestamp",
                timestamp,
                f"metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer)",
            )
        )


def validate_metrics(metrics: Sequence[tuple[Any, ...]], single: bool = False) -> None:
    """`validate_metric` for (key, value, timestamp, ...) points, paths `metrics[i]` (or none if `single`).

    The common case — keys seen before, timestamps not negative — is checked in one pass without
    building a path for every point.
    """
    if all(m[0] in _VALID_KEYS and m[2] >= 0 for m in metrics):
        return
    for i, m in enumerate(metrics):
        validate_metric(m[0], m[1], m[2], "" if single else f"metrics[{i}]")


def validate_run_id(run_id: str, path: str = "run_id") -> None:
    if not _RUN_ID_RE.match(run_id):
        raise invalid(invalid_value_message(path, run_id))


def validate_experiment_name(name: str | None, path: str = "name") -> str:
    if name is None or name == "":
        raise invalid(missing_value_message(path))
    if len(name) > limits.MAX_EXPERIMENT_NAME_LENGTH:
        raise invalid(f"'name' exceeds the maximum length of {limits.MAX_EXPERIMENT_NAME_LENGTH} characters")
    return name


def validate_batch_sizes(n_metrics: int, n_params: int, n_tags: int) -> None:
    def check(what: str, limit: int, count: int) -> None:
        if count > limit:
            raise invalid(
                f"A batch logging request can contain at most {limit} {what}. Got {count} {what}. "
                f"Please split up {what} across multiple requests and try again."
            )

    check("metrics", limits.MAX_METRICS_PER_BATCH, n_metrics)
    check("params", limits.MAX_PARAMS_TAGS_PER_BATCH, n_params)
    check("tags", limits.MAX_PARAMS_TAGS_PER_BATCH, n_tags)
    check("metrics, params, and tags", limits.MAX_ENTITIES_PER_BATCH, n_metrics + n_params + n_tags)


def validate_unique_param_keys(keys: Sequence[str]) -> None:
    seen: set[str] = set()
    dupes: list[str] = []
    for key in keys:
        if key in seen:
            dupes.append(key)
        seen.add(key)
    if dupes:
        raise invalid(
            f"Duplicate parameter keys have been submitted: {dupes}. Please ensure the request "
            "contains only one param value per param key."
        )


def parse_ascii_int(
    value: object, field: str, maximum: int = INT64_MAX, *, minimum: int = 0, error: str | None = None
) -> int:
    """An integer sent as ASCII decimal digits (or as a JSON integer), within [minimum, maximum].

    The one rule for integers in untrusted input: ids, versions, enum numbers. Python's `int()`
    accepts Unicode digits (U+FF11), surrounding spaces and underscores (" 1", "1_0"); none of those is
    an id here. `error` replaces the default message (which names `field` and the rule).
    """
    parsed: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = value
    elif isinstance(value, str) and _ASCII_INT_RE.fullmatch(value):
        parsed = int(value)
    if parsed is None or not minimum <= parsed <= maximum:
        raise invalid(
            error
            or invalid_value_message(
                field, value, f"must be an integer written in ASCII digits, from {minimum} to {maximum}"
            )
        )
    return parsed


def parse_experiment_id(value: str | int, path: str = "experiment_id") -> int:
    """An experiment id: an int64 in ASCII digits. A negative one is well-formed (it names no
    experiment, so lookups answer RESOURCE_DOES_NOT_EXIST, as the reference does); "" is missing."""
    if value == "":
        raise invalid(missing_value_message(path))
    return parse_ascii_int(
        value,
        path,
        minimum=-(2**63),
        error=f"Invalid experiment ID '{value}'. Experiment ID must be a valid integer.",
    )


def find_nul(data: object, path: str = "") -> str | None:
    """The location (`tags[0].key`) of the first string holding NUL in decoded JSON, or None.

    Dictionary keys count too (the location is then the key's own). Iterative, so deeply nested
    input cannot exhaust the stack.
    """
    stack: list[tuple[str, object]] = [(path, data)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return where or "(request body)"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                if NUL in key:
                    return child_path
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in enumerate(item))
    return None


def nul_message(field: str) -> str:
    return f"Invalid value for parameter '{field}' supplied: it must not contain the NUL character (U+0000)."


def reject_nul(value: str, field: str) -> None:
    """Strings bound for the database must not hold NUL (PostgreSQL refuses it; keep SQLite alike)."""
    if NUL in value:
        raise invalid(nul_message(field))
