"""Experiments: create, read, search, rename, delete/restore, tags, and the summaries of the datasets
their runs used."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, exc

from runyard.domain import limits
from runyard.domain.entities import ACTIVE, DELETED, VIEW_TYPES, Experiment, Page
from runyard.domain.errors import BAD_REQUEST, MlflowError, already_exists, invalid, not_found
from runyard.domain.permissions import EXPERIMENT
from runyard.domain.search_filter import EXPERIMENT_GRAMMAR, parse_filter, parse_order_by
from runyard.domain.validation import (
    check_max_results,
    parse_experiment_id,
    require_value,
    validate_experiment_name,
    validate_key,
    validate_length,
)
from runyard.domain.workspaces import DEFAULT_PATH_ROOTS, canonical_experiment_name
from runyard.services.artifact_roots import check_artifact_location
from runyard.services.context import RequestContext, now_ms, require_workspace, workspace_gone
from runyard.services.identity.access import ExperimentNames
from runyard.services.mirror.journal import MirrorJournal
from runyard.store import dataset_summaries as dataset_store
from runyard.store import experiments as exp_store
from runyard.store import runs as run_store
from runyard.store import search as search_sql
from runyard.store.database import Database
from runyard.store.dataset_summaries import DatasetSummary
from runyard.store.integrity import is_foreign_key_violation


class ExperimentService:
    def __init__(
        self, db: Database, names: ExperimentNames | None = None, journal: MirrorJournal | None = None
    ) -> None:
        self._db = db
        self._names = names
        self._journal = journal or MirrorJournal()

    # --- reads --------------------------------------------------------------------------------

    def get(self, ctx: RequestContext, experiment_id: str | int) -> Experiment:
        with self._db.read() as conn:
            return self.require(conn, ctx, experiment_id)

    def require(
        self, conn: Connection, ctx: RequestContext, experiment_id: str | int, level: int | None = None
    ) -> Experiment:
        """The experiment if it exists in the caller's workspace, else RESOURCE_DOES_NOT_EXIST; with
        authentication on, PERMISSION_DENIED unless the caller holds `level` (default: the route's) on it."""
        exp_id = parse_experiment_id(experiment_id)
        experiment = exp_store.get(conn, ctx.workspace.id, exp_id)
        if experiment is None:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        ctx.authorize_experiment(exp_id, experiment.name, level, conn)
        return experiment

    def get_by_name(self, ctx: RequestContext, name: str) -> Experiment:
        canonical = _canonical(ctx, require_value(name, "experiment_name"))
        with self._db.read() as conn:
            experiment = exp_store.get_by_name(conn, ctx.workspace.id, canonical)
            if experiment is None:
                raise not_found(f"Could not find experiment with name '{name}'")
            ctx.authorize_experiment(experiment.experiment_id, experiment.name, conn=conn)
        return experiment

    def search(
        self,
        ctx: RequestContext,
        *,
        view_type: str,
        max_results: int | None,
        filter_string: str | None,
        order_by: Sequence[str],
        page_token: str | None,
    ) -> Page[Experiment]:
        limit = check_max_results(
            limits.SEARCH_EXPERIMENTS_DEFAULT_MAX_RESULTS if max_results is None else max_results,
            limits.SEARCH_EXPERIMENTS_MAX_RESULTS,
        )
        clauses = parse_filter(filter_string, EXPERIMENT_GRAMMAR)
        order = parse_order_by(order_by, EXPERIMENT_GRAMMAR)
        offset = search_sql.decode_page_token(page_token)
        readable = ctx.readable(EXPERIMENT, exp_store.ID_COLUMN, exp_store.NAME_COLUMN)
        stmt = (
            exp_store.base_query(ctx.workspace.id, VIEW_TYPES[view_type])
            .where(*search_sql.experiment_filter(clauses), *([] if readable is None else [readable]))
            .order_by(*search_sql.experiment_ordering(order))
            .offset(offset)
            .limit(limit + 1)
        )
        with self._db.read() as conn:
            require_workspace(conn, ctx)
            found = exp_store.fetch_page(conn, stmt)
        token = search_sql.encode_page_token(offset + limit) if len(found) > limit else None
        return Page(found[:limit], token)

    # --- writes -------------------------------------------------------------------------------

    def create(
        self,
        ctx: RequestContext,
        name: str | None,
        artifact_location: str | None,
        tags: Sequence[tuple[str, str]],
    ) -> str:
        name = _canonical(ctx, validate_experiment_name(name))
        for key, value in tags:
            _validate_experiment_tag(key, value)
        if artifact_location is not None and artifact_location.strip() == "":
            artifact_location = None
        if artifact_location is not None:
            artifact_location = check_artifact_location(artifact_location)
        now = now_ms()
        try:
            with self._db.write() as conn:
                require_workspace(conn, ctx)
                if exp_store.name_taken(conn, ctx.workspace.id, name):
                    raise already_exists(f"Experiment(name={name}) already exists.")
                experiment_id = exp_store.insert_experiment(conn, ctx.workspace.id, name, artifact_location, now)
                exp_store.set_tags(conn, experiment_id, tags)
                self._journal.experiment_changed(conn, ctx.workspace.id, experiment_id)
                ctx.grant_creator(conn, EXPERIMENT, str(experiment_id))
        except exc.IntegrityError as e:
            if is_foreign_key_violation(e):  # the workspace went meanwhile (a deletion by another process)
                raise workspace_gone(ctx) from None
            raise already_exists(f"Experiment(name={name}) already exists.") from None
        return str(experiment_id)

    def rename(self, ctx: RequestContext, experiment_id: str, new_name: str | None) -> None:
        new_name = _canonical(ctx, validate_experiment_name(new_name, "new_name"))
        try:
            with self._db.write() as conn:
                experiment = self.require(conn, ctx, experiment_id)
                if experiment.lifecycle_stage != ACTIVE:
                    raise MlflowError("Cannot rename a non-active experiment.", "INVALID_STATE")
                if experiment.name != new_name and exp_store.name_taken(conn, ctx.workspace.id, new_name):
                    raise _name_taken_on_rename(new_name)
                exp_store.rename(conn, experiment.experiment_id, new_name, now_ms())
                self._journal.experiment_changed(conn, ctx.workspace.id, experiment.experiment_id)
            if self._names is not None:
                self._names.forget(int(experiment.experiment_id))
        except exc.IntegrityError:
            raise _name_taken_on_rename(new_name) from None

    def delete(self, ctx: RequestContext, experiment_id: str) -> None:
        """Mark the experiment and all its runs deleted."""
        now = now_ms()
        with self._db.write() as conn:
            experiment = self.require(conn, ctx, experiment_id)
            if experiment.lifecycle_stage != ACTIVE:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            exp_store.set_lifecycle(conn, experiment.experiment_id, DELETED, now)
            run_store.set_lifecycle_for_experiment(conn, experiment.experiment_id, DELETED, now)
            self._journal.experiment_changed(conn, ctx.workspace.id, experiment.experiment_id)

    def restore(self, ctx: RequestContext, experiment_id: str) -> None:
        now = now_ms()
        with self._db.write() as conn:
            experiment = self.require(conn, ctx, experiment_id)
            if experiment.lifecycle_stage != DELETED:
                raise not_found(f"No deleted Experiment with id={experiment_id} exists")
            exp_store.set_lifecycle(conn, experiment.experiment_id, ACTIVE, now)
            run_store.set_lifecycle_for_experiment(conn, experiment.experiment_id, ACTIVE, now)
            self._journal.experiment_changed(conn, ctx.workspace.id, experiment.experiment_id)

    def set_tag(self, ctx: RequestContext, experiment_id: str, key: str, value: str) -> None:
        _validate_experiment_tag(key, value)
        with self._db.write() as conn:
            experiment = self._require_active(conn, ctx, experiment_id)
            exp_store.set_tags(conn, experiment.experiment_id, [(key, value)])
            self._journal.experiment_changed(conn, ctx.workspace.id, experiment.experiment_id)

    def delete_tag(self, ctx: RequestContext, experiment_id: str, key: str) -> None:
        with self._db.write() as conn:
            experiment = self._require_active(conn, ctx, experiment_id)
            if not exp_store.delete_tag(conn, experiment.experiment_id, key):
                raise not_found(f"No tag with name: {key} in experiment with id {experiment_id}")
            self._journal.experiment_tag_deleted(conn, ctx.workspace.id, experiment.experiment_id, key)

    def _require_active(self, conn: Connection, ctx: RequestContext, experiment_id: str) -> Experiment:
        experiment = self.require(conn, ctx, experiment_id)
        if experiment.lifecycle_stage != ACTIVE:
            raise invalid(
                f"The experiment {experiment.experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}."
            )
        return experiment

    def search_datasets(self, ctx: RequestContext, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """The dataset summaries of up to 20 experiments (`search-datasets`); ids of experiments that
        do not exist in the caller's workspace contribute nothing, as unknown ids do in the reference."""
        if not experiment_ids:
            raise invalid("SearchDatasets request must specify at least one experiment_id.")
        if len(experiment_ids) > limits.SEARCH_DATASETS_MAX_EXPERIMENTS:
            raise invalid(
                f"SearchDatasets request cannot specify more than {limits.SEARCH_DATASETS_MAX_EXPERIMENTS} "
                f"experiment_ids. Received {len(experiment_ids)} experiment_ids."
            )
        ids = [parse_experiment_id(e) for e in experiment_ids]
        with self._db.read() as conn:
            ids = [i for i in ids if ctx.may_read_experiment(i, conn)]
            return dataset_store.search(conn, ctx.workspace.id, ids, limits.SEARCH_DATASETS_MAX_RESULTS)


def _name_taken_on_rename(name: str) -> MlflowError:
    """The reference answers a rename onto a taken name with BAD_REQUEST (its unique constraint
    failing), where creating a duplicate is RESOURCE_ALREADY_EXISTS; both are 400."""
    return MlflowError(f"Experiment(name={name}) already exists.", BAD_REQUEST)


def _canonical(ctx: RequestContext, name: str) -> str:
    """The spelling the workspace's naming convention stores `name` under (or a clear refusal)."""
    workspace = ctx.workspace
    return canonical_experiment_name(name, workspace.name, workspace.naming, workspace.path_roots or DEFAULT_PATH_ROOTS)


def _validate_experiment_tag(key: str, value: str) -> None:
    validate_key(key, "key", "Tag key")
    validate_length("key", key, limits.MAX_EXPERIMENT_TAG_KEY_LENGTH)
    validate_length("value", value, limits.MAX_EXPERIMENT_TAG_VALUE_LENGTH)
