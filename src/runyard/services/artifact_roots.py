"""The rules for a workspace's configured artifact root and an experiment's `artifact_location`.

A workspace's root decides which folder or S3 prefix its artifact requests read and write, so:

* a root is a local folder (an absolute path or `file:` URI) or `s3://bucket/prefix`; any other
  scheme is refused;
* through the REST API a root must lie inside the server's artifact destination, or inside one of
  the locations the operator allowed (`--allowed-artifact-roots`, folders or `s3://` prefixes); only
  an operator on the command line (`runyard workspace create|update --artifact-root`) may name any
  other location;
* whoever sets it, a root may not overlap the managed per-workspace locations
  (`<destination>/workspaces/<other>`, or contain them all) nor another workspace's configured root.

Folders are compared after resolving symlinks and `..` (`os.path.realpath`), so a link into another
workspace's folder is seen for what it is; S3 prefixes by bucket and then segment by segment
(`s3://b/ab` is not inside `s3://b/a`), see `runyard.artifacts.location`.

An experiment's `artifact_location` must stay in its workspace's namespace: an
`mlflow-artifacts:/<relative path>` URI (the form the server itself derives), never an absolute
path, a `file:` or other URI, a bare relative path, or a path with `..`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runyard.artifacts.layout import MANAGED_DIR_NAME
from runyard.artifacts.location import ArtifactLocation, LocalFolder, LocationError, overlap, parse_location
from runyard.artifacts.paths import clean_relative_path, is_private_name
from runyard.domain.errors import MlflowError, invalid

ARTIFACTS_SCHEME = "mlflow-artifacts:"


def root_location(root: str) -> ArtifactLocation:
    """A stored or given root as a location, symlinks resolved for a folder (for comparisons)."""
    return parse_location(root).resolved()


def normalise_root(root: str | None) -> str | None:
    """A root as it is stored (None/blank: the server's managed location), or a refusal naming the rule."""
    if root is None or root.strip() == "":
        return None
    root = root.strip()
    try:
        location = parse_location(root)
    except LocationError as e:
        raise invalid(f"Unsupported artifact root {e}") from None
    if isinstance(location, LocalFolder) and not location.path.startswith("/"):
        raise invalid(f"Artifact root '{root}' must be an absolute path or an s3://bucket/prefix URI.")
    return location.uri


@dataclass(frozen=True)
class RootPolicy:
    """Where workspace roots may lie: the server's artifact destination and the operator's allow-list."""

    destination: ArtifactLocation
    allowed: tuple[ArtifactLocation, ...] = ()

    @classmethod
    def of(cls, destination: str, allowed: Iterable[str] = ()) -> RootPolicy:
        return cls(root_location(destination), tuple(root_location(a) for a in allowed))

    @property
    def managed(self) -> ArtifactLocation:
        return self.destination.child(MANAGED_DIR_NAME)

    def check(self, name: str, root: str, *, operator: bool, others: Iterable[tuple[str, str | None]] = ()) -> None:
        """Refuse `root` for workspace `name` (400, naming the rule); `others`: (name, configured root)
        of every other workspace."""
        real = root_location(root)
        if not operator and not any(a.contains(real) for a in (self.destination, *self.allowed)):
            raise invalid(
                f"Artifact root '{root}' is not allowed: a root set through the API must lie inside the server's "
                "artifact destination or a location listed in --allowed-artifact-roots "
                "(an operator can set any folder or S3 prefix with `runyard workspace create|update --artifact-root`)."
            )
        self.check_overlap(name, root)
        for other, other_root in others:
            if other != name and other_root and overlap(real, root_location(other_root)):
                raise invalid(
                    f"Artifact root '{root}' is not allowed: it overlaps the artifact root of workspace '{other}' "
                    "(workspaces' roots must not lie inside one another)."
                )

    def check_overlap(self, name: str, root: str) -> None:
        """Refuse a root that contains the managed locations or lies in another workspace's one."""
        real = root_location(root)
        managed = self.managed
        if real.contains(managed) or (managed.contains(real) and real != managed.child(name)):
            raise invalid(
                f"Artifact root '{root}' is not allowed: it overlaps the locations the server manages for "
                f"other workspaces ({managed.uri}/<workspace>)."
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
    if not cleaned or is_private_name(cleaned.split("/", 1)[0]):
        raise invalid(rule)
    return f"{ARTIFACTS_SCHEME}/{cleaned}"
