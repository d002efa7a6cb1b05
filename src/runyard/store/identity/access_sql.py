"""The permission rule (`runyard.domain.permissions.effective_level`) as one SQL expression, so lists
and searches contain only what the caller may read: pages stay full and page tokens and counts leak
nothing. Correlated with the listed table's id and name columns; the grants it reads are found by
index (`grants` by principal and workspace, `role_members` by principal)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, or_, select

from runyard.domain.permissions import FOLDER, MANAGE, NO_PERMISSIONS, WILDCARD, WORKSPACE
from runyard.store.identity.grants import applicable


def level_expression(
    *,
    principal_id: int,
    workspace_id: int,
    kind: str,
    id_column: Any,
    name_column: Any,
    default: int,
    owner_prefix: str | None,
) -> Any:
    """A scalar SQL expression: the principal's effective level on the row whose id and name are
    `id_column` / `name_column` (`kind`: `experiment` or `registered_model`)."""
    rows = applicable(principal_id, workspace_id)
    matching = or_(
        rows.c.resource_type == WORKSPACE,
        and_(rows.c.resource_type == kind, rows.c.resource_pattern.in_([WILDCARD, cast(id_column, String)])),
        and_(
            rows.c.resource_type == FOLDER,
            func.substr(name_column, 1, func.length(rows.c.resource_pattern)) == rows.c.resource_pattern,
        ),
    )
    combined = (
        select(
            case(
                (func.min(rows.c.level) < 0, literal(NO_PERMISSIONS)),
                (func.count() == 0, literal(default)),
                else_=func.max(rows.c.level),
            )
        )
        .where(matching)
        .scalar_subquery()
    )
    if owner_prefix is None:
        return combined
    owned = func.substr(name_column, 1, len(owner_prefix)) == owner_prefix
    return case((owned, literal(MANAGE)), else_=combined)


def at_least(level: int, **kwargs: Any) -> Any:
    """A WHERE condition: the principal may do `level` with the row (see `level_expression`)."""
    return level_expression(**kwargs) >= level
