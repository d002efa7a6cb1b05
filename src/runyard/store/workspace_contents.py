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


def delete_all(conn: Connection, workspace_id: int) -> None:
    """Delete every row the workspace owns, children first (artifact bytes are the caller's job)."""
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
