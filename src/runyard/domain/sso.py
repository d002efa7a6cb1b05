"""Single sign-on rules that need no I/O: which local name an upstream user gets, whether the admin
claim makes them an administrator, which roles the role claim names, and how the memberships single
sign-on keeps in step change at a sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

DEFAULT_WORKSPACE = "default"
# Claims tried, in order, for a first sign-in's local user name.
NAME_CLAIMS = ("preferred_username", "email", "sub")


def parse_admin_claim(text: str) -> tuple[str, str]:
    """`CLAIM=VALUE` as (claim, value); ValueError when either part is missing."""
    claim, sep, value = text.partition("=")
    claim = claim.strip()
    if not sep or not claim or not value.strip():
        raise ValueError(f"{text!r}: expected CLAIM=VALUE, e.g. groups=runyard-admins")
    return claim, value.strip()


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def claim_matches(claims: Mapping[str, object], claim: str, expected: str) -> bool:
    """Whether the claim equals `expected`, or is a list holding it (booleans compare as `true`/`false`)."""
    value = claims.get(claim)
    if value is None:
        return False
    if isinstance(value, list | tuple):
        return any(item is not None and _as_text(item) == expected for item in value)
    return _as_text(value) == expected


@dataclass(frozen=True, order=True)
class RoleName:
    workspace: str
    role: str

    def __str__(self) -> str:
        return f"{self.workspace}/{self.role}"


def role_names(value: object) -> list[RoleName]:
    """The roles a role claim names: a list, or a space-separated string, of `<workspace>/<role>`
    (or `<role>` for the `default` workspace). Anything else (numbers, empty parts) is skipped."""
    if isinstance(value, str):
        items: Iterable[object] = value.split()
    elif isinstance(value, list | tuple):
        items = value
    else:
        return []
    names: set[RoleName] = set()
    for item in items:
        if not isinstance(item, str) or not item.strip():
            continue
        text = item.strip()
        workspace, sep, role = text.partition("/")
        if not sep:
            workspace, role = DEFAULT_WORKSPACE, text
        if workspace and role:
            names.add(RoleName(workspace, role))
    return sorted(names)


def local_name(claims: Mapping[str, object], valid: Callable[[str], bool]) -> str | None:
    """The user name a first sign-in creates: `preferred_username`, else `email`, else `sub` (the
    first one that is a string `valid` accepts); None when none is."""
    for claim in NAME_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value and valid(value):
            return value
    return None


@dataclass(frozen=True)
class RoleSync:
    """What one sign-in changes. `assign`: become a member (and remember the membership as
    single sign-on's); `unassign`: memberships single sign-on made that the claim no longer names;
    `forget`: single sign-on's records to drop (those unassigned, and those whose membership an
    administrator already removed)."""

    assign: frozenset[int]
    unassign: frozenset[int]
    forget: frozenset[int]


def plan_role_sync(named: Iterable[int], synced: Iterable[int], members: Iterable[int]) -> RoleSync:
    """`named`: roles (ids) the claim names that exist locally; `synced`: memberships single sign-on
    made earlier; `members`: every membership the user has now. A membership an administrator made
    (a member, not synced) is never touched — not even recorded as single sign-on's when named."""
    named_set, synced_set, member_set = set(named), set(synced), set(members)
    assign = named_set - member_set
    stale = synced_set - named_set
    # A synced record whose membership an administrator already removed is re-made while still
    # named (it is in `assign`), else simply dropped with the others no longer named.
    return RoleSync(frozenset(assign), frozenset(stale & member_set), frozenset(stale))
