"""Proxied artifacts: which backend serves a request's workspace, and the rules around uploads.

Every workspace's `mlflow-artifacts:/<path>` namespace is a location of its own: its configured root,
or `<destination>/workspaces/<name>` (see `runyard.artifacts.layout`), a local folder or an S3 key
prefix. No workspace's location lies inside another's, so no path of one workspace can name a file
of another.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from runyard.artifacts.base import ArtifactBackend
from runyard.artifacts.layout import MANAGED_DIR_NAME, ensure_layout, is_current
from runyard.artifacts.local import LocalArtifactBackend
from runyard.artifacts.location import ArtifactLocation, LocalFolder, S3Prefix, parse_location
from runyard.domain.entities import Workspace
from runyard.domain.errors import MlflowError
from runyard.services.artifact_roots import RootPolicy
from runyard.services.context import RequestContext
from runyard.store import workspaces as ws_store
from runyard.store.database import Database

log = logging.getLogger(__name__)

# The prefix the client must see in an error to fall back from multipart to a plain PUT.
MULTIPART_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"
# What `mlflow server` answers (501) for a presigned download from a destination that has none.
PRESIGNED_DOWNLOAD_UNSUPPORTED = "Multipart download is not supported for the current artifact repository"

# Upload temp files and multipart uploads untouched this long are left-overs (a crash, a client that
# never completed nor aborted): a live upload touches its file with every chunk or part. S3 tells only
# when a multipart upload was started (`settings.stale_upload_seconds` changes it).
STALE_UPLOAD_SECONDS = 24 * 3600.0


def prepare_layout(root: str, db: Database) -> None:
    """Move a local artifact destination of the old layout to the current one (see `layout`), leaving
    the folders of workspaces' configured roots where they are. A file read when there is nothing to
    do; nothing at all for an S3 destination (it never had the old layout)."""
    destination = parse_location(root)
    if not isinstance(destination, LocalFolder) or is_current(destination.path):
        return
    with db.read() as conn:
        configured = [w.artifact_root for w in ws_store.list_all(conn) if w.artifact_root]
    ensure_layout(destination.path, keep=[r for r in configured if isinstance(parse_location(r), LocalFolder)])


def prepare_artifacts(database_url: str, root: str) -> None:
    """`prepare_layout` for a server's start-up, before any worker process opens the store."""
    db = Database(database_url, pool=False)
    try:
        prepare_layout(root, db)
    finally:
        db.dispose()


def check_reachable(root: str) -> str | None:
    """None when the artifact destination can be used, else one line saying why not (an S3 bucket
    that is missing, refused or unreachable with the server's AWS settings)."""
    destination = parse_location(root)
    if not isinstance(destination, S3Prefix):
        return None
    from runyard.artifacts.s3_client import check_bucket, shared_client

    reason = check_bucket(shared_client(), destination.bucket)
    return None if reason is None else f"artifact destination {destination.uri}: {reason}"


def open_backend(location: ArtifactLocation) -> ArtifactBackend:
    """The backend storing artifacts at `location`."""
    if isinstance(location, S3Prefix):
        from runyard.artifacts.s3 import S3ArtifactBackend
        from runyard.artifacts.s3_client import shared_client

        return S3ArtifactBackend(location.bucket, location.prefix, shared_client())
    return LocalArtifactBackend(location.path)


class ArtifactService:
    def __init__(
        self, root: str, allowed_roots: Iterable[str] = (), stale_upload_seconds: float = STALE_UPLOAD_SECONDS
    ) -> None:
        """A local destination must be in the current layout (see `prepare_layout`)."""
        self._destination = parse_location(root)
        self._stale_upload_seconds = stale_upload_seconds
        self.policy = RootPolicy.of(root, allowed_roots)
        # By workspace id (never reused) and root: a workspace deleted and created again elsewhere,
        # or whose root changed, gets a fresh backend.
        self._backends: dict[tuple[int, ArtifactLocation], ArtifactBackend] = {}
        self._lock = threading.Lock()
        # Advertised in server-info: clients then split big uploads into parts. A local folder
        # gains nothing from that (parts are re-assembled by copying), so plain streamed PUTs are
        # faster; the multipart endpoints still work for clients that insist. On S3 the parts are
        # S3's own multipart upload, which any server process can continue.
        self.multipart_enabled = isinstance(self._destination, S3Prefix)

    @property
    def destination(self) -> ArtifactLocation:
        return self._destination

    def backend(self, ctx: RequestContext) -> ArtifactBackend:
        return self.backend_of(ctx.workspace)

    def backend_of(self, workspace: Workspace) -> ArtifactBackend:
        location = self.location_of(workspace.name, workspace.artifact_root)
        key = (workspace.id, location)
        with self._lock:
            backend = self._backends.get(key)
            if backend is None:
                if workspace.artifact_root:
                    # A root stored before the overlap rules existed must not reach other workspaces.
                    self.policy.check_overlap(workspace.name, workspace.artifact_root)
                backend = open_backend(location)
                self._backends[key] = backend
            return backend

    def location_of(self, name: str, configured_root: str | None) -> ArtifactLocation:
        """Where workspace `name` keeps its artifacts: its configured root, else its managed location."""
        if configured_root:
            return parse_location(configured_root)
        return self._destination.child(MANAGED_DIR_NAME, name)

    def clear_leftovers(self, name: str) -> None:
        """A workspace named `name` is being created with the managed folder: remove whatever a deleted
        workspace of that name left there (a deletion whose process stopped before removing its
        folder, an upload that finished after it), so the new workspace starts empty."""
        self._remove_managed(name)

    def _remove_managed(self, name: str) -> None:
        """Empty the managed location of workspace `name` (a folder or an S3 prefix), if anything is there."""
        location = self.location_of(name, None)
        if isinstance(location, LocalFolder) and not Path(location.path).exists():
            return
        try:
            open_backend(location).remove_all()
        except MlflowError as e:
            log.warning("could not remove the managed artifacts of workspace '%s': %s", name, e.message)

    def drop_workspace(self, workspace: Workspace) -> None:
        """Remove the artifacts of a deleted workspace when they live in the server's managed location.

        A configured root may be shared with other systems, so it is left alone.
        """
        with self._lock:
            for key in [k for k in self._backends if k[0] == workspace.id]:
                del self._backends[key]
        if workspace.artifact_root:
            return
        self._remove_managed(workspace.name)

    def purge_stale_uploads(self, workspaces: Iterable[Workspace], max_age_seconds: float | None = None) -> int:
        """Remove left-over upload temp files and multipart uploads older than `max_age_seconds` (default:
        the service's) in every workspace's location; returns how many. Never touches a younger upload."""
        if max_age_seconds is None:
            max_age_seconds = self._stale_upload_seconds
        removed = 0
        for workspace in workspaces:
            location = self.location_of(workspace.name, workspace.artifact_root)
            if isinstance(location, LocalFolder) and not Path(location.path).is_dir():
                continue
            try:
                removed += self.backend_of(workspace).purge_stale(max_age_seconds)
            except MlflowError as e:  # a stored root the overlap rules refuse: not served, not purged
                log.warning("not purging uploads of workspace '%s': %s", workspace.name, e.message)
            except Exception:
                log.exception("purging stale uploads of workspace '%s' failed", workspace.name)
        if removed:
            log.info("removed %d stale upload file(s)", removed)
        return removed


def artifact_path_of(uri: str) -> str | None:
    """The path below the workspace's artifact root that a server-issued `mlflow-artifacts:` URI names.

    `mlflow-artifacts:/1/abc/artifacts` and `mlflow-artifacts://host:port/1/abc/artifacts` both give
    `1/abc/artifacts`; any other scheme (an artifact location the client writes to directly) is None.
    """
    prefix = "mlflow-artifacts:"
    if not uri.startswith(prefix):
        return None
    rest = uri[len(prefix) :]
    if rest.startswith("//"):
        rest = "/" + rest[2:].partition("/")[2]
    return rest.strip("/")
