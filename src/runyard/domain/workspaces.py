"""Workspace rules: valid names (MLflow's), and the experiment naming conventions `flat` and `path`.

`flat` (Azure ML style): plain names such as `iris-classifier`; a name that looks like an absolute
path is refused with a suggestion. `path` (Databricks style): absolute paths under the workspace's
roots (default `/Users/` and `/Shared/`); equivalent spellings are one experiment: a leading
`/Workspace` is dropped, repeated slashes collapse and a trailing slash goes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from runyard.domain.errors import invalid

DEFAULT_WORKSPACE: Final = "default"
NAMING_FLAT: Final = "flat"
NAMING_PATH: Final = "path"
NAMINGS: Final = (NAMING_FLAT, NAMING_PATH)
DEFAULT_PATH_ROOTS: Final = ("/Users/", "/Shared/")

_NAME_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RESERVED: Final = frozenset({"workspaces", "api", "ajax-api", "static-files", "w"})
_SLASHES: Final = re.compile(r"/{2,}")


def validate_workspace_name(name: str) -> str:
    """MLflow's rule: DNS-label style, 2 to 63 characters, not a reserved route name."""
    if not 2 <= len(name) <= 63:
        raise invalid(f"Workspace name '{name}' must be between 2 and 63 characters.")
    if not _NAME_RE.match(name):
        raise invalid(
            f"Workspace name '{name}' must match the pattern {_NAME_RE.pattern} "
            "(lowercase alphanumeric with optional internal hyphens)."
        )
    if name in _RESERVED:
        raise invalid(f"Workspace name '{name}' is reserved and cannot be used.")
    return name


def validate_naming(naming: str) -> str:
    if naming not in NAMINGS:
        raise invalid(f"Invalid naming convention '{naming}': expected one of {', '.join(NAMINGS)}.")
    return naming


def normalise_roots(roots: Sequence[str]) -> tuple[str, ...]:
    """Path roots as `/Name/`: absolute, one trailing slash, no empty or duplicate entries."""
    out: list[str] = []
    for root in roots:
        cleaned = "/" + _SLASHES.sub("/", root.strip()).strip("/") + "/"
        if cleaned == "//":
            raise invalid(f"Invalid path root '{root}': a root must name a folder such as /Shared/.")
        if cleaned not in out:
            out.append(cleaned)
    if not out:
        raise invalid("A workspace with path naming needs at least one root folder.")
    return tuple(out)


def canonical_experiment_name(name: str, workspace: str, naming: str, roots: Sequence[str]) -> str:
    """The one spelling an experiment name is stored and looked up under in this workspace."""
    if naming == NAMING_PATH:
        return _canonical_path(name, workspace, roots)
    if name.startswith("/"):
        last = [part for part in name.split("/") if part]
        suggestion = f" such as '{last[-1]}'" if last else ""
        raise invalid(
            f"Workspace '{workspace}' uses flat experiment names, and '{name}' looks like a path. "
            f"Use a plain name{suggestion}."
        )
    return name


def _canonical_path(name: str, workspace: str, roots: Sequence[str]) -> str:
    expected = " or ".join(f"'{root}<name>'" for root in roots)
    if not name.startswith("/"):
        raise invalid(
            f"Workspace '{workspace}' uses path experiment names: '{name}' is relative. "
            f"Use an absolute path such as {expected}, e.g. '{roots[0]}{name}'."
        )
    path = _SLASHES.sub("/", name)
    if path == "/Workspace" or path.startswith("/Workspace/"):
        path = path[len("/Workspace") :] or "/"
    path = path.rstrip("/") or "/"
    if not any(path.startswith(root) and len(path) > len(root) for root in roots):
        raise invalid(
            f"Experiment path '{name}' is outside the folders of workspace '{workspace}': it must be below {expected}."
        )
    return path
