"""The vocabulary of route access rules: every route names one, and a name outside it is refused
when the route is mounted (so a typo cannot open a route).

- `public`: anyone, signed in or not (probes, server-info, the token endpoint, discovery);
- `authenticated`: any signed-in principal (their own tokens, their own account);
- `admin`: global administrators only;
- `<kind>:<action>`: a signed-in principal whose permission on the resource the request names is at
  least the action's level; the service that finds the resource checks it. `list` filters what a
  search returns; `create` needs membership of the workspace (the creator then gets MANAGE).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from runyard.domain.permissions import EDIT, MANAGE, READ, USE

PUBLIC: Final = "public"
AUTHENTICATED: Final = "authenticated"
ADMIN: Final = "admin"

KINDS: Final = frozenset(
    {"experiment", "run", "artifact", "logged_model", "registered_model", "workspace", "mlflow-ui", "audit"}
)
ACTION_LEVELS: Final[dict[str, int]] = {
    "list": READ,
    "read": READ,
    "create": READ,
    "use": USE,
    "write": EDIT,
    "delete": MANAGE,
    "manage": MANAGE,
}
# Actions that are not about one resource's grants.
ADMIN_ACTIONS: Final = frozenset({"admin"})
SIGNED_IN_ACTIONS: Final = frozenset({"static", "index"})


@dataclass(frozen=True)
class AccessRule:
    text: str
    public: bool
    admin: bool
    # The level the request's resource must allow (READ for rules that only need a signed-in caller).
    level: int


@cache
def parse_rule(text: str) -> AccessRule:
    """The rule a route declares, or ValueError for anything outside the vocabulary."""
    if text == PUBLIC:
        return AccessRule(text, public=True, admin=False, level=READ)
    if text == AUTHENTICATED:
        return AccessRule(text, public=False, admin=False, level=READ)
    if text == ADMIN:
        return AccessRule(text, public=False, admin=True, level=MANAGE)
    kind, sep, action = text.partition(":")
    if not sep or kind not in KINDS:
        raise ValueError(f"unknown access rule {text!r}")
    if action in ADMIN_ACTIONS:
        return AccessRule(text, public=False, admin=True, level=MANAGE)
    if action in SIGNED_IN_ACTIONS:
        return AccessRule(text, public=False, admin=False, level=READ)
    if action not in ACTION_LEVELS:
        raise ValueError(f"unknown access rule {text!r}")
    return AccessRule(text, public=False, admin=False, level=ACTION_LEVELS[action])
