"""Permissions as MLflow names them, and the one rule that turns grants into what a caller may do.

Levels: `NO_PERMISSIONS` < `READ` < `USE` < `EDIT` < `MANAGE`; `DENY` is a veto, not a level. READ
sees, USE also uses (MLflow's gateway/scorer sense; on experiments and models it reads), EDIT logs
and changes, MANAGE also deletes and changes grants.

The rule (`effective_level`), for one principal and one resource: the grants that match the resource
(its own grant, a wildcard or workspace-wide grant, a grant on a folder above it, the permissions of
the principal's roles) are combined so that any DENY among them yields nothing, otherwise the highest
level wins; when none matches, the workspace's default permission applies. An explicit
`NO_PERMISSIONS` grant therefore takes the default away from that principal for that resource.
The store evaluates the same rule in SQL for lists (`store.identity.access_sql`); a property test
holds the two to one answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from runyard.domain.errors import invalid

# Stored levels (integers, so SQL can compare and take the maximum). DENY sorts below everything.
DENY: Final = -1
NO_PERMISSIONS: Final = 0
READ: Final = 1
USE: Final = 2
EDIT: Final = 3
MANAGE: Final = 4

LEVELS: Final[dict[str, int]] = {
    "NO_PERMISSIONS": NO_PERMISSIONS,
    "READ": READ,
    "USE": USE,
    "EDIT": EDIT,
    "MANAGE": MANAGE,
    "DENY": DENY,
}
NAMES: Final[dict[int, str]] = {level: name for name, level in LEVELS.items()}

# What a grant can name. `workspace` grants apply to everything in the workspace (pattern `*`);
# `folder` grants to experiments (and registered models) whose name starts with the folder path.
EXPERIMENT: Final = "experiment"
REGISTERED_MODEL: Final = "registered_model"
WORKSPACE: Final = "workspace"
FOLDER: Final = "folder"
# MLflow's role API also names the children of experiments and models; they are accepted as
# wildcard-only grants and inherit as their parents do (see `grant_target`).
RUN: Final = "run"
LOGGED_MODEL: Final = "logged_model"
MODEL_VERSION: Final = "registered_model_version"
RESOURCE_TYPES: Final = (EXPERIMENT, REGISTERED_MODEL, WORKSPACE, FOLDER, RUN, LOGGED_MODEL, MODEL_VERSION)
WILDCARD_ONLY: Final = frozenset({WORKSPACE, RUN, LOGGED_MODEL, MODEL_VERSION})
WILDCARD: Final = "*"


def parse_permission(name: str, field: str = "permission") -> int:
    """The stored level of a permission name, or INVALID_PARAMETER_VALUE naming the valid ones."""
    level = LEVELS.get(name.upper()) if isinstance(name, str) else None
    if level is None:
        raise invalid(f"Invalid {field} '{name}'. Valid permissions are: {', '.join(LEVELS)}")
    return level


def permission_name(level: int) -> str:
    return NAMES[level]


def grant_target(resource_type: str, pattern: str) -> tuple[str, str]:
    """A grant's (resource type, pattern), checked: known type, wildcard where only that is allowed,
    folders as `/path/` with one trailing slash. Children types map onto their parent's type."""
    if resource_type not in RESOURCE_TYPES:
        raise invalid(f"Invalid resource_type '{resource_type}'. Valid types are: {', '.join(RESOURCE_TYPES)}")
    if not isinstance(pattern, str) or not pattern:
        raise invalid("A grant must name its resource (an id, a name, a folder or '*').")
    if resource_type in WILDCARD_ONLY and pattern != WILDCARD:
        raise invalid(f"Permissions on '{resource_type}' can only use the wildcard pattern '*'.")
    if resource_type == FOLDER:
        if not pattern.startswith("/") or "\x00" in pattern:
            raise invalid(f"Invalid folder '{pattern}': expected an absolute path such as /Shared/team/.")
        pattern = pattern.rstrip("/") + "/"
    if resource_type in (RUN, LOGGED_MODEL):
        return EXPERIMENT, WILDCARD
    if resource_type == MODEL_VERSION:
        return REGISTERED_MODEL, WILDCARD
    return resource_type, pattern


@dataclass(frozen=True)
class Grant:
    """One permission row that may apply: a grant to the principal or a permission of one of its roles."""

    resource_type: str
    pattern: str
    level: int


def matches(grant: Grant, kind: str, resource_id: str, name: str) -> bool:
    """Whether `grant` applies to the resource of `kind` (`experiment` or `registered_model`) with
    id `resource_id` (experiments: the id; models: the name) and `name` (for folder grants)."""
    if grant.resource_type == WORKSPACE:
        return True
    if grant.resource_type == FOLDER:
        return name.startswith(grant.pattern)
    return grant.resource_type == kind and grant.pattern in (WILDCARD, resource_id)


def combine(levels: Iterable[int], default: int) -> int:
    """The rule: a DENY vetoes, otherwise the highest level; `default` when no grant matched."""
    best: int | None = None
    for level in levels:
        if level == DENY:
            return NO_PERMISSIONS
        if best is None or level > best:
            best = level
    return default if best is None else best


def effective_level(
    grants: Iterable[Grant], kind: str, resource_id: str, name: str, *, default: int, owner_prefix: str | None
) -> int:
    """What a member of the workspace may do with one resource (`owner_prefix`: the `/Users/<name>/`
    folder the principal owns in a `path` workspace, MANAGE on everything below it)."""
    if owner_prefix is not None and name.startswith(owner_prefix):
        return MANAGE
    return combine((g.level for g in grants if matches(g, kind, resource_id, name)), default)


def user_folder(username: str) -> str:
    """The folder every user owns in a `path` workspace."""
    return f"/Users/{username}/"
