"""The datasets logged to an experiment's runs, one row per (dataset, context): the UI's dataset
filter (`search-datasets`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection, select

from runyard.store import schema

_D = schema.datasets
_I = schema.dataset_inputs
_E = schema.experiments


class DatasetSummary(NamedTuple):
    experiment_id: int
    name: str
    digest: str
    context: str | None


def search(conn: Connection, workspace_id: int, experiment_ids: Sequence[int], limit: int) -> list[DatasetSummary]:
    """Distinct (experiment, name, digest, context) of the datasets used by runs of these experiments
    of the workspace (other ids contribute nothing), ordered by those columns (no context first), at
    most `limit`."""
    if not experiment_ids:
        return []
    query = (
        select(_D.c.experiment_id, _D.c.name, _D.c.digest, _I.c.context)
        .distinct()
        .select_from(_D.join(_I, _I.c.dataset_id == _D.c.id).join(_E, _E.c.experiment_id == _D.c.experiment_id))
        .where(_D.c.experiment_id.in_(list(experiment_ids)), _E.c.workspace_id == workspace_id)
        .order_by(_D.c.experiment_id, _D.c.name, _D.c.digest, _I.c.context.nulls_first())
        .limit(limit)
    )
    return [DatasetSummary(int(e), str(n), str(d), c) for e, n, d, c in conn.execute(query)]
