"""Dual tracking rules with no I/O: link names and states, target credentials, the experiment name
mapping between naming conventions, and the back-pointer tags a mirrored object carries.

Experiment names on the target follow the target workspace's convention:
- flat → flat and path → path keep the name;
- path → flat takes the last segment (`/Users/alice/churn` → `churn`);
- flat → path goes under `/Shared/<source workspace>/` (`churn` → `/Shared/research/churn`).

Collisions (the mapped name already belongs to a target experiment that is not this source
experiment's mirror, e.g. two source folders holding an experiment of the same name mirrored into
a flat workspace) are resolved by one deterministic rule: the mirror takes the mapped name with
` (<source workspace> <source experiment id>)` appended. The same source experiment always maps to
the same name, whichever experiment was mirrored first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from runyard.domain.errors import invalid
from runyard.domain.workspaces import NAMING_FLAT, NAMING_PATH

SOURCE_RUN_TAG: Final = "runyard.source.run_id"
SOURCE_URL_TAG: Final = "runyard.source.url"
SOURCE_EXPERIMENT_TAG: Final = "runyard.source.experiment_id"
SOURCE_MODEL_TAG: Final = "runyard.source.model_id"
# Registry bookkeeping the target keeps itself: never copied.
UNMIRRORED_RUN_TAGS: Final = frozenset({"mlflow.modelVersions"})

ACTIVE: Final = "active"
PAUSED: Final = "paused"
FAILING: Final = "failing"
LinkState = Literal["active", "paused", "failing"]

AuthKind = Literal["none", "token", "basic", "client_credentials"]
AUTH_KINDS: Final[tuple[AuthKind, ...]] = ("none", "token", "basic", "client_credentials")

_LINK_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
MAX_URL_LENGTH: Final = 2000


@dataclass(frozen=True)
class TargetCredentials:
    """How the replicator signs in to a target. Secrets live only here and, encrypted, in the store;
    `repr` never shows them."""

    kind: AuthKind = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    client_id: str = ""
    client_secret: str = ""

    def __repr__(self) -> str:
        return f"TargetCredentials(kind={self.kind!r})"

    def validate(self) -> TargetCredentials:
        needed: dict[str, tuple[str, ...]] = {
            "none": (),
            "token": ("token",),
            "basic": ("username", "password"),
            "client_credentials": ("client_id", "client_secret"),
        }
        if self.kind not in needed:
            raise invalid(f"Unknown credential kind '{self.kind}': expected one of {', '.join(AUTH_KINDS)}.")
        missing = [name for name in needed[self.kind] if not getattr(self, name)]
        if missing:
            raise invalid(f"Credentials of kind '{self.kind}' need {' and '.join(missing)} (empty here).")
        return self


def validate_link_name(name: str) -> str:
    if not _LINK_NAME_RE.match(name):
        raise invalid(
            f"Invalid link name '{name[:80]}': 1 to 63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return name


def validate_target_url(url: str) -> str:
    """An http(s) URL without credentials, query or fragment; returned without a trailing slash."""
    cleaned = url.strip().rstrip("/")
    if len(cleaned) > MAX_URL_LENGTH:
        raise invalid(f"The target URL is longer than {MAX_URL_LENGTH} characters.")
    match = re.match(r"^(https?)://([^/?#@\s]+)(/[^?#\s]*)?$", cleaned)
    if match is None:
        raise invalid(
            f"Invalid target URL '{cleaned[:200]}': expected http(s)://host[:port][/path], "
            "without user info, query or fragment (credentials are given separately)."
        )
    return cleaned


def default_link_name(url: str, target_workspace: str | None) -> str:
    """`<host>-<port>[-<workspace>]`, made a valid link name."""
    host = re.sub(r"^https?://", "", url).split("/")[0]
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", host).strip("-._") or "target"
    name = f"{base}-{target_workspace}" if target_workspace else base
    return name[:63].rstrip("-._") or "target"


def mapped_experiment_name(name: str, source_naming: str, target_naming: str, source_workspace: str) -> str:
    """The target name of a source experiment (see the module docstring)."""
    if source_naming == target_naming:
        return name
    if source_naming == NAMING_PATH and target_naming == NAMING_FLAT:
        last = name.rstrip("/").rsplit("/", 1)[-1]
        return last or name
    return f"/Shared/{source_workspace}/{name}"


def collision_name(mapped: str, source_workspace: str, source_experiment_id: str) -> str:
    """The deterministic fallback when `mapped` is taken on the target by another experiment."""
    return f"{mapped} ({source_workspace} {source_experiment_id})"


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 30.0, jitter: float = 0.0) -> float:
    """Exponential backoff: base·2^(attempt-1), capped at `cap`, with `jitter` (0..1, drawn by the
    caller) shaving up to half of the wait so that many replicators do not retry in step."""
    wait = min(cap, base * 2.0 ** max(0, attempt - 1))
    return wait * (1 - 0.5 * max(0.0, min(1.0, jitter)))
