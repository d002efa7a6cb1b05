"""The rules for a workspace's configured artifact root and an experiment's `artifact_location`.

A workspace's root decides which folder its artifact requests read and write, so:

* through the REST API a root must lie inside the server's artifact destination, or inside one of
  the folders the operator allowed (`--allowed-artifact-roots`); only an operator on the command
  line (`runyard workspace create|update --artifact-root`) may name any other folder;
* whoever sets it, a root may not overlap the managed per-workspace folders
  (`<destination>/workspaces/<other>`, or contain them all) nor another workspace's configured root.

Paths are compared after resolving symlinks and `..` (`os.path.realpath`), so a link into another
workspace's folder is seen for what it is.

An experiment's `artifact_location` must stay in its workspace's namespace: an
`mlflow-artifacts:/<relative path>` URI (the form the server itself derives), never an absolute
path, a `file:` or other URI, a bare relative path, or a path with `..`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runyard.artifacts.layout import MANAGED_DIR_NAME
from runyard.artifacts.local import PRIVATE_DIR_NAME
from runyard.artifacts.paths import clean_relative_path
from runyard.domain.errors import MlflowError, invalid

ARTIFACTS_SCHEME = "mlflow-artifacts:"


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(path))


def _overlap(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def normalise_root(root: str | None) -> str | None:
    """A root as given (None/blank: the server's managed folder), or a refusal naming the rule."""
    if root is None or root.strip() == "":
        return None
    root = root.strip()
    if root.startswith("file://"):
        root = root[len("file://") :]
    if "://" in root or root.startswith(("s3:", "gs:", "wasbs:", "hdfs:")):
        raise invalid(f"Unsupported artifact root '{root}': this server stores artifacts in local folders.")
    if not root.startswith("/"):
        raise invalid(f"Artifact root '{root}' must be an absolute path.")
    if "\x00" in root:
        raise invalid("Artifact root must not contain NUL characters.")
    return root


@dataclass(frozen=True)
class RootPolicy:
    """Where workspace roots may lie: the server's artifact destination and the operator's allow-list."""

    destination: Path
    allowed: tuple[Path, ...] = ()

    @classmethod
    def of(cls, destination: str, allowed: Iterable[str] = ()) -> RootPolicy:
        return cls(_real(destination), tuple(_real(a) for a in allowed))

    @property
    def managed(self) -> Path:
        return self.destination / MANAGED_DIR_NAME

    def check(self, name: str, root: str, *, operator: bool, others: Iterable[tuple[str, str | None]] = ()) -> None:
        """Refuse `root` for workspace `name` (400, naming the rule); `others`: (name, configured root)
        of every other workspace."""
        real = _real(root)
        if not operator and not any(real.is_relative_to(a) for a in (self.destination, *self.allowed)):
            raise invalid(
                f"Artifact root '{root}' is not allowed: a root set through the API must lie inside the server's "
                "artifact destination or a folder listed in --allowed-artifact-roots "
                "(an operator can set any folder with `runyard workspace create|update --artifact-root`)."
            )
        self.check_overlap(name, root)
        for other, other_root in others:
            if other != name and other_root and _overlap(real, _real(other_root)):
                raise invalid(
                    f"Artifact root '{root}' is not allowed: it overlaps the artifact root of workspace '{other}' "
                    "(workspaces' roots must not lie inside one another)."
                )

    def check_overlap(self, name: str, root: str) -> None:
        """Refuse a root that contains the managed folders or lies in another workspace's one."""
        real = _real(root)
        managed = self.managed
        if managed.is_relative_to(real) or (real.is_relative_to(managed) and real != managed / name):
            raise invalid(
                f"Artifact root '{root}' is not allowed: it overlaps the folders the server manages for "
                f"other workspaces ({managed}/<workspace>)."
            )


def check_artifact_location(location: str) -> str:
    """An experiment's requested `artifact_location`, if it stays in the workspace's namespace."""
    rule = (
        f"artifact_location '{location[:200]}' is not allowed: it must be an '{ARTIFACTS_SCHEME}/<path>' URI "
        "inside this workspace's artifact root (absolute paths, file: and other URIs, relative paths and "
        "'..' are refused)."
    )
    if not location.startswith(ARTIFACTS_SCHEME):
        raise invalid(rule)
    rest = location[len(ARTIFACTS_SCHEME) :]
    if rest.startswith("//"):
        authority, _, rest = rest[2:].partition("/")
        if authority:
            raise invalid(rule)
        rest = "/" + rest
    if not rest.startswith("/"):
        raise invalid(rule)
    try:
        cleaned = clean_relative_path(rest[1:])
    except MlflowError:
        raise invalid(rule) from None
    if not cleaned or cleaned.split("/", 1)[0].casefold() == PRIVATE_DIR_NAME:
        raise invalid(rule)
    return f"{ARTIFACTS_SCHEME}/{cleaned}"
