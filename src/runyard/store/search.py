"""Compile the search AST (`runyard.domain.search_filter`) to one SQL statement per page.

Runs: every clause becomes a correlated EXISTS on a primary-key prefix (params, tags, latest
metrics), so the database walks the experiment's runs once and probes each child table by key.
Ordering by a metric/param/tag is an outer join on the same keys. NULL and NaN sort after real
values in either direction, then `start_time DESC`, then `run_uuid`, as the reference server does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, literal, or_, select, true

from runyard.domain.errors import invalid
from runyard.domain.search_filter import Comparison, OrderKey
from runyard.domain.validation import parse_ascii_int
from runyard.store import schema

_R = schema.runs
_E = schema.experiments

KeyLookup = Callable[[str], "int | None"]

RUN_ATTRIBUTE_COLUMNS = {
    "run_id": _R.c.run_uuid,
    "run_name": _R.c.name,
    "status": _R.c.status,
    "start_time": _R.c.start_time,
    "end_time": _R.c.end_time,
    "user_id": _R.c.user_id,
    "artifact_uri": _R.c.artifact_uri,
    "lifecycle_stage": _R.c.lifecycle_stage,
}

EXPERIMENT_ATTRIBUTE_COLUMNS = {
    "experiment_id": _E.c.experiment_id,
    "name": _E.c.name,
    "creation_time": _E.c.creation_time,
    "last_update_time": _E.c.last_update_time,
    "lifecycle_stage": _E.c.lifecycle_stage,
}


def compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    """`column <op> value` for every comparator of the grammar."""
    if op == "=":
        return column == value  # type: ignore[no-any-return]
    if op == "!=":
        return column != value  # type: ignore[no-any-return]
    if op == ">":
        return column > value  # type: ignore[no-any-return]
    if op == ">=":
        return column >= value  # type: ignore[no-any-return]
    if op == "<":
        return column < value  # type: ignore[no-any-return]
    if op == "<=":
        return column <= value  # type: ignore[no-any-return]
    if op == "LIKE":
        return column.like(value)  # type: ignore[no-any-return]
    if op == "ILIKE":
        return column.ilike(value)  # type: ignore[no-any-return]
    if op == "RLIKE":
        return column.regexp_match(value)  # type: ignore[no-any-return]
    if op == "IN":
        return column.in_(list(value))  # type: ignore[no-any-return]
    if op == "NOT IN":
        return column.not_in(list(value))  # type: ignore[no-any-return]
    if op == "IS NULL":
        return column.is_(None)  # type: ignore[no-any-return]
    if op == "IS NOT NULL":
        return column.is_not(None)  # type: ignore[no-any-return]
    raise invalid(f"Unsupported comparator '{op}'")


# --- pagination -------------------------------------------------------------------------------


def encode_page_token(offset: int, after: Any = None) -> str:
    """An opaque token: the offset of the next page, and optionally where the last page ended."""
    data: dict[str, Any] = {"offset": offset}
    if after is not None:
        data["after"] = after
    return base64.b64encode(json.dumps(data).encode()).decode()


# Offsets beyond this cannot name a row (and offset + page size stays inside int64 in SQL).
MAX_PAGE_OFFSET = 2**62
# Tokens this server issues are well under 1 KiB.
_MAX_TOKEN_LENGTH = 4096


def decode_page_token(token: str | None) -> int:
    return decode_page_token_with_position(token)[0]


def decode_page_token_with_position(token: str | None) -> tuple[int, Any]:
    """The token's offset and its `after` member (None when absent); offset 0 for no token.

    A token comes back from the client and may be forged: anything that is not a JSON object with
    an integer `offset` in [0, MAX_PAGE_OFFSET] is refused with INVALID_PARAMETER_VALUE. `after` is
    returned as decoded; its reader (e.g. `metric_series.parse_position`) checks it.
    """
    if not token:
        return 0, None
    if len(token) > _MAX_TOKEN_LENGTH:
        raise invalid(f"Invalid page token: longer than {_MAX_TOKEN_LENGTH} characters.")
    try:
        data = json.loads(base64.b64decode(token, validate=True))
    except (ValueError, RecursionError):  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise invalid(f"Invalid page token, could not base64-decode: '{token}'") from None
    offset = data.get("offset") if isinstance(data, dict) else None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_PAGE_OFFSET:
        raise invalid(f"Invalid page token, offset must be an integer from 0 to {MAX_PAGE_OFFSET}: '{token}'")
    return offset, data.get("after")


# --- runs -------------------------------------------------------------------------------------


def run_filter(clauses: Sequence[Comparison], key_id: KeyLookup) -> list[ColumnElement[bool]]:
    return [_run_clause(c, key_id) for c in clauses]


def _run_clause(c: Comparison, key_id: KeyLookup) -> ColumnElement[bool]:
    if c.entity == "attribute":
        column = RUN_ATTRIBUTE_COLUMNS.get(c.key)
        if column is None:
            raise invalid(f"Invalid attribute key '{c.key}' specified.")
        return compare(column, c.op, c.value)
    if c.entity == "dataset":
        return _dataset_clause(c)

    table = {"metric": schema.latest_metrics, "param": schema.params, "tag": schema.run_tags}[c.entity]
    kid = key_id(c.key)
    presence = select(literal(1)).select_from(table).where(table.c.run_id == _R.c.id, table.c.key_id == (kid or -1))
    if c.op == "IS NULL":
        return ~exists(presence) if kid is not None else true()
    if c.op == "IS NOT NULL":
        return exists(presence) if kid is not None else false()
    if kid is None:
        return false()
    condition = compare(table.c.value, c.op, c.value)
    if c.entity == "metric":
        # NaN is stored as 0 with is_nan set: it satisfies only "!=".
        condition = or_(condition, table.c.is_nan) if c.op == "!=" else and_(condition, ~table.c.is_nan)
    return exists(presence.where(condition))


def _dataset_clause(c: Comparison) -> ColumnElement[bool]:
    di, d = schema.dataset_inputs, schema.datasets
    column = {"name": d.c.name, "digest": d.c.digest, "context": di.c.context}.get(c.key)
    if column is None:
        raise invalid(f"Invalid dataset key '{c.key}' specified.")
    sub = (
        select(literal(1))
        .select_from(di.join(d, d.c.id == di.c.dataset_id))
        .where(di.c.run_id == _R.c.id, compare(column, c.op, c.value))
    )
    return exists(sub)


def run_ordering(stmt: Select[Any], order: Sequence[OrderKey], key_id: KeyLookup) -> tuple[Select[Any], list[Any]]:
    """Outer-join what the ORDER BY needs and return (statement, ORDER BY expressions)."""
    clauses: list[Any] = []
    seen: set[tuple[str, str]] = set()
    for i, o in enumerate(order):
        if (o.entity, o.key) in seen:
            raise invalid(f"`order_by` contains duplicate fields: {o.entity}.{o.key}")
        seen.add((o.entity, o.key))
        if o.entity == "attribute":
            column: Any = RUN_ATTRIBUTE_COLUMNS.get(o.key)
            if column is None:
                raise invalid(f"Invalid order_by attribute '{o.key}'")
            clauses.append(case((column.is_(None), 1), else_=0))
        elif o.entity in ("metric", "param", "tag"):
            table = {"metric": schema.latest_metrics, "param": schema.params, "tag": schema.run_tags}[o.entity]
            alias = table.alias(f"order_{i}")
            kid = key_id(o.key)
            stmt = stmt.outerjoin(alias, and_(alias.c.run_id == _R.c.id, alias.c.key_id == (kid or -1)))
            column = alias.c.value
            if o.entity == "metric":
                clauses.append(case((alias.c.is_nan == true(), 1), (column.is_(None), 2), else_=0))
            else:
                clauses.append(case((column.is_(None), 1), else_=0))
        else:
            raise invalid(f"Invalid order_by entity '{o.entity}'")
        clauses.append(column.asc() if o.ascending else column.desc())
    if ("attribute", "start_time") not in seen:
        clauses.append(_R.c.start_time.desc())
    clauses.append(_R.c.run_uuid)
    return stmt, clauses


# --- experiments ------------------------------------------------------------------------------


def experiment_filter(clauses: Sequence[Comparison]) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    t = schema.experiment_tags
    for c in clauses:
        if c.entity == "attribute":
            column = EXPERIMENT_ATTRIBUTE_COLUMNS.get(c.key)
            if column is None:
                raise invalid(f"Invalid attribute key '{c.key}' specified.")
            value = c.value
            if c.key == "experiment_id":
                value = _int_values(value)
            out.append(compare(column, c.op, value))
        elif c.entity == "tag":
            presence = (
                select(literal(1)).select_from(t).where(t.c.experiment_id == _E.c.experiment_id, t.c.key == c.key)
            )
            if c.op == "IS NULL":
                out.append(~exists(presence))
            elif c.op == "IS NOT NULL":
                out.append(exists(presence))
            else:
                out.append(exists(presence.where(compare(t.c.value, c.op, c.value))))
        else:
            raise invalid(f"Invalid entity type '{c.entity}' in experiment filter.")
    return out


def _int_values(value: Any) -> Any:
    def one(v: Any) -> int:
        return parse_ascii_int(
            v, "experiment_id", error=f"Invalid experiment_id value {value!r}: experiment ids are integers."
        )

    return tuple(one(v) for v in value) if isinstance(value, tuple) else one(value)


def experiment_ordering(order: Sequence[OrderKey]) -> list[Any]:
    clauses: list[Any] = []
    keys = list(order) or [
        OrderKey("attribute", "creation_time", False),
        OrderKey("attribute", "experiment_id", True),
    ]
    for o in keys:
        column = EXPERIMENT_ATTRIBUTE_COLUMNS.get(o.key) if o.entity == "attribute" else None
        if column is None:
            raise invalid(f"Invalid order_by entity: {o.entity}.{o.key}")
        clauses.append(column.asc() if o.ascending else column.desc())
    if not any(o.key == "experiment_id" for o in keys):
        clauses.append(_E.c.experiment_id.desc())
    return clauses


__all__ = [
    "decode_page_token",
    "encode_page_token",
    "experiment_filter",
    "experiment_ordering",
    "run_filter",
    "run_ordering",
]
