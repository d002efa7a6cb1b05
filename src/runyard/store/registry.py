"""Model registry rows: registered models, model versions, their tags and aliases, and registry search.

A registered model is addressed by (workspace, name) once per request; everything below it points
at its integer surrogate key. Reads are set-based: a page of registered models costs one query for
the page plus one each for tags, aliases and the latest version per stage (a window function), and a
page of versions one query plus one each for tags and aliases.

Version numbers come from the model row's `last_version` counter (see `allocate_version`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, Select, and_, delete, exists, func, literal, select, update

from runyard.domain.errors import invalid
from runyard.domain.search_filter import Comparison, OrderKey
from runyard.store import schema
from runyard.store.dialect import insert
from runyard.store.search import compare

_RM = schema.registered_models
_RMT = schema.registered_model_tags
_MV = schema.model_versions
_MVT = schema.model_version_tags
_AL = schema.registered_model_aliases
# The column the access rule reads for a listed model or version (its id and its name).
MODEL_NAME_COLUMN = _RM.c.name

IS_PROMPT_TAG: Final = "mlflow.prompt.is_prompt"


# --- entities ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRow:
    """A registered model as the services see it: its surrogate key plus its own columns."""

    pk: int
    workspace_id: int
    name: str
    description: str | None
    creation_time: int
    last_updated_time: int


@dataclass(frozen=True)
class VersionRow:
    """One model version's own columns (no tags or aliases)."""

    model_pk: int
    name: str
    version: int
    creation_time: int
    last_updated_time: int
    description: str | None
    user_id: str | None
    current_stage: str
    source: str
    storage_location: str
    run_id: str | None
    model_id: str | None
    run_link: str | None
    status: str
    status_message: str | None


@dataclass
class ModelVersion:
    row: VersionRow
    tags: list[tuple[str, str]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


@dataclass
class RegisteredModel:
    row: ModelRow
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    aliases: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class NewVersion:
    """What `insert_version` writes besides the key and timestamps."""

    source: str
    storage_location: str
    run_id: str | None
    model_id: str | None
    run_link: str | None
    description: str | None
    user_id: str | None = None


# --- registered models ------------------------------------------------------------------------

_MODEL_COLUMNS = (
    _RM.c.id,
    _RM.c.workspace_id,
    _RM.c.name,
    _RM.c.description,
    _RM.c.creation_time,
    _RM.c.last_updated_time,
)


def _model_row(row: Any) -> ModelRow:
    m = row._mapping
    return ModelRow(
        pk=int(m["id"]),
        workspace_id=int(m["workspace_id"]),
        name=str(m["name"]),
        description=m["description"],
        creation_time=int(m["creation_time"]),
        last_updated_time=int(m["last_updated_time"]),
    )


def get_model(conn: Connection, workspace_id: int, name: str) -> ModelRow | None:
    row = conn.execute(select(*_MODEL_COLUMNS).where(_RM.c.workspace_id == workspace_id, _RM.c.name == name)).first()
    return _model_row(row) if row else None


def insert_model(conn: Connection, workspace_id: int, name: str, description: str | None, now: int) -> int:
    result = conn.execute(
        _RM.insert().values(
            workspace_id=workspace_id,
            name=name,
            description=description,
            creation_time=now,
            last_updated_time=now,
            last_version=0,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_model(conn: Connection, pk: int, **values: object) -> None:
    conn.execute(update(_RM).where(_RM.c.id == pk).values(**values))


def rename_model(conn: Connection, pk: int, new_name: str, now: int) -> None:
    """The versions follow by key; like the reference server, their update time moves too."""
    conn.execute(update(_RM).where(_RM.c.id == pk).values(name=new_name, last_updated_time=now))
    conn.execute(update(_MV).where(_MV.c.model_pk == pk).values(last_updated_time=now))


def delete_model(conn: Connection, pk: int) -> None:
    """The model, its versions, and every tag and alias of either."""
    conn.execute(delete(_AL).where(_AL.c.model_pk == pk))
    conn.execute(delete(_MVT).where(_MVT.c.model_pk == pk))
    conn.execute(delete(_MV).where(_MV.c.model_pk == pk))
    conn.execute(delete(_RMT).where(_RMT.c.model_pk == pk))
    conn.execute(delete(_RM).where(_RM.c.id == pk))


def set_model_tags(conn: Connection, pk: int, tags: Sequence[tuple[str, str]]) -> None:
    if not tags:
        return
    stmt = insert(conn, _RMT)
    stmt = stmt.on_conflict_do_update(index_elements=[_RMT.c.model_pk, _RMT.c.key], set_={"value": stmt.excluded.value})
    conn.execute(stmt, [{"model_pk": pk, "key": k, "value": v} for k, v in dict(tags).items()])


def delete_model_tag(conn: Connection, pk: int, key: str) -> int:
    return conn.execute(delete(_RMT).where(_RMT.c.model_pk == pk, _RMT.c.key == key)).rowcount


# --- versions ---------------------------------------------------------------------------------


def allocate_version(conn: Connection, pk: int, now: int) -> int | None:
    """The next version number of the model, taken inside the caller's write transaction.

    The UPDATE takes the model row's write lock (PostgreSQL) or runs under the database write lock
    that BEGIN IMMEDIATE took (SQLite): a concurrent registration of the same model waits until this
    transaction ends, then increments the committed value. A rolled-back transaction takes its
    increment with it, so numbers have no gaps. None if the model was deleted meanwhile.
    """
    bumped = conn.execute(
        update(_RM).where(_RM.c.id == pk).values(last_version=_RM.c.last_version + 1, last_updated_time=now)
    )
    if bumped.rowcount == 0:
        return None
    return int(conn.execute(select(_RM.c.last_version).where(_RM.c.id == pk)).scalar_one())


def insert_version(conn: Connection, pk: int, version: int, new: NewVersion, now: int) -> None:
    conn.execute(
        _MV.insert().values(
            model_pk=pk,
            version=version,
            creation_time=now,
            last_updated_time=now,
            description=new.description,
            user_id=new.user_id,
            current_stage="None",
            source=new.source,
            storage_location=new.storage_location,
            run_id=new.run_id,
            model_id=new.model_id,
            run_link=new.run_link,
            status="READY",
        )
    )


_VERSION_COLUMNS = (
    _MV.c.model_pk,
    _RM.c.name,
    _MV.c.version,
    _MV.c.creation_time,
    _MV.c.last_updated_time,
    _MV.c.description,
    _MV.c.user_id,
    _MV.c.current_stage,
    _MV.c.source,
    _MV.c.storage_location,
    _MV.c.run_id,
    _MV.c.model_id,
    _MV.c.run_link,
    _MV.c.status,
    _MV.c.status_message,
)


def _version_row(row: Any) -> VersionRow:
    m = row._mapping
    return VersionRow(
        model_pk=int(m["model_pk"]),
        name=str(m["name"]),
        version=int(m["version"]),
        creation_time=int(m["creation_time"]),
        last_updated_time=int(m["last_updated_time"]),
        description=m["description"],
        user_id=m["user_id"],
        current_stage=str(m["current_stage"]),
        source=str(m["source"]),
        storage_location=str(m["storage_location"]),
        run_id=m["run_id"],
        model_id=m["model_id"],
        run_link=m["run_link"],
        status=str(m["status"]),
        status_message=m["status_message"],
    )


def versions_query() -> Select[Any]:
    return select(*_VERSION_COLUMNS).select_from(_MV.join(_RM, _RM.c.id == _MV.c.model_pk))


def get_version(conn: Connection, workspace_id: int, name: str, version: int) -> VersionRow | None:
    row = conn.execute(
        versions_query().where(_RM.c.workspace_id == workspace_id, _RM.c.name == name, _MV.c.version == version)
    ).first()
    return _version_row(row) if row else None


def update_version(conn: Connection, pk: int, version: int, **values: object) -> None:
    conn.execute(update(_MV).where(_MV.c.model_pk == pk, _MV.c.version == version).values(**values))


def archive_stage(conn: Connection, pk: int, stage: str, keep_version: int, now: int) -> None:
    """Move every other version of the model that is in `stage` to Archived."""
    conn.execute(
        update(_MV)
        .where(_MV.c.model_pk == pk, _MV.c.current_stage == stage, _MV.c.version != keep_version)
        .values(current_stage="Archived", last_updated_time=now)
    )


def delete_version(conn: Connection, pk: int, version: int) -> None:
    """The version, its tags, and the aliases that point at it."""
    conn.execute(delete(_AL).where(_AL.c.model_pk == pk, _AL.c.version == version))
    conn.execute(delete(_MVT).where(_MVT.c.model_pk == pk, _MVT.c.version == version))
    conn.execute(delete(_MV).where(_MV.c.model_pk == pk, _MV.c.version == version))


def set_version_tags(conn: Connection, pk: int, version: int, tags: Sequence[tuple[str, str]]) -> None:
    if not tags:
        return
    stmt = insert(conn, _MVT)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_MVT.c.model_pk, _MVT.c.version, _MVT.c.key], set_={"value": stmt.excluded.value}
    )
    conn.execute(stmt, [{"model_pk": pk, "version": version, "key": k, "value": v} for k, v in dict(tags).items()])


def delete_version_tag(conn: Connection, pk: int, version: int, key: str) -> int:
    return conn.execute(
        delete(_MVT).where(_MVT.c.model_pk == pk, _MVT.c.version == version, _MVT.c.key == key)
    ).rowcount


def newest_version(conn: Connection, pk: int, stage: str | None = None) -> int | None:
    """The highest version number of the model (in `stage`, if given), or None."""
    stmt = select(func.max(_MV.c.version)).where(_MV.c.model_pk == pk)
    if stage is not None:
        stmt = stmt.where(_MV.c.current_stage == stage)
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


# --- aliases ----------------------------------------------------------------------------------


def set_alias(conn: Connection, pk: int, alias: str, version: int) -> None:
    stmt = insert(conn, _AL)
    stmt = stmt.on_conflict_do_update(index_elements=[_AL.c.model_pk, _AL.c.alias], set_={"version": version})
    conn.execute(stmt, [{"model_pk": pk, "alias": alias, "version": version}])


def delete_alias(conn: Connection, pk: int, alias: str) -> int:
    return conn.execute(delete(_AL).where(_AL.c.model_pk == pk, _AL.c.alias == alias)).rowcount


def alias_version(conn: Connection, pk: int, alias: str) -> int | None:
    value = conn.execute(select(_AL.c.version).where(_AL.c.model_pk == pk, _AL.c.alias == alias)).scalar()
    return None if value is None else int(value)


# --- whole objects ----------------------------------------------------------------------------


def load_versions(conn: Connection, rows: Sequence[VersionRow], *, with_aliases: bool = True) -> list[ModelVersion]:
    """Attach tags (and aliases) to version rows: one query each, whatever the number of rows."""
    versions = [ModelVersion(r) for r in rows]
    if not versions:
        return []
    by_key = {(v.row.model_pk, v.row.version): v for v in versions}
    pks = sorted({pk for pk, _ in by_key})
    for pk, version, key, value in conn.execute(
        select(_MVT.c.model_pk, _MVT.c.version, _MVT.c.key, _MVT.c.value)
        .where(_MVT.c.model_pk.in_(pks))
        .order_by(_MVT.c.model_pk, _MVT.c.version, _MVT.c.key)
    ):
        found = by_key.get((pk, version))
        if found is not None:
            found.tags.append((key, value))
    if with_aliases:
        for pk, alias, version in conn.execute(
            select(_AL.c.model_pk, _AL.c.alias, _AL.c.version).where(_AL.c.model_pk.in_(pks)).order_by(_AL.c.alias)
        ):
            found = by_key.get((pk, version))
            if found is not None:
                found.aliases.append(alias)
    return versions


def latest_version_rows(conn: Connection, pks: Iterable[int]) -> dict[int, list[VersionRow]]:
    """The newest version of each stage, per model; stages in the order their oldest version has."""
    wanted = list(pks)
    if not wanted:
        return {}
    newest = func.row_number().over(partition_by=(_MV.c.model_pk, _MV.c.current_stage), order_by=_MV.c.version.desc())
    oldest = func.min(_MV.c.version).over(partition_by=(_MV.c.model_pk, _MV.c.current_stage))
    ranked = (
        select(_MV.c.model_pk, _MV.c.version, newest.label("rn"), oldest.label("first"))
        .where(_MV.c.model_pk.in_(wanted))
        .subquery()
    )
    stmt = (
        versions_query()
        .join(ranked, and_(ranked.c.model_pk == _MV.c.model_pk, ranked.c.version == _MV.c.version))
        .where(ranked.c.rn == 1)
        .order_by(_MV.c.model_pk, ranked.c.first)
    )
    result: dict[int, list[VersionRow]] = defaultdict(list)
    for row in conn.execute(stmt):
        version = _version_row(row)
        result[version.model_pk].append(version)
    return result


def load_models(conn: Connection, rows: Sequence[ModelRow]) -> list[RegisteredModel]:
    """Attach the latest versions per stage, tags and aliases to model rows (set-based)."""
    models = {r.pk: RegisteredModel(r) for r in rows}
    if not models:
        return []
    pks = list(models)
    latest = latest_version_rows(conn, pks)
    for pk, versions in latest.items():
        models[pk].latest_versions = load_versions(conn, versions, with_aliases=False)
    for pk, key, value in conn.execute(
        select(_RMT.c.model_pk, _RMT.c.key, _RMT.c.value).where(_RMT.c.model_pk.in_(pks)).order_by(_RMT.c.key)
    ):
        models[pk].tags.append((key, value))
    for pk, alias, version in conn.execute(
        select(_AL.c.model_pk, _AL.c.alias, _AL.c.version).where(_AL.c.model_pk.in_(pks)).order_by(_AL.c.alias)
    ):
        models[pk].aliases.append((alias, int(version)))
    return [models[r.pk] for r in rows]


# --- search -----------------------------------------------------------------------------------

_MODEL_ATTRIBUTES = {
    "name": _RM.c.name,
    "creation_timestamp": _RM.c.creation_time,
    "last_updated_timestamp": _RM.c.last_updated_time,
}
_VERSION_ATTRIBUTES = {
    "name": _RM.c.name,
    "run_id": _MV.c.run_id,
    "source_path": _MV.c.source,
    "version_number": _MV.c.version,
    "creation_timestamp": _MV.c.creation_time,
    "last_updated_timestamp": _MV.c.last_updated_time,
}


def _querying_prompts(clauses: Sequence[Comparison]) -> bool:
    """The reference rule: the first `mlflow.prompt.is_prompt` clause decides whether prompts are wanted."""
    for c in clauses:
        if c.entity == "tag" and c.key == IS_PROMPT_TAG:
            value = str(c.value).lower()
            return (c.op == "=" and value == "true") or (c.op == "!=" and value == "false")
    return False


def _attribute_clause(columns: dict[str, Any], c: Comparison) -> ColumnElement[bool]:
    column = columns.get(c.key)
    if column is None:  # the grammar only lets known attributes through
        raise invalid(f"Invalid attribute key '{c.key}' specified.")
    return compare(column, c.op, c.value)


def model_filter(clauses: Sequence[Comparison]) -> list[ColumnElement[bool]]:
    """WHERE terms over `registered_models` for a parsed registered-model filter.

    Prompts (models tagged `mlflow.prompt.is_prompt = 'true'`) are left out unless the filter asks
    for them, and the prompt clauses themselves are then dropped, so the client's appended
    `tag.mlflow.prompt.is_prompt != 'true'` also matches models without that tag (as in MLflow).
    """
    prompts = _querying_prompts(clauses)
    out: list[ColumnElement[bool]] = []
    for c in clauses:
        if c.entity == "attribute":
            out.append(_attribute_clause(_MODEL_ATTRIBUTES, c))
        elif c.entity == "tag":
            if c.key == IS_PROMPT_TAG and not prompts:
                continue
            out.append(exists(_model_tag(c.key).where(compare(_RMT.c.value, c.op, c.value))))
        else:
            raise invalid(f"Invalid entity type '{c.entity}' in registered model filter.")
    if not prompts:
        out.append(~exists(_model_tag(IS_PROMPT_TAG).where(_RMT.c.value == "true")))
    return out


def _model_tag(key: str) -> Select[Any]:
    return select(literal(1)).select_from(_RMT).where(_RMT.c.model_pk == _RM.c.id, _RMT.c.key == key)


def model_ordering(order: Sequence[OrderKey]) -> list[Any]:
    """ORDER BY for registered models: the requested keys, then name (MLflow's tie-breaker), then id."""
    clauses = _requested_order(order, _MODEL_ATTRIBUTES)
    if not any(o.key == "name" for o in order):
        clauses.append(_RM.c.name.asc())
    clauses.append(_RM.c.id.asc())
    return clauses


def _requested_order(order: Sequence[OrderKey], attributes: Mapping[str, Any]) -> list[Any]:
    """The ORDER BY terms the client asked for (attributes only)."""
    clauses: list[Any] = []
    for o in order:
        column = attributes.get(o.key) if o.entity == "attribute" else None
        if column is None:
            raise invalid(f"Invalid order by key '{o.key}' specified.")
        clauses.append(column.asc() if o.ascending else column.desc())
    return clauses


def search_models(
    conn: Connection,
    workspace_id: int,
    where: Sequence[ColumnElement[bool]],
    order: Sequence[Any],
    offset: int,
    limit: int,
) -> list[ModelRow]:
    stmt = (
        select(*_MODEL_COLUMNS)
        .where(_RM.c.workspace_id == workspace_id, *where)
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    return [_model_row(r) for r in conn.execute(stmt)]


def version_filter(clauses: Sequence[Comparison]) -> list[ColumnElement[bool]]:
    """WHERE terms over `model_versions` joined to `registered_models` for a parsed version filter.

    As in MLflow, the versions of a prompt (a model with a version tagged
    `mlflow.prompt.is_prompt = 'true'`) are left out unless the filter asks for prompts.
    """
    prompts = _querying_prompts(clauses)
    out: list[ColumnElement[bool]] = []
    for c in clauses:
        if c.entity == "attribute":
            out.append(_attribute_clause(_VERSION_ATTRIBUTES, c))
        elif c.entity == "tag":
            if c.key == IS_PROMPT_TAG and not prompts:
                continue
            out.append(exists(_version_tag(c.key).where(compare(_MVT.c.value, c.op, c.value))))
        else:
            raise invalid(f"Invalid entity type '{c.entity}' in model version filter.")
    if not prompts:
        prompt_tag = (
            select(literal(1))
            .select_from(_MVT)
            .where(_MVT.c.model_pk == _MV.c.model_pk, _MVT.c.key == IS_PROMPT_TAG, _MVT.c.value == "true")
        )
        out.append(~exists(prompt_tag))
    return out


def _version_tag(key: str) -> Select[Any]:
    return (
        select(literal(1))
        .select_from(_MVT)
        .where(_MVT.c.model_pk == _MV.c.model_pk, _MVT.c.version == _MV.c.version, _MVT.c.key == key)
    )


def version_ordering(order: Sequence[OrderKey]) -> list[Any]:
    """ORDER BY for versions: the requested keys, then name ascending and version descending."""
    clauses = _requested_order(order, _VERSION_ATTRIBUTES)
    if not any(o.key == "name" for o in order):
        clauses.append(_RM.c.name.asc())
    if not any(o.key == "version_number" for o in order):
        clauses.append(_MV.c.version.desc())
    clauses.append(_MV.c.model_pk.asc())
    return clauses


def search_versions(
    conn: Connection,
    workspace_id: int,
    where: Sequence[ColumnElement[bool]],
    order: Sequence[Any],
    offset: int,
    limit: int,
) -> list[VersionRow]:
    stmt = (
        versions_query().where(_RM.c.workspace_id == workspace_id, *where).order_by(*order).offset(offset).limit(limit)
    )
    return [_version_row(r) for r in conn.execute(stmt)]


# --- lineage lookups in the tracking tables ---------------------------------------------------


def logged_model_of_run(conn: Connection, experiment_id: int, name: str, run_uuid: str) -> tuple[str, str] | None:
    """(model_id, artifact_uri) of the newest active logged model `name` that run `run_uuid` produced.

    This is how the client resolves `runs:/<run>/<name>` for MLflow 3 models, whose files live under
    the logged model rather than the run.
    """
    lm = schema.logged_models
    row = conn.execute(
        select(lm.c.model_id, lm.c.artifact_uri)
        .where(
            lm.c.experiment_id == experiment_id,
            lm.c.name == name,
            lm.c.source_run_id == run_uuid,
            lm.c.lifecycle_stage == "active",
        )
        .order_by(lm.c.creation_time.desc(), lm.c.id.desc())
        .limit(1)
    ).first()
    return (str(row[0]), str(row[1])) if row else None


def logged_model_is_registered(conn: Connection, model_id: str) -> bool:
    """Whether a model version still refers to the logged model (its artifacts must then be kept)."""
    return conn.execute(select(literal(1)).where(_MV.c.model_id == model_id).limit(1)).first() is not None


def logged_model_tags_named(conn: Connection, model_id: str, names: Sequence[str]) -> list[tuple[str, str]]:
    """The logged model's tags with the given keys (e.g. its server-set `runyard.` card tags)."""
    lm, t, k = schema.logged_models, schema.logged_model_tags, schema.keys
    rows = conn.execute(
        select(k.c.name, t.c.value)
        .select_from(t.join(k, k.c.key_id == t.c.key_id).join(lm, lm.c.id == t.c.model_pk))
        .where(lm.c.model_id == model_id, k.c.name.in_(list(names)))
        .order_by(k.c.name)
    )
    return [(str(name), str(value)) for name, value in rows]


def logged_model_tag(conn: Connection, model_pk: int, key_id: int) -> str | None:
    t = schema.logged_model_tags
    value = conn.execute(select(t.c.value).where(t.c.model_pk == model_pk, t.c.key_id == key_id)).scalar()
    return None if value is None else str(value)
