"""Logged models (MLflow 3): model rows, their narrow tags/params/metrics, and search compiled to SQL.

Reads are set-based: a page of models costs one query for the page plus one per child table.
Search compiles the logged-model filter AST (`runyard.domain.search_filter.LOGGED_MODEL_GRAMMAR`)
to correlated EXISTS probes on primary-key prefixes of the child tables, as run search does.
A `metrics.<key>` clause matches a model when any of its points for that key matches (the
reference server's rule); ordering by a metric uses the model's latest point for that key
(newest timestamp, then step), optionally restricted to one dataset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    exists,
    false,
    literal,
    null,
    or_,
    select,
    true,
    update,
)

from runyard.domain.errors import invalid
from runyard.domain.search_filter import Comparison
from runyard.store import schema
from runyard.store.dialect import insert
from runyard.store.search import KeyLookup, compare

_M = schema.logged_models
_T = schema.logged_model_tags
_P = schema.logged_model_params
_X = schema.logged_model_metrics
_E = schema.experiments
_K = schema.keys
_R = schema.runs

ACTIVE = "active"
DELETED = "deleted"


# --- entities ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedModelInfo:
    model_id: str
    experiment_id: int
    name: str
    artifact_uri: str
    status: str  # PENDING, READY, FAILED or UNSPECIFIED
    status_message: str | None
    model_type: str
    source_run_id: str
    lifecycle_stage: str
    creation_time: int
    last_updated_time: int


@dataclass(frozen=True)
class ModelMetric:
    """One metric point of a logged model, with the run that logged it."""

    key: str
    value: float
    timestamp: int
    step: int
    run_id: str
    dataset_name: str | None
    dataset_digest: str | None


@dataclass
class LoggedModel:
    info: LoggedModelInfo
    tags: list[tuple[str, str]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[ModelMetric] = field(default_factory=list)


@dataclass(frozen=True)
class LoggedModelRow:
    """A model as the services see it: its surrogate key, its workspace, and its public info."""

    pk: int
    workspace_id: int
    info: LoggedModelInfo


@dataclass(frozen=True)
class MetricPoint:
    """A point to link to a model: interned key, value, and where it came from."""

    model_pk: int
    key_id: int
    value: float
    timestamp: int
    step: int
    run_pk: int
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class MetricOrder:
    """One `order_by` entry resolved against the grammar: an attribute or a metric key."""

    entity: str  # "attribute" or "metric"
    key: str
    ascending: bool
    dataset_name: str | None = None
    dataset_digest: str | None = None


# --- rows -------------------------------------------------------------------------------------

MODEL_COLUMNS = (
    _M.c.id,
    _M.c.model_id,
    _M.c.experiment_id,
    _M.c.name,
    _M.c.artifact_uri,
    _M.c.status,
    _M.c.status_message,
    _M.c.model_type,
    _M.c.source_run_id,
    _M.c.lifecycle_stage,
    _M.c.creation_time,
    _M.c.last_updated_time,
    _E.c.workspace_id,
)


def row_to_model_row(row: Any) -> LoggedModelRow:
    m = row._mapping
    return LoggedModelRow(
        pk=int(m["id"]),
        workspace_id=int(m["workspace_id"]),
        info=LoggedModelInfo(
            model_id=str(m["model_id"]),
            experiment_id=int(m["experiment_id"]),
            name=str(m["name"]),
            artifact_uri=str(m["artifact_uri"]),
            status=str(m["status"]),
            status_message=m["status_message"],
            model_type=m["model_type"] or "",
            source_run_id=m["source_run_id"] or "",
            lifecycle_stage=str(m["lifecycle_stage"]),
            creation_time=int(m["creation_time"]),
            last_updated_time=int(m["last_updated_time"]),
        ),
    )


def base_query() -> Select[Any]:
    return select(*MODEL_COLUMNS).select_from(_M.join(_E, _E.c.experiment_id == _M.c.experiment_id))


def get(conn: Connection, model_id: str) -> LoggedModelRow | None:
    row = conn.execute(base_query().where(_M.c.model_id == model_id)).first()
    return row_to_model_row(row) if row else None


def pks_for(conn: Connection, workspace_id: int, model_ids: Iterable[str]) -> dict[str, int]:
    """Surrogate keys of the given models that exist in the workspace (deleted ones included)."""
    wanted = list(set(model_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(_M.c.model_id, _M.c.id)
        .select_from(_M.join(_E, _E.c.experiment_id == _M.c.experiment_id))
        .where(_M.c.model_id.in_(wanted), _E.c.workspace_id == workspace_id)
    )
    return {str(model_id): int(pk) for model_id, pk in rows}


def insert_model(conn: Connection, info: LoggedModelInfo) -> int:
    result = conn.execute(
        _M.insert().values(
            model_id=info.model_id,
            experiment_id=info.experiment_id,
            name=info.name,
            artifact_uri=info.artifact_uri,
            status=info.status,
            status_message=info.status_message,
            model_type=info.model_type,
            source_run_id=info.source_run_id,
            lifecycle_stage=info.lifecycle_stage,
            creation_time=info.creation_time,
            last_updated_time=info.last_updated_time,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_model(conn: Connection, pk: int, **values: object) -> None:
    if values:
        conn.execute(update(_M).where(_M.c.id == pk).values(**values))


# --- tags and params --------------------------------------------------------------------------


def set_tags(conn: Connection, pk: int, tags: Sequence[tuple[int, str]]) -> None:
    """Upsert (key_id, value) pairs: last write wins."""
    if not tags:
        return
    stmt = insert(conn, _T)
    stmt = stmt.on_conflict_do_update(index_elements=[_T.c.model_pk, _T.c.key_id], set_={"value": stmt.excluded.value})
    conn.execute(stmt, [{"model_pk": pk, "key_id": k, "value": v} for k, v in tags])


def delete_tag(conn: Connection, pk: int, key_id: int) -> int:
    return conn.execute(delete(_T).where(_T.c.model_pk == pk, _T.c.key_id == key_id)).rowcount


def get_tag(conn: Connection, pk: int, key_id: int) -> str | None:
    """One tag's value (None if the model has no such tag)."""
    value = conn.execute(select(_T.c.value).where(_T.c.model_pk == pk, _T.c.key_id == key_id)).scalar()
    return None if value is None else str(value)


def find_by_tags(conn: Connection, workspace_id: int, tags: Sequence[tuple[int, str]]) -> LoggedModelRow | None:
    """The oldest model of the workspace carrying every one of these (key_id, value) tags, or None.

    Not indexed by tag value: for rare look-ups only (see `store.runs.find_by_tags`)."""
    query = base_query().where(_E.c.workspace_id == workspace_id)
    for key_id, value in tags:
        query = query.where(
            select(_T.c.model_pk).where(_T.c.model_pk == _M.c.id, _T.c.key_id == key_id, _T.c.value == value).exists()
        )
    row = conn.execute(query.order_by(_M.c.id).limit(1)).first()
    return row_to_model_row(row) if row else None


def insert_params(conn: Connection, pk: int, params: Sequence[tuple[int, str]]) -> dict[int, str]:
    """Insert params that are new; return the stored value of every given key (old or new)."""
    if not params:
        return {}
    conn.execute(
        insert(conn, _P).on_conflict_do_nothing(),
        [{"model_pk": pk, "key_id": k, "value": v} for k, v in params],
    )
    key_ids = [k for k, _ in params]
    rows = conn.execute(select(_P.c.key_id, _P.c.value).where(_P.c.model_pk == pk, _P.c.key_id.in_(key_ids)))
    return {int(k): str(v) for k, v in rows}


# --- metrics ----------------------------------------------------------------------------------


def insert_metrics(conn: Connection, points: Sequence[MetricPoint]) -> None:
    """Link metric points to models; a replayed point (same key, time, step, run, dataset) is ignored."""
    if not points:
        return
    rows = []
    for p in points:
        is_nan = math.isnan(p.value)
        rows.append(
            {
                "model_pk": p.model_pk,
                "key_id": p.key_id,
                "timestamp": p.timestamp,
                "step": p.step,
                "run_pk": p.run_pk,
                "dataset_name": p.dataset_name or "",
                "dataset_digest": p.dataset_digest or "",
                "value": 0.0 if is_nan else p.value,
                "is_nan": is_nan,
            }
        )
    conn.execute(insert(conn, _X).on_conflict_do_nothing(), rows)


# --- whole models -----------------------------------------------------------------------------


def load_models(conn: Connection, rows: Sequence[LoggedModelRow]) -> list[LoggedModel]:
    """Attach tags, params and metrics to models: one query per child table."""
    models = {r.pk: LoggedModel(info=r.info) for r in rows}
    if not models:
        return []
    pks = list(models)

    for model_pk, name, value in conn.execute(
        select(_T.c.model_pk, _K.c.name, _T.c.value)
        .join(_K, _K.c.key_id == _T.c.key_id)
        .where(_T.c.model_pk.in_(pks))
        .order_by(_T.c.model_pk, _K.c.name)
    ):
        models[model_pk].tags.append((name, value))

    for model_pk, name, value in conn.execute(
        select(_P.c.model_pk, _K.c.name, _P.c.value)
        .join(_K, _K.c.key_id == _P.c.key_id)
        .where(_P.c.model_pk.in_(pks))
        .order_by(_P.c.model_pk, _K.c.name)
    ):
        models[model_pk].params.append((name, value))

    for model_pk, name, value, is_nan, ts, step, run_uuid, ds_name, ds_digest in conn.execute(
        select(
            _X.c.model_pk,
            _K.c.name,
            _X.c.value,
            _X.c.is_nan,
            _X.c.timestamp,
            _X.c.step,
            _R.c.run_uuid,
            _X.c.dataset_name,
            _X.c.dataset_digest,
        )
        .join(_K, _K.c.key_id == _X.c.key_id)
        .join(_R, _R.c.id == _X.c.run_pk)
        .where(_X.c.model_pk.in_(pks))
        .order_by(_X.c.model_pk, _K.c.name, _X.c.timestamp, _X.c.step, _R.c.run_uuid, _X.c.dataset_name)
    ):
        models[model_pk].metrics.append(
            ModelMetric(
                key=name,
                value=math.nan if is_nan else float(value),
                timestamp=int(ts),
                step=int(step),
                run_id=str(run_uuid),
                dataset_name=ds_name or None,
                dataset_digest=ds_digest or None,
            )
        )

    return [models[r.pk] for r in rows]


# --- search -----------------------------------------------------------------------------------

ATTRIBUTE_COLUMNS: Mapping[str, Any] = {
    "name": _M.c.name,
    "model_id": _M.c.model_id,
    "model_type": _M.c.model_type,
    "status": _M.c.status,
    "source_run_id": _M.c.source_run_id,
    "creation_timestamp": _M.c.creation_time,
    "last_updated_timestamp": _M.c.last_updated_time,
}

# Status values may be written the client's way (READY) or the proto's way (LOGGED_MODEL_READY).
_STATUS_SPELLINGS = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": "UNSPECIFIED",
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
    "UPLOAD_FAILED": "FAILED",
}


def _status_value(op: str, value: Any) -> Any:
    if op in ("LIKE", "ILIKE"):
        return value
    if isinstance(value, tuple):
        return tuple(_STATUS_SPELLINGS.get(v, v) for v in value)
    return _STATUS_SPELLINGS.get(value, value)


def _dataset_condition(datasets: Sequence[tuple[str, str | None]]) -> ColumnElement[bool] | None:
    """Points on any of the (name, digest-or-None) datasets."""
    if not datasets:
        return None
    return or_(
        *(
            and_(_X.c.dataset_name == name, _X.c.dataset_digest == digest) if digest else _X.c.dataset_name == name
            for name, digest in datasets
        )
    )


def search_filter(
    clauses: Sequence[Comparison], datasets: Sequence[tuple[str, str | None]], key_id: KeyLookup
) -> list[ColumnElement[bool]]:
    """WHERE conditions for the filter clauses and the request's `datasets`."""
    on_datasets = _dataset_condition(datasets)
    out: list[ColumnElement[bool]] = []
    has_metric_clause = False
    for c in clauses:
        if c.entity == "attribute":
            column = ATTRIBUTE_COLUMNS.get(c.key)
            if column is None:
                raise invalid(f"Invalid logged model search key '{c.key}'")
            value = _status_value(c.op, c.value) if c.key == "status" else c.value
            out.append(compare(column, c.op, value))
            continue
        table = {"metric": _X, "param": _P, "tag": _T}.get(c.entity)
        if table is None:
            raise invalid(f"Invalid entity type '{c.entity}' in a logged model filter.")
        kid = key_id(c.key)
        if kid is None:
            out.append(false())
            continue
        condition = compare(table.c.value, c.op, c.value)
        conditions = [table.c.model_pk == _M.c.id, table.c.key_id == kid]
        if c.entity == "metric":
            has_metric_clause = True
            # NaN is stored as 0 with is_nan set: it satisfies only "!=".
            condition = or_(condition, _X.c.is_nan) if c.op == "!=" else and_(condition, ~_X.c.is_nan)
            if on_datasets is not None:
                conditions.append(on_datasets)
        out.append(exists(select(literal(1)).select_from(table).where(*conditions, condition)))
    if on_datasets is not None and not has_metric_clause:
        out.append(exists(select(literal(1)).select_from(_X).where(_X.c.model_pk == _M.c.id, on_datasets)))
    return out


def search_ordering(order: Sequence[MetricOrder], key_id: KeyLookup) -> list[Any]:
    """ORDER BY expressions: NULLs (and NaN metrics) last, then newest first, then `model_id`."""
    clauses: list[Any] = []
    has_creation_time = has_model_id = False
    for o in order:
        if o.entity == "attribute":
            column: Any = ATTRIBUTE_COLUMNS.get(o.key)
            if column is None:
                raise invalid(f"Invalid order by field name: {o.key}")
            has_creation_time = has_creation_time or o.key == "creation_timestamp"
            has_model_id = has_model_id or o.key == "model_id"
        else:
            kid = key_id(o.key)
            conditions: list[ColumnElement[bool]] = [
                _X.c.model_pk == _M.c.id,
                _X.c.key_id == (kid if kid is not None else -1),
            ]
            if o.dataset_name:
                conditions.append(_X.c.dataset_name == o.dataset_name)
            if o.dataset_digest:
                conditions.append(_X.c.dataset_digest == o.dataset_digest)
            column = (
                select(case((_X.c.is_nan == true(), null()), else_=_X.c.value))
                .where(*conditions)
                .order_by(_X.c.timestamp.desc(), _X.c.step.desc(), _X.c.run_pk)
                .limit(1)
                .scalar_subquery()
            )
        clauses.append(case((column.is_(None), 1), else_=0))
        clauses.append(column.asc() if o.ascending else column.desc())
    if not has_creation_time:
        clauses.append(_M.c.creation_time.desc())
    if not has_model_id:
        clauses.append(_M.c.model_id.asc())
    return clauses


def search_page(
    conn: Connection,
    *,
    workspace_id: int,
    experiment_ids: Sequence[int],
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    offset: int,
    limit: int,
) -> list[LoggedModelRow]:
    """One page (plus one row, to tell whether there is a next page) of active models."""
    stmt = (
        base_query()
        .where(
            _M.c.experiment_id.in_(list(experiment_ids)),
            _E.c.workspace_id == workspace_id,
            _M.c.lifecycle_stage == ACTIVE,
            *where,
        )
        .order_by(*order_by)
        .offset(offset)
        .limit(limit)
    )
    return [row_to_model_row(r) for r in conn.execute(stmt)]
