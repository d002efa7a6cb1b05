"""Dual tracking, the target side: import a run or a logged model mirrored from another Runyard
server, keeping the source's id so that `runs:/<run_id>/...` and `models:/m-<id>` mean the same on
both servers. The caller needs what creating one needs (EDIT on the experiment, with `--auth on`).

An import is one transaction, and replaying it is harmless. For a run (a logged model likewise,
keyed on `runyard.source.model_id`):

1. a run of the request's workspace with the source id whose `runyard.source.run_id` tag is that id
   is the mirror already made: it is returned unchanged (`created: false`), whatever experiment it
   is in and whatever its state;
2. else, if the id is taken (see 4), a run of the workspace tagged `runyard.source.run_id` = the id
   and `runyard.source.url` = the request's source URL is the mirror made earlier: returned as is;
3. else, if no run of the whole database has the id, the run is created with it (`created: true`);
4. else the id belongs to a run of another workspace, or to a run that is no mirror of it (a mirror
   between two workspaces of one server, or a cycle of mirrors): the run is created with a new id.
   Its back-pointer tags say which source run it mirrors, and step 2 finds it on a replay.

The back-pointer tags (`runyard.source.*`) are always set by the import itself, overriding any of
the same name in the request; `mlflow.modelVersions` (registry bookkeeping each server keeps for
itself) is never copied. A run whose id is free again after its mirror got a new id (the holder was
deleted for good) would be mirrored a second time under the kept id: step 2 is only looked for when
the id is taken, as the tag look-up is not indexed.

Imported runs keep the source's name, user, status and times; imported logged models start PENDING
(the replicator uploads their files, then finalizes them through the ordinary PATCH).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from runyard.domain import limits
from runyard.domain.entities import ACTIVE, RUN_NAME_TAG, RUN_STATUSES, Experiment, Run, RunInfo
from runyard.domain.errors import invalid, not_found
from runyard.domain.mirror import (
    MAX_URL_LENGTH,
    SOURCE_MODEL_TAG,
    SOURCE_RUN_TAG,
    SOURCE_URL_TAG,
    UNMIRRORED_RUN_TAGS,
)
from runyard.domain.names import generate_run_name
from runyard.domain.permissions import READ
from runyard.domain.validation import (
    invalid_value_message,
    require_value,
    validate_length,
    validate_unique_param_keys,
)
from runyard.services.context import RequestContext, now_ms
from runyard.services.experiments import ExperimentService
from runyard.services.logged_models import (
    MAX_MODEL_TYPE_LENGTH,
    MAX_SOURCE_RUN_ID_LENGTH,
    generate_model_name,
    validate_keys,
    validate_model_name,
)
from runyard.services.mirror.journal import MirrorJournal
from runyard.services.runs import validated_tag
from runyard.store import logged_models as lm_store
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.dialect import lock_for_transaction
from runyard.store.keys import KeyRegistry
from runyard.store.logged_models import LoggedModel, LoggedModelInfo, LoggedModelRow
from runyard.store.runs import RunRow

RUN_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
MODEL_ID_RE: Final = re.compile(r"m-[0-9a-f]{32}")
SOURCE_TAGS: Final = frozenset({SOURCE_RUN_TAG, SOURCE_URL_TAG, SOURCE_MODEL_TAG})

T = TypeVar("T")


@dataclass(frozen=True)
class RunImport:
    experiment_id: str | None
    run_id: str | None
    source_url: str | None
    run_name: str | None = None
    user_id: str | None = None
    start_time: int | None = None
    status: str | None = None
    end_time: int | None = None
    tags: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class LoggedModelImport:
    experiment_id: str | None
    model_id: str | None
    source_url: str | None
    name: str | None = None
    source_run_id: str | None = None
    model_type: str | None = None
    params: Sequence[tuple[str, str]] = ()
    tags: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class ImportedRun:
    run: Run
    created: bool


@dataclass(frozen=True)
class ImportedModel:
    model: LoggedModel
    created: bool


class MirrorImportService:
    def __init__(
        self, db: Database, keys: KeyRegistry, experiments: ExperimentService, journal: MirrorJournal | None = None
    ) -> None:
        self._db = db
        self._journal = journal or MirrorJournal()
        self._keys = keys
        self._experiments = experiments

    # --- runs ---------------------------------------------------------------------------------

    def import_run(self, ctx: RequestContext, req: RunImport) -> ImportedRun:
        experiment_id = require_value(req.experiment_id, "experiment_id")
        run_id = _checked_id(req.run_id, "run_id", RUN_ID_RE, "32 lowercase hexadecimal digits")
        source_url = _source_url(req.source_url)
        status = req.status or "RUNNING"
        if status not in RUN_STATUSES:
            raise invalid(invalid_value_message("status", status[:100], f"must be one of {', '.join(RUN_STATUSES)}"))
        validate_length("run_name", req.run_name, limits.MAX_RUN_NAME_LENGTH)
        validate_length("user_id", req.user_id, limits.MAX_USER_ID_LENGTH)
        tags = [validated_tag(k, v, f"tags[{i}]") for i, (k, v) in enumerate(req.tags)]
        tags = [(k, v) for k, v in tags if k not in SOURCE_TAGS and k not in UNMIRRORED_RUN_TAGS]
        # The run's name is the source's and its `mlflow.runName` tag follows it. Unlike `runs/create`,
        # a `run_name` and a tag that disagree are not refused: a mirror copies what the source holds.
        name = req.run_name or next((v for k, v in tags if k == RUN_NAME_TAG), None) or generate_run_name()
        tags = [(k, v) for k, v in tags if k != RUN_NAME_TAG]
        tags += [(RUN_NAME_TAG, name), (SOURCE_RUN_TAG, run_id), (SOURCE_URL_TAG, source_url)]
        key_ids = self._keys.ids_for(k for k, _ in tags)
        source_keys = [(key_ids[SOURCE_RUN_TAG], run_id), (key_ids[SOURCE_URL_TAG], source_url)]

        def attempt(conn: Connection) -> ImportedRun:
            lock_for_transaction(conn, f"mirror-import:run:{run_id}")
            experiment = self._active_experiment(conn, ctx, experiment_id)
            taken = run_store.get(conn, run_id)
            if taken is not None:
                if (
                    taken.workspace_id == ctx.workspace.id
                    and run_store.get_tag(conn, taken.pk, key_ids[SOURCE_RUN_TAG]) == run_id
                ):
                    return self._existing_run(conn, ctx, taken)
                earlier = run_store.find_by_tags(conn, ctx.workspace.id, source_keys)
                if earlier is not None:
                    return self._existing_run(conn, ctx, earlier)
            run_uuid = run_id if taken is None else uuid.uuid4().hex
            info = RunInfo(
                run_uuid=run_uuid,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user_id=req.user_id,
                status=status,
                start_time=req.start_time if req.start_time is not None else now_ms(),
                end_time=req.end_time,
                artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_uuid}/artifacts",
                lifecycle_stage=ACTIVE,
            )
            pk = run_store.insert_run(conn, info)
            run_store.set_tags(conn, pk, _dedupe([(key_ids[k], v) for k, v in tags]))
            self._journal.run_changed(conn, ctx.workspace.id, run_uuid)  # this workspace may be linked too
            return ImportedRun(run_store.load_runs(conn, [RunRow(pk, ctx.workspace.id, info)])[0], created=True)

        return self._once_more_on_conflict(attempt)

    def _existing_run(self, conn: Connection, ctx: RequestContext, row: RunRow) -> ImportedRun:
        # It may be in another experiment than the one named (the source mapped elsewhere since).
        ctx.authorize_experiment(row.info.experiment_id, conn=conn)
        return ImportedRun(run_store.load_runs(conn, [row])[0], created=False)

    # --- logged models ------------------------------------------------------------------------

    def import_logged_model(self, ctx: RequestContext, req: LoggedModelImport) -> ImportedModel:
        experiment_id = require_value(req.experiment_id, "experiment_id")
        model_id = _checked_id(req.model_id, "model_id", MODEL_ID_RE, "'m-' and 32 lowercase hexadecimal digits")
        source_url = _source_url(req.source_url)
        if req.name:
            validate_model_name(req.name)
        validate_length("model_type", req.model_type, MAX_MODEL_TYPE_LENGTH)
        validate_length("source_run_id", req.source_run_id, MAX_SOURCE_RUN_ID_LENGTH)
        validate_keys(req.params, "params")
        validate_keys(req.tags, "tags")
        validate_unique_param_keys([k for k, _ in req.params])
        tags = [(k, v) for k, v in req.tags if k not in SOURCE_TAGS]
        tags += [(SOURCE_MODEL_TAG, model_id), (SOURCE_URL_TAG, source_url)]
        key_ids = self._keys.ids_for([k for k, _ in req.params] + [k for k, _ in tags])
        source_keys = [(key_ids[SOURCE_MODEL_TAG], model_id), (key_ids[SOURCE_URL_TAG], source_url)]

        def attempt(conn: Connection) -> ImportedModel:
            lock_for_transaction(conn, f"mirror-import:model:{model_id}")
            experiment = self._active_experiment(conn, ctx, experiment_id)
            taken = lm_store.get(conn, model_id)
            if taken is not None:
                if (
                    taken.workspace_id == ctx.workspace.id
                    and lm_store.get_tag(conn, taken.pk, key_ids[SOURCE_MODEL_TAG]) == model_id
                ):
                    return self._existing_model(conn, ctx, taken)
                earlier = lm_store.find_by_tags(conn, ctx.workspace.id, source_keys)
                if earlier is not None:
                    return self._existing_model(conn, ctx, earlier)
            if req.source_run_id:
                run = run_store.get(conn, req.source_run_id)
                if run is None or run.workspace_id != ctx.workspace.id:
                    raise not_found(f"Run with id={req.source_run_id} not found")
                ctx.authorize_experiment(run.info.experiment_id, level=READ, conn=conn)
            new_id = model_id if taken is None else f"m-{uuid.uuid4().hex}"
            now = now_ms()
            info = LoggedModelInfo(
                model_id=new_id,
                experiment_id=experiment.experiment_id,
                name=req.name or generate_model_name(),
                artifact_uri=f"{experiment.artifact_location.rstrip('/')}/models/{new_id}/artifacts",
                status="PENDING",
                status_message=None,
                model_type=req.model_type or "",
                source_run_id=req.source_run_id or "",
                lifecycle_stage=ACTIVE,
                creation_time=now,
                last_updated_time=now,
            )
            pk = lm_store.insert_model(conn, info)
            lm_store.insert_params(conn, pk, [(key_ids[k], v) for k, v in req.params])
            lm_store.set_tags(conn, pk, _dedupe([(key_ids[k], v) for k, v in tags]))
            self._journal.model_changed(conn, ctx.workspace.id, new_id)
            model = lm_store.load_models(conn, [LoggedModelRow(pk, ctx.workspace.id, info)])[0]
            return ImportedModel(model, created=True)

        return self._once_more_on_conflict(attempt)

    def _existing_model(self, conn: Connection, ctx: RequestContext, row: LoggedModelRow) -> ImportedModel:
        ctx.authorize_experiment(row.info.experiment_id, conn=conn)
        return ImportedModel(lm_store.load_models(conn, [row])[0], created=False)

    # --- shared -------------------------------------------------------------------------------

    def _active_experiment(self, conn: Connection, ctx: RequestContext, experiment_id: str) -> Experiment:
        """The named experiment (RESOURCE_DOES_NOT_EXIST unless in the caller's workspace; with
        authentication on, PERMISSION_DENIED without the route's level on it), active."""
        experiment = self._experiments.require(conn, ctx, experiment_id)
        if experiment.lifecycle_stage != ACTIVE:
            raise invalid(
                f"The experiment {experiment.experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}."
            )
        return experiment

    def _once_more_on_conflict(self, attempt: Callable[[Connection], T]) -> T:
        """Run `attempt` in a write transaction. Imports of one source id take turns (SQLite: one
        writer at a time; PostgreSQL: `lock_for_transaction`), so a replay racing the first import
        finds what it made. A key violation can then only come from another path (an object of the
        same id created, or the experiment removed, meanwhile): once more, which sees it.
        """
        try:
            with self._db.write() as conn:
                return attempt(conn)
        except IntegrityError:
            with self._db.write() as conn:
                return attempt(conn)


def _checked_id(value: str | None, path: str, pattern: re.Pattern[str], shape: str) -> str:
    checked = require_value(value, path)
    if not pattern.fullmatch(checked):
        raise invalid(invalid_value_message(path, checked[:100], f"must be {shape}"))
    return checked


def _source_url(value: str | None) -> str:
    url = require_value(value, "source_url")
    validate_length("source_url", url, MAX_URL_LENGTH)
    return url


def _dedupe(pairs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Last write wins within one request too (one upsert row per key)."""
    return list(dict(pairs).items())
