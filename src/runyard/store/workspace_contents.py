"""What a workspace holds: counts for a RESTRICT delete, and the cascade that removes all of it.

Every table that belongs (directly or through an experiment, run or model) to a workspace is
listed here, children before parents, so a CASCADE delete leaves no orphan rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select

from runyard.store import mirror as mirror_store
from runyard.store import schema

_E = schema.experiments


def _experiment_ids(workspace_id: int) -> Any:
    return select(_E.c.experiment_id).where(_E.c.workspace_id == workspace_id)


def count_experiments(conn: Connection, workspace_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(_E).where(_E.c.workspace_id == workspace_id)).scalar_one())


def summary(conn: Connection, workspace_id: int) -> dict[str, int]:
    """Non-zero counts of the top-level things the workspace holds, by name."""
    rm = schema.registered_models
    counts = {
        "experiments": count_experiments(conn, workspace_id),
        "registered models": int(
            conn.execute(select(func.count()).select_from(rm).where(rm.c.workspace_id == workspace_id)).scalar_one()
        ),
        "mirror links": len(mirror_store.links_of(conn, workspace_id)),
    }
    return {k: v for k, v in counts.items() if v}


def lock(conn: Connection, workspace_id: int) -> None:
    """PostgreSQL: lock the workspace row and every parent row it owns (experiments, runs, logged and
    registered models) for the deletion, parents first.

    A concurrent write into the workspace holds a `FOR KEY SHARE` lock on the parent it names (the
    foreign key check of its insert takes one; `context.require_workspace` takes one on the
    workspace): it either got there first, and the deletion waits for its commit and then deletes
    what it wrote too (each statement of a READ COMMITTED transaction sees what committed before
    it), or it waits for the deletion and then finds its parent gone (a 404, never an orphan row nor
    a deletion that fails on a foreign key). SQLite serialises writers: nothing to do."""
    if conn.dialect.name != "postgresql":
        return
    experiment_ids = _experiment_ids(workspace_id)
    w, r, lm, rm = schema.workspaces, schema.runs, schema.logged_models, schema.registered_models
    for stmt in (
        select(w.c.id).where(w.c.id == workspace_id),
        select(_E.c.experiment_id).where(_E.c.workspace_id == workspace_id),
        select(r.c.id).where(r.c.experiment_id.in_(experiment_ids)),
        select(lm.c.id).where(lm.c.experiment_id.in_(experiment_ids)),
        select(rm.c.id).where(rm.c.workspace_id == workspace_id),
    ):
        conn.execute(stmt.with_for_update())


def delete_all(conn: Connection, workspace_id: int) -> None:
    """Delete every row the workspace owns, children first (artifact bytes are the caller's job).

    Call `lock` first, before counting what it holds."""
    mirror_store.delete_links_of(conn, workspace_id)
    experiment_ids = _experiment_ids(workspace_id)
    run_pks = select(schema.runs.c.id).where(schema.runs.c.experiment_id.in_(experiment_ids))
    for table in (
        schema.metrics,
        schema.metric_inbox,
        schema.latest_metrics,
        schema.metric_rollups,
        schema.params,
        schema.run_tags,
        schema.dataset_inputs,
        schema.run_models,
    ):
        conn.execute(delete(table).where(table.c.run_id.in_(run_pks)))

    lm = schema.logged_models
    model_pks = select(lm.c.id).where(lm.c.experiment_id.in_(experiment_ids))
    for table in (schema.logged_model_tags, schema.logged_model_params, schema.logged_model_metrics):
        conn.execute(delete(table).where(table.c.model_pk.in_(model_pks)))
    conn.execute(delete(lm).where(lm.c.experiment_id.in_(experiment_ids)))

    _delete_registry(conn, workspace_id)

    conn.execute(delete(schema.datasets).where(schema.datasets.c.experiment_id.in_(experiment_ids)))
    conn.execute(delete(schema.runs).where(schema.runs.c.experiment_id.in_(experiment_ids)))
    conn.execute(delete(schema.experiment_tags).where(schema.experiment_tags.c.experiment_id.in_(experiment_ids)))
    conn.execute(delete(_E).where(_E.c.workspace_id == workspace_id))


def _delete_registry(conn: Connection, workspace_id: int) -> None:
    """The model registry's rows of the workspace: versions, tags and aliases, then the models."""
    rm = schema.registered_models
    model_pks = select(rm.c.id).where(rm.c.workspace_id == workspace_id)
    for table in (
        schema.model_version_tags,
        schema.registered_model_aliases,
        schema.registered_model_tags,
        schema.model_versions,
    ):
        conn.execute(delete(table).where(table.c.model_pk.in_(model_pks)))
    conn.execute(delete(rm).where(rm.c.workspace_id == workspace_id))
