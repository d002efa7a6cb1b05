"""Runs: lifecycle, tags, params, metrics, inputs/outputs — every write one transaction, all-or-nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from runyard.domain import limits
from runyard.domain.entities import (
    ACTIVE,
    DATASET_CONTEXT_TAG,
    DELETED,
    RUN_NAME_TAG,
    RUN_STATUSES,
    Dataset,
    ModelIO,
    Run,
    RunInfo,
)
from runyard.domain.errors import invalid, not_found
from runyard.domain.model_history import LOG_MODEL_HISTORY_TAG, append_entry, history_entry
from runyard.domain.names import generate_run_name
from runyard.domain.permissions import READ
from runyard.domain.validation import (
    invalid_value_message,
    missing_value_message,
    truncate,
    validate_batch_sizes,
    validate_key,
    validate_length,
    validate_metrics,
    validate_unique_param_keys,
)
from runyard.services.context import RequestContext, now_ms
from runyard.services.experiments import ExperimentService
from runyard.services.logged_models import LoggedModelService, ModelMetricIn
from runyard.services.mirror.journal import MirrorJournal
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry
from runyard.store.point_writer import PointWriter
from runyard.store.runs import RunRow


def _visible(ctx: RequestContext, run_id: str, row: RunRow | None) -> RunRow:
    if row is None or row.workspace_id != ctx.workspace.id:
        raise not_found(f"Run with id={run_id} not found")
    return row


def _writable(ctx: RequestContext, run_id: str, row: RunRow) -> RunRow:
    if row.info.lifecycle_stage != ACTIVE:
        raise invalid(f"The run {run_id} must be in the 'active' state. Current state is {row.info.lifecycle_stage}.")
    return row


def _check_writable(ctx: RequestContext, run_id: str, row: RunRow | None) -> None:
    """The point writer's check, on its thread: visible, writable by the caller (an in-memory look
    at the per-process permission cache; nothing at all with auth off), active."""
    visible = _visible(ctx, run_id, row)
    ctx.authorize_experiment(visible.info.experiment_id)
    _writable(ctx, run_id, visible)


# One metric point of a logging request: (key, value, timestamp, step, model_id, dataset_name,
# dataset_digest). A plain tuple, because a batch builds a thousand of them per request.
MetricIn = tuple[str, float, int, int, "str | None", "str | None", "str | None"]


@dataclass(frozen=True)
class DatasetInputIn:
    dataset: Dataset
    tags: list[tuple[str, str]]


class RunService:
    def __init__(
        self,
        db: Database,
        keys: KeyRegistry,
        experiments: ExperimentService,
        logged_models: LoggedModelService,
        points: PointWriter | None = None,
        journal: MirrorJournal | None = None,
    ) -> None:
        """`points`: the metric point writer (None: every write goes through `log_batch`);
        `journal`: records what linked workspaces write, for their mirrors."""
        self._db = db
        self._journal = journal or MirrorJournal()
        self._points = points
        self._keys = keys
        self._experiments = experiments
        self._logged_models = logged_models

    # --- lookups ------------------------------------------------------------------------------

    def require(
        self, conn: Connection, ctx: RequestContext, run_id: str, level: int | None = None, *, hold: bool = False
    ) -> RunRow:
        """The run if it exists in the caller's workspace, else RESOURCE_DOES_NOT_EXIST."""
        return _visible(ctx, run_id, self.find(conn, ctx, run_id, level, hold=hold))

    def find(
        self, conn: Connection, ctx: RequestContext, run_id: str, level: int | None = None, *, hold: bool = False
    ) -> RunRow | None:
        """The run if it exists in the caller's workspace, else None (a run of another workspace is
        not told apart from one that does not exist). With authentication on, PERMISSION_DENIED
        unless the caller holds `level` (default: the route's) on the run's experiment. `hold`: a
        write follows (see `run_store.get_many`)."""
        if not run_id:
            raise invalid(missing_value_message("run_id"))
        row = run_store.get(conn, run_id, hold=hold)
        if row is None or row.workspace_id != ctx.workspace.id:
            return None
        ctx.authorize_experiment(row.info.experiment_id, level=level, conn=conn)
        return row

    def _require_active(self, conn: Connection, ctx: RequestContext, run_id: str) -> RunRow:
        return _writable(ctx, run_id, self.require(conn, ctx, run_id, hold=True))

    def get(self, ctx: RequestContext, run_id: str) -> Run:
        with self._db.read() as conn:
            row = self.require(conn, ctx, run_id)
            return run_store.load_runs(conn, [row])[0]

    def artifact_uri(self, ctx: RequestContext, run_id: str) -> str:
        """Where run `run_id`'s artifacts are (one row read, not the whole run)."""
        with self._db.read() as conn:
            return self.require(conn, ctx, run_id).info.artifact_uri

    # --- lifecycle ----------------------------------------------------------------------------

    def create(
        self,
        ctx: RequestContext,
        *,
        experiment_id: str | None,
        user_id: str | None,
        run_name: str | None,
        start_time: int | None,
        tags: Sequence[tuple[str, str]],
    ) -> Run:
        if experiment_id is None or experiment_id == "":
            raise invalid(missing_value_message("experiment_id"))
        tags = [validated_tag(k, v, f"tags[{i}]") for i, (k, v) in enumerate(tags)]
        tag_name = next((v for k, v in tags if k == RUN_NAME_TAG), None)
        if run_name and tag_name and run_name != tag_name:
            raise invalid(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
                f"(run_name='{run_name}', mlflow.runName='{tag_name}')."
            )
        validate_length("run_name", run_name, limits.MAX_RUN_NAME_LENGTH)
        name = run_name or tag_name or generate_run_name()
        if tag_name is None:
            tags.append((RUN_NAME_TAG, name))
        key_ids = self._keys.ids_for(k for k, _ in tags)
        run_uuid = uuid.uuid4().hex
        with self._db.write() as conn:
            experiment = self._experiments.require(conn, ctx, experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise invalid(
                    f"The experiment {experiment.experiment_id} must be in the 'active' state. "
                    f"Current state is {experiment.lifecycle_stage}."
                )
            info = RunInfo(
                run_uuid=run_uuid,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user_id=user_id,
                status="RUNNING",
                start_time=start_time if start_time is not None else now_ms(),
                end_time=None,
                artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_uuid}/artifacts",
                lifecycle_stage=ACTIVE,
            )
            pk = run_store.insert_run(conn, info)
            run_store.set_tags(conn, pk, _dedupe([(key_ids[k], v) for k, v in tags]))
            self._journal.run_changed(conn, ctx.workspace.id, run_uuid)
            return run_store.load_runs(conn, [RunRow(pk, ctx.workspace.id, info)])[0]

    def update(
        self,
        ctx: RequestContext,
        run_id: str,
        *,
        status: str | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        if status is not None and status not in RUN_STATUSES:
            raise invalid(invalid_value_message("status", status, f"must be one of {', '.join(RUN_STATUSES)}"))
        validate_length("run_name", run_name, limits.MAX_RUN_NAME_LENGTH)
        name_key = self._keys.ids_for([RUN_NAME_TAG])[RUN_NAME_TAG] if run_name else None
        with self._db.write() as conn:
            row = self._require_active(conn, ctx, run_id)
            values: dict[str, object] = {}
            if status is not None:
                values["status"] = status
            if end_time is not None:
                values["end_time"] = end_time
            if run_name and name_key is not None:
                values["name"] = run_name
                run_store.set_tags(conn, row.pk, [(name_key, run_name)])
            run_store.update_info(conn, row.pk, **values)
            self._journal.run_changed(conn, row.workspace_id, row.info.run_uuid)
            updated = run_store.get(conn, run_id)
        assert updated is not None
        return updated.info

    def delete(self, ctx: RequestContext, run_id: str) -> None:
        with self._db.write() as conn:
            row = self.require(conn, ctx, run_id)
            run_store.set_lifecycle(conn, row.pk, DELETED, now_ms())
            self._journal.run_changed(conn, row.workspace_id, row.info.run_uuid)

    def restore(self, ctx: RequestContext, run_id: str) -> None:
        with self._db.write() as conn:
            row = self.require(conn, ctx, run_id)
            run_store.set_lifecycle(conn, row.pk, ACTIVE, None)
            self._journal.run_changed(conn, row.workspace_id, row.info.run_uuid)

    # --- data ---------------------------------------------------------------------------------

    def set_tag(self, ctx: RequestContext, run_id: str, key: str, value: str) -> None:
        self.log_batch(ctx, run_id, metrics=[], params=[], tags=[(key, value)], single=True)

    def delete_tag(self, ctx: RequestContext, run_id: str, key: str) -> None:
        key_id = self._keys.existing_id(key)
        with self._db.write() as conn:
            row = self._require_active(conn, ctx, run_id)
            if key_id is None or not run_store.delete_tag(conn, row.pk, key_id):
                raise not_found(f"No tag with name: {key} in run with id {run_id}")
            self._journal.run_tag_deleted(conn, row.workspace_id, row.info.run_uuid, key)

    def log_batch(
        self,
        ctx: RequestContext,
        run_id: str,
        *,
        metrics: Sequence[MetricIn],
        params: Sequence[tuple[str, str]],
        tags: Sequence[tuple[str, str]],
        single: bool = False,
    ) -> None:
        """Validate everything first, then write everything in one transaction (or nothing)."""
        validate_batch_sizes(len(metrics), len(params), len(tags))
        validate_metrics(metrics, single)
        checked_params = [
            _validated_param(k, v, "key" if single else f"params[{i}].key") for i, (k, v) in enumerate(params)
        ]
        validate_unique_param_keys([k for k, _ in checked_params])
        checked_tags = [validated_tag(k, v, "" if single else f"tags[{i}]") for i, (k, v) in enumerate(tags)]

        names = [m[0] for m in metrics] + [k for k, _ in checked_params] + [k for k, _ in checked_tags]
        key_ids = self._keys.cached_ids(names)
        points = run_store.prepare_points(metrics, key_ids) if key_ids is not None else None
        with self._db.write() as conn:
            row = self._require_active(conn, ctx, run_id)
            if key_ids is None:  # new names: interned in this transaction, cached once it committed
                key_ids = self._keys.ids_within(conn, names)
                points = run_store.prepare_points(metrics, key_ids)
            if checked_params:
                wanted = {key_ids[k]: (k, v) for k, v in checked_params}
                stored = run_store.insert_params(conn, row.pk, [(key_ids[k], v) for k, v in checked_params])
                for key_id, (key, value) in wanted.items():
                    if stored.get(key_id) != value:
                        raise invalid(
                            f"Changing param values is not allowed. Param with key='{key}' was already logged "
                            f"with value='{stored.get(key_id)}' for run ID='{run_id}'. "
                            f"Attempted logging new value '{value}'."
                        )
            if checked_tags:
                run_store.set_tags(conn, row.pk, _dedupe([(key_ids[k], v) for k, v in checked_tags]))
                names = [v for k, v in checked_tags if k == RUN_NAME_TAG]
                if names:
                    run_store.update_info(conn, row.pk, name=names[-1])
            if checked_params or checked_tags:
                self._journal.run_changed(conn, row.workspace_id, row.info.run_uuid)
            if metrics and points is not None:
                run_store.insert_points(conn, row.pk, points)
                linked = [m for m in metrics if m[4]]
                if not linked:
                    self._journal.points_written(conn, [(row.workspace_id, row.info.run_uuid, points)])
                else:
                    objects = _metric_objects(metrics)
                    self._journal.model_points_written(conn, row.workspace_id, row.info.run_uuid, objects)
                    self._logged_models.record_metrics(
                        conn,
                        ctx,
                        row.pk,
                        [
                            ModelMetricIn(model_id, key_ids[key], value, ts, step, ds_name, ds_digest)
                            for key, value, ts, step, model_id, ds_name, ds_digest in linked
                            if model_id
                        ],
                    )
        self._keys.remember(key_ids)

    def queue_metrics(
        self, ctx: RequestContext, run_id: str, metrics: Sequence[MetricIn], *, single: bool = False
    ) -> Future[None] | None:
        """Metrics-only logging through the point writer, without a service thread (see `point_writer`).

        Validates like `log_batch` (raising its errors here) and returns a future that completes
        when the points are committed. Returns None when this path does not apply — no point
        writer, points linked to a logged model, or a key this process has not interned yet (that
        needs a write) — and the caller uses `log_batch`.
        """
        if self._points is None or not run_id or any(m[4] for m in metrics):
            return None
        key_ids = self._keys.cached_ids([m[0] for m in metrics])
        if key_ids is None:
            return None
        validate_batch_sizes(len(metrics), 0, 0)
        validate_metrics(metrics, single)
        points = run_store.prepare_points(metrics, key_ids)
        return self._points.submit(run_id, points, partial(_check_writable, ctx, run_id))

    def record_logged_model(self, ctx: RequestContext, run_id: str, model_json: str) -> None:
        """The legacy `runs/log-model`: append the model to the run's `mlflow.log-model.history`
        tag (see `domain.model_history`), in one transaction, on an active run."""
        entry = history_entry(model_json)
        key_id = self._keys.ids_for([LOG_MODEL_HISTORY_TAG])[LOG_MODEL_HISTORY_TAG]
        with self._db.write() as conn:
            row = self._require_active(conn, ctx, run_id)
            previous = run_store.get_tag(conn, row.pk, key_id, lock=True)
            run_store.set_tags(conn, row.pk, [(key_id, append_entry(previous, entry))])
            self._journal.run_changed(conn, row.workspace_id, row.info.run_uuid)

    def log_inputs(
        self,
        ctx: RequestContext,
        run_id: str,
        datasets: Sequence[DatasetInputIn],
        models: Sequence[ModelIO],
    ) -> None:
        if len(datasets) > limits.MAX_DATASETS_PER_BATCH:
            raise invalid(
                f"A batch logging request can contain at most {limits.MAX_DATASETS_PER_BATCH} datasets. "
                f"Got {len(datasets)} datasets."
            )
        for i, d in enumerate(datasets):
            _validate_dataset_input(d, f"datasets[{i}]")
        with self._db.write() as conn:
            row = self._require_active(conn, ctx, run_id)
            for d in datasets:
                dataset_id = run_store.upsert_dataset(conn, row.info.experiment_id, d.dataset)
                context = next((v for k, v in d.tags if k == DATASET_CONTEXT_TAG), None)
                run_store.link_dataset(conn, row.pk, dataset_id, d.tags, context)
            self._logged_models.require_ids(conn, ctx, [m.model_id for m in models], READ)
            run_store.link_models(conn, row.pk, "input", models)
            self._journal.run_changed(conn, row.workspace_id, row.info.run_uuid)

    def log_outputs(self, ctx: RequestContext, run_id: str, models: Sequence[ModelIO]) -> None:
        with self._db.write() as conn:
            row = self._require_active(conn, ctx, run_id)
            self._logged_models.require_ids(conn, ctx, [m.model_id for m in models], READ)
            run_store.link_models(conn, row.pk, "output", models)
            self._journal.run_changed(conn, row.workspace_id, row.info.run_uuid)


def _metric_objects(metrics: Sequence[MetricIn]) -> list[dict[str, object]]:
    """Metrics as MLflow metric objects (for the mirror's outbox: those linked to logged models)."""
    out: list[dict[str, object]] = []
    for key, value, timestamp, step, model_id, dataset_name, dataset_digest in metrics:
        metric: dict[str, object] = {"key": key, "value": value, "timestamp": timestamp, "step": step}
        if model_id:
            metric["model_id"] = model_id
        if dataset_name:
            metric["dataset_name"] = dataset_name
        if dataset_digest:
            metric["dataset_digest"] = dataset_digest
        out.append(metric)
    return out


def _validated_param(key: str, value: str, path: str) -> tuple[str, str]:
    validate_key(key, path, "Param key")
    return key, truncate(value, limits.MAX_PARAM_VALUE_LENGTH)


def validated_tag(key: str, value: str, path: str) -> tuple[str, str]:
    validate_key(key, f"{path}.key" if path else "key", "Tag key")
    return key, truncate(value, limits.MAX_TAG_VALUE_LENGTH)


def _dedupe(pairs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Last write wins within one request too (one upsert row per key)."""
    return list(dict(pairs).items())


def _validate_dataset_input(d: DatasetInputIn, path: str) -> None:
    ds = d.dataset
    for field, value, limit in (
        ("name", ds.name, limits.MAX_DATASET_NAME_LENGTH),
        ("digest", ds.digest, limits.MAX_DATASET_DIGEST_LENGTH),
        ("source", ds.source, limits.MAX_DATASET_SOURCE_LENGTH),
        ("schema", ds.schema, limits.MAX_DATASET_SCHEMA_LENGTH),
        ("profile", ds.profile, limits.MAX_DATASET_PROFILE_LENGTH),
    ):
        validate_length(f"{path}.dataset.{field}", value, limit)
    # name, digest, source_type and source may be "" (the reference stores such inputs as they are).
    for j, (key, value) in enumerate(d.tags):
        validate_length(f"{path}.tags[{j}].key", key, limits.MAX_INPUT_TAG_KEY_LENGTH)
        validate_length(f"{path}.tags[{j}].value", value, limits.MAX_INPUT_TAG_VALUE_LENGTH)
