"""Logged models (MLflow 3): create, read, finalize, delete, tags, params, search, and the metric links
runs write — every write one transaction, all-or-nothing.

A logged model belongs to an experiment, and through it to a workspace: a model of another
workspace is reported as not existing, exactly like a run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection

from runyard.domain.entities import ACTIVE, Page
from runyard.domain.errors import MlflowError, invalid, not_found
from runyard.domain.limits import MAX_KEY_LENGTH
from runyard.domain.names import generate_run_name
from runyard.domain.permissions import READ
from runyard.domain.search_filter import LOGGED_MODEL_GRAMMAR, check_order_by_count, parse_filter
from runyard.domain.validation import (
    invalid_value_message,
    missing_value_message,
    parse_experiment_id,
    validate_length,
    validate_unique_param_keys,
)
from runyard.services.artifacts import ArtifactService
from runyard.services.context import RequestContext, now_ms, require_workspace
from runyard.services.experiments import ExperimentService
from runyard.services.mirror.journal import MirrorJournal
from runyard.services.model_cards import read_model_card
from runyard.store import logged_models as lm_store
from runyard.store import runs as run_store
from runyard.store import search as search_sql
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry
from runyard.store.logged_models import LoggedModel, LoggedModelInfo, LoggedModelRow, MetricOrder, MetricPoint

SEARCH_DEFAULT_MAX_RESULTS: Final = 100
SEARCH_MAX_RESULTS: Final = 50_000
MAX_NAME_LENGTH: Final = 500
MAX_MODEL_TYPE_LENGTH: Final = 500
MAX_SOURCE_RUN_ID_LENGTH: Final = 32
MAX_DATASET_NAME_LENGTH: Final = 500
MAX_DATASET_DIGEST_LENGTH: Final = 36

_GENERATED_NAME_MAX_LENGTH: Final = 20

# Characters the reference server refuses in a model name (they break `models:/` and `runs:/` URIs).
_NAME_BAD_CHARS: Final = ("/", ":", ".", "%", '"', "'")

# Status spellings a finalize request may use (proto enum names or numbers) → stored name.
_STATUS_BY_SPELLING: Final[dict[str | int, str]] = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": "UNSPECIFIED",
    "LOGGED_MODEL_PENDING": "PENDING",
    "LOGGED_MODEL_READY": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
    0: "UNSPECIFIED",
    1: "PENDING",
    2: "READY",
    3: "FAILED",
}
STATUS_PROTO_NAMES: Final = {
    "UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "PENDING": "LOGGED_MODEL_PENDING",
    "READY": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
}


@dataclass(frozen=True)
class OrderByIn:
    field_name: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class DatasetFilterIn:
    dataset_name: str | None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class ModelMetricIn:
    """A metric point a run logged with `model_id`; `key_id` is the key interned by the runs path."""

    model_id: str
    key_id: int
    value: float
    timestamp: int
    step: int
    dataset_name: str | None = None
    dataset_digest: str | None = None


def model_not_found(model_id: str) -> MlflowError:
    return not_found(f"Logged model with ID '{model_id}' not found.")


class LoggedModelService:
    def __init__(
        self,
        db: Database,
        keys: KeyRegistry,
        experiments: ExperimentService,
        artifacts: ArtifactService,
        journal: MirrorJournal | None = None,
    ) -> None:
        self._db = db
        self._journal = journal or MirrorJournal()
        self._keys = keys
        self._experiments = experiments
        self._artifacts = artifacts

    # --- lookups ------------------------------------------------------------------------------

    def require(
        self,
        conn: Connection,
        ctx: RequestContext,
        model_id: str,
        *,
        allow_deleted: bool = True,
        level: int | None = None,
    ) -> LoggedModelRow:
        """The model if it exists in the caller's workspace, else RESOURCE_DOES_NOT_EXIST; with
        authentication on, PERMISSION_DENIED unless the caller holds `level` (default: the route's)
        on the model's experiment (a logged model inherits its experiment's permissions)."""
        if not model_id:
            raise invalid(missing_value_message("model_id"))
        row = lm_store.get(conn, model_id)
        if (
            row is None
            or row.workspace_id != ctx.workspace.id
            or (not allow_deleted and row.info.lifecycle_stage != ACTIVE)
        ):
            raise model_not_found(model_id)
        ctx.authorize_experiment(row.info.experiment_id, level=level, conn=conn)
        return row

    def get(self, ctx: RequestContext, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        with self._db.read() as conn:
            row = self.require(conn, ctx, model_id, allow_deleted=allow_deleted)
            return lm_store.load_models(conn, [row])[0]

    def artifact_uri(self, ctx: RequestContext, model_id: str) -> str:
        with self._db.read() as conn:
            return self.require(conn, ctx, model_id, allow_deleted=False).info.artifact_uri

    # --- writes -------------------------------------------------------------------------------

    def create(
        self,
        ctx: RequestContext,
        *,
        experiment_id: str | None,
        name: str | None,
        model_type: str | None,
        source_run_id: str | None,
        params: Sequence[tuple[str, str]],
        tags: Sequence[tuple[str, str]],
    ) -> LoggedModel:
        if experiment_id is None or experiment_id == "":
            raise invalid(missing_value_message("experiment_id"))
        if name:
            validate_model_name(name)
        validate_length("model_type", model_type, MAX_MODEL_TYPE_LENGTH)
        validate_length("source_run_id", source_run_id, MAX_SOURCE_RUN_ID_LENGTH)
        validate_keys(params, "params")
        validate_keys(tags, "tags")
        validate_unique_param_keys([k for k, _ in params])
        key_ids = self._keys.ids_for([k for k, _ in params] + [k for k, _ in tags])
        model_id = f"m-{uuid.uuid4().hex}"
        now = now_ms()
        with self._db.write() as conn:
            experiment = self._experiments.require(conn, ctx, experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise invalid(
                    f"The experiment {experiment.experiment_id} must be in the 'active' state. "
                    f"Current state is {experiment.lifecycle_stage}."
                )
            if source_run_id:
                run = run_store.get(conn, source_run_id)
                if run is None or run.workspace_id != ctx.workspace.id:
                    raise not_found(f"Run with id={source_run_id} not found")
                ctx.authorize_experiment(run.info.experiment_id, level=READ, conn=conn)
            info = LoggedModelInfo(
                model_id=model_id,
                experiment_id=experiment.experiment_id,
                name=name or generate_model_name(),
                artifact_uri=f"{experiment.artifact_location.rstrip('/')}/models/{model_id}/artifacts",
                status="PENDING",
                status_message=None,
                model_type=model_type or "",
                source_run_id=source_run_id or "",
                lifecycle_stage=ACTIVE,
                creation_time=now,
                last_updated_time=now,
            )
            pk = lm_store.insert_model(conn, info)
            lm_store.insert_params(conn, pk, [(key_ids[k], v) for k, v in params])
            lm_store.set_tags(conn, pk, _dedupe([(key_ids[k], v) for k, v in tags]))
            self._journal.model_changed(conn, ctx.workspace.id, model_id)
            return lm_store.load_models(conn, [LoggedModelRow(pk, ctx.workspace.id, info)])[0]

    def finalize(self, ctx: RequestContext, model_id: str, status: str | int | None) -> LoggedModel:
        """Set the status; a model that becomes READY gets its `runyard.` card tags from its MLmodel."""
        stored = parse_status(status)
        card_tags: list[tuple[str, str]] = []
        if stored == "READY":
            with self._db.read() as conn:
                artifact_uri = self.require(conn, ctx, model_id).info.artifact_uri
            card = read_model_card(self._artifacts, ctx, artifact_uri)
            card_tags = card.tags() if card else []
        key_ids = self._keys.ids_for(k for k, _ in card_tags)
        with self._db.write() as conn:
            row = self.require(conn, ctx, model_id)
            lm_store.update_model(conn, row.pk, status=stored, last_updated_time=now_ms())
            if card_tags:
                lm_store.set_tags(conn, row.pk, [(key_ids[k], v) for k, v in card_tags])
            self._journal.model_changed(conn, ctx.workspace.id, model_id)
            updated = lm_store.get(conn, model_id)
            assert updated is not None
            return lm_store.load_models(conn, [updated])[0]

    def delete(self, ctx: RequestContext, model_id: str) -> None:
        with self._db.write() as conn:
            row = self.require(conn, ctx, model_id)
            lm_store.update_model(conn, row.pk, lifecycle_stage="deleted", last_updated_time=now_ms())
            self._journal.model_changed(conn, ctx.workspace.id, model_id)

    def set_tags(self, ctx: RequestContext, model_id: str, tags: Sequence[tuple[str, str]]) -> None:
        validate_keys(tags, "tags")
        key_ids = self._keys.ids_for(k for k, _ in tags)
        with self._db.write() as conn:
            row = self.require(conn, ctx, model_id)
            lm_store.set_tags(conn, row.pk, _dedupe([(key_ids[k], v) for k, v in tags]))
            self._journal.model_changed(conn, ctx.workspace.id, model_id)

    def delete_tag(self, ctx: RequestContext, model_id: str, key: str) -> None:
        key_id = self._keys.existing_id(key)
        with self._db.write() as conn:
            row = self.require(conn, ctx, model_id)
            if key_id is None or not lm_store.delete_tag(conn, row.pk, key_id):
                raise not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")
            self._journal.model_tag_deleted(conn, ctx.workspace.id, model_id, key)

    def log_params(self, ctx: RequestContext, model_id: str, params: Sequence[tuple[str, str]]) -> None:
        validate_keys(params, "params")
        validate_unique_param_keys([k for k, _ in params])
        key_ids = self._keys.ids_for(k for k, _ in params)
        with self._db.write() as conn:
            row = self.require(conn, ctx, model_id)
            stored = lm_store.insert_params(conn, row.pk, [(key_ids[k], v) for k, v in params])
            self._journal.model_changed(conn, ctx.workspace.id, model_id)
            for key, value in params:
                if stored.get(key_ids[key]) != value:
                    raise invalid(
                        f"Changing param values is not allowed. Param with key='{key}' was already logged "
                        f"with value='{stored.get(key_ids[key])}' for logged model ID='{model_id}'. "
                        f"Attempted logging new value '{value}'."
                    )

    # --- metrics linked by runs ---------------------------------------------------------------

    def require_ids(self, conn: Connection, ctx: RequestContext, model_ids: Sequence[str], level: int = READ) -> None:
        """RESOURCE_DOES_NOT_EXIST unless every id names a logged model of the caller's workspace
        (a run may only record its own workspace's models as inputs or outputs); with authentication
        on, PERMISSION_DENIED unless the caller may `level` each one."""
        if not model_ids:
            return
        found = lm_store.pks_for(conn, ctx.workspace.id, model_ids)
        for model_id in model_ids:
            if model_id not in found:
                raise model_not_found(model_id)
        if ctx.access is not None:
            for model_id in dict.fromkeys(model_ids):
                self.require(conn, ctx, model_id, level=level)

    def record_metrics(
        self, conn: Connection, ctx: RequestContext, run_pk: int, metrics: Sequence[ModelMetricIn]
    ) -> None:
        """Link metric points a run logs with `model_id` to their models, in the caller's transaction.

        Called by the runs write path (`runs/log-metric`, `runs/log-batch`) after the run's own
        points are written, with the same interned key ids. Every named model must exist in the
        caller's workspace (else RESOURCE_DOES_NOT_EXIST and the caller's whole write rolls back).
        """
        linked = [m for m in metrics if m.model_id]
        if not linked:
            return
        for i, m in enumerate(linked):
            validate_length(f"metrics[{i}].dataset_name", m.dataset_name, MAX_DATASET_NAME_LENGTH)
            validate_length(f"metrics[{i}].dataset_digest", m.dataset_digest, MAX_DATASET_DIGEST_LENGTH)
        pks = lm_store.pks_for(conn, ctx.workspace.id, (m.model_id for m in linked))
        for m in linked:
            if m.model_id not in pks:
                raise model_not_found(m.model_id)
        if ctx.access is not None:
            for model_id in dict.fromkeys(m.model_id for m in linked):
                self.require(conn, ctx, model_id, level=READ)
        lm_store.insert_metrics(
            conn,
            [
                MetricPoint(
                    model_pk=pks[m.model_id],
                    key_id=m.key_id,
                    value=m.value,
                    timestamp=m.timestamp,
                    step=m.step,
                    run_pk=run_pk,
                    dataset_name=m.dataset_name,
                    dataset_digest=m.dataset_digest,
                )
                for m in linked
            ],
        )

    # --- search -------------------------------------------------------------------------------

    def search(
        self,
        ctx: RequestContext,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        datasets: Sequence[DatasetFilterIn],
        max_results: int | None,
        order_by: Sequence[OrderByIn],
        page_token: str | None,
    ) -> Page[LoggedModel]:
        limit = max_results or SEARCH_DEFAULT_MAX_RESULTS
        if limit < 0 or limit > SEARCH_MAX_RESULTS:
            raise invalid(
                f"Invalid value {limit} for parameter 'max_results' supplied. It must be at most "
                f"{SEARCH_MAX_RESULTS}, but got value {limit}"
                if limit > 0
                else f"Invalid value {limit} for parameter 'max_results' supplied: it must be a positive integer."
            )
        exp_ids = [parse_experiment_id(e) for e in experiment_ids]
        dataset_filters: list[tuple[str, str | None]] = []
        for d in datasets:
            if not d.dataset_name:
                raise invalid("`dataset_name` in the `datasets` clause must be specified.")
            dataset_filters.append((d.dataset_name, d.dataset_digest or None))
        clauses = parse_filter(filter_string, LOGGED_MODEL_GRAMMAR)
        check_order_by_count(len(order_by))
        order = [_resolve_order(o, i) for i, o in enumerate(order_by)]
        offset = search_sql.decode_page_token(page_token)
        if not exp_ids:
            return Page([], None)
        where = lm_store.search_filter(clauses, dataset_filters, self._keys.existing_id)
        ordering = lm_store.search_ordering(order, self._keys.existing_id)
        with self._db.read() as conn:
            require_workspace(conn, ctx)
            # As MLflow's auth app: the experiments the caller may not read are left out, silently.
            exp_ids = [e for e in exp_ids if ctx.may_read_experiment(e, conn)]
            if not exp_ids:
                return Page([], None)
            rows = lm_store.search_page(
                conn,
                workspace_id=ctx.workspace.id,
                experiment_ids=exp_ids,
                where=where,
                order_by=ordering,
                offset=offset,
                limit=limit + 1,
            )
            token = search_sql.encode_page_token(offset + limit) if len(rows) > limit else None
            return Page(lm_store.load_models(conn, rows[:limit]), token)


# --- rules ------------------------------------------------------------------------------------


def parse_status(status: str | int | None) -> str:
    """The stored status for a finalize request's `status` (enum name or number)."""
    if status is None or status == "":
        raise invalid(missing_value_message("status"))
    stored = _STATUS_BY_SPELLING.get(status)
    if stored is None and isinstance(status, str) and status.isascii() and status.isdigit() and len(status) < 4:
        stored = _STATUS_BY_SPELLING.get(int(status))
    if stored is None:
        raise invalid(
            invalid_value_message("status", status, f"must be one of {', '.join(STATUS_PROTO_NAMES.values())}")
        )
    return stored


def generate_model_name() -> str:
    """A random adjective-animal-number name of at most 20 characters, as the reference server makes."""
    name = generate_run_name()
    for _ in range(9):
        if len(name) <= _GENERATED_NAME_MAX_LENGTH:
            return name
        name = generate_run_name()
    return name[:_GENERATED_NAME_MAX_LENGTH]


def validate_model_name(name: str) -> None:
    if any(c in name for c in _NAME_BAD_CHARS):
        raise invalid(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {_NAME_BAD_CHARS}"
        )
    validate_length("name", name, MAX_NAME_LENGTH)


def validate_keys(pairs: Sequence[tuple[str, str]], field: str) -> None:
    for i, (key, _value) in enumerate(pairs):
        if not key:
            raise invalid(missing_value_message(f"{field}[{i}].key"))
        validate_length(f"{field}[{i}].key", key, MAX_KEY_LENGTH)


def _dedupe(pairs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Last write wins within one request too (one upsert row per key)."""
    return list(dict(pairs).items())


def _resolve_order(o: OrderByIn, index: int) -> MetricOrder:
    """An `order_by` entry: a (possibly aliased) attribute, or `metrics.<key>`."""
    field_name = o.field_name
    if not field_name:
        raise invalid(missing_value_message(f"order_by[{index}].field_name"))
    attribute = LOGGED_MODEL_GRAMMAR.attribute(field_name, for_order=True)
    if attribute is None and "." in field_name:
        prefix, key = field_name.split(".", 1)
        key = key.strip("`")
        entity = LOGGED_MODEL_GRAMMAR.prefixes.get(prefix)
        if entity == "attribute":
            attribute = LOGGED_MODEL_GRAMMAR.attribute(key, for_order=True)
        elif entity == "metric" and key:
            return MetricOrder("metric", key, o.ascending, o.dataset_name or None, o.dataset_digest or None)
        elif entity is not None:
            raise invalid(f"Invalid order by field name: {field_name}. Only metrics are supported.")
    if attribute is None:
        raise invalid(
            f"Invalid order by field name: {field_name}. Expected metrics.<key> or one of "
            f"{', '.join(LOGGED_MODEL_GRAMMAR.attribute_names(for_order=True))}."
        )
    return MetricOrder("attribute", attribute.name, o.ascending)
