"""Run search: filter + order_by + pagination over the experiments of the caller's workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from runyard.domain import limits
from runyard.domain.entities import VIEW_TYPES, Page, Run
from runyard.domain.search_filter import RUN_GRAMMAR, parse_filter, parse_order_by
from runyard.domain.validation import check_max_results, parse_experiment_id
from runyard.services.context import RequestContext, require_workspace
from runyard.store import runs as run_store
from runyard.store import schema
from runyard.store import search as search_sql
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry


class RunSearchService:
    def __init__(self, db: Database, keys: KeyRegistry) -> None:
        self._db = db
        self._keys = keys

    def search(
        self,
        ctx: RequestContext,
        *,
        experiment_ids: Sequence[str],
        filter_string: str | None,
        run_view_type: str,
        max_results: int | None,
        order_by: Sequence[str],
        page_token: str | None,
    ) -> Page[Run]:
        limit = check_max_results(
            limits.SEARCH_RUNS_DEFAULT_MAX_RESULTS if max_results is None else max_results,
            limits.SEARCH_RUNS_MAX_RESULTS,
        )
        exp_ids = [parse_experiment_id(e) for e in experiment_ids]
        clauses = parse_filter(filter_string, RUN_GRAMMAR)
        order = parse_order_by(order_by, RUN_GRAMMAR)
        offset = search_sql.decode_page_token(page_token)
        if ctx.access is not None:
            # As MLflow's auth app (`filter_experiment_ids`): experiments the caller may not read are
            # dropped from the request, so no row, page or token of theirs is returned.
            exp_ids = [i for i in exp_ids if ctx.may_read_experiment(i)]
        if not exp_ids:
            return Page([], None)

        r, e = schema.runs, schema.experiments
        stmt: Any = (
            select(*run_store.RUN_COLUMNS)
            .select_from(r.join(e, e.c.experiment_id == r.c.experiment_id))
            .where(
                r.c.experiment_id.in_(exp_ids),
                e.c.workspace_id == ctx.workspace.id,
                r.c.lifecycle_stage.in_(VIEW_TYPES[run_view_type]),
                *search_sql.run_filter(clauses, self._keys.existing_id),
            )
        )
        stmt, ordering = search_sql.run_ordering(stmt, order, self._keys.existing_id)
        stmt = stmt.order_by(*ordering).offset(offset).limit(limit + 1)
        with self._db.read() as conn:
            require_workspace(conn, ctx)
            rows = [run_store.row_to_run_row(row) for row in conn.execute(stmt)]
            token = search_sql.encode_page_token(offset + limit) if len(rows) > limit else None
            return Page(run_store.load_runs(conn, rows[:limit]), token)
