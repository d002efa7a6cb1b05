"""Proxied artifacts: which backend serves a request's workspace, and the rules around uploads.

Every workspace's `mlflow-artifacts:/<path>` namespace is a folder of its own: its configured root,
or `<destination>/workspaces/<name>` (see `runyard.artifacts.layout`). No workspace's folder lies
inside another's, so no path of one workspace can name a file of another.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

from runyard.artifacts.base import ArtifactBackend
from runyard.artifacts.layout import ensure_layout, is_current, workspace_folder
from runyard.artifacts.local import LocalArtifactBackend
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
# never completed nor aborted): a live upload touches its file with every chunk or part.
STALE_UPLOAD_SECONDS = 24 * 3600.0


def prepare_layout(root: str, db: Database) -> None:
    """Move an artifact destination of the old layout to the current one (see `layout`), leaving the
    folders of workspaces' configured roots where they are. A file read when there is nothing to do."""
    if is_current(root):
        return
    with db.read() as conn:
        configured = [w.artifact_root for w in ws_store.list_all(conn) if w.artifact_root]
    ensure_layout(root, keep=configured)


def prepare_artifacts(database_url: str, root: str) -> None:
    """`prepare_layout` for a server's start-up, before any worker process opens the store."""
    db = Database(database_url, pool=False)
    try:
        prepare_layout(root, db)
    finally:
        db.dispose()


class ArtifactService:
    def __init__(self, root: str, allowed_roots: Iterable[str] = ()) -> None:
        """The destination must be in the current layout (see `prepare_layout`)."""
        self._root = root
        self.policy = RootPolicy.of(root, allowed_roots)
        # By workspace id (never reused) and root: a workspace deleted and created again elsewhere,
        # or whose root changed, gets a fresh backend.
        self._backends: dict[tuple[int, str], ArtifactBackend] = {}
        self._lock = threading.Lock()
        # Advertised in server-info: clients then split big uploads into parts. A local folder
        # gains nothing from that (parts are re-assembled by copying), so plain streamed PUTs are
        # faster; the multipart endpoints still work for clients that insist.
        self.multipart_enabled = False

    def backend(self, ctx: RequestContext) -> ArtifactBackend:
        return self.backend_of(ctx.workspace)

    def backend_of(self, workspace: Workspace) -> ArtifactBackend:
        folder = self.folder_of(workspace.name, workspace.artifact_root)
        key = (workspace.id, folder)
        with self._lock:
            backend = self._backends.get(key)
            if backend is None:
                if workspace.artifact_root:
                    # A root stored before the overlap rules existed must not reach other workspaces.
                    self.policy.check_overlap(workspace.name, folder)
                backend = LocalArtifactBackend(folder)
                self._backends[key] = backend
            return backend

    def folder_of(self, name: str, configured_root: str | None) -> str:
        if configured_root:
            return configured_root.removeprefix("file://")
        return str(workspace_folder(self._root, name))

    def clear_leftovers(self, name: str) -> None:
        """A workspace named `name` is being created with the managed folder: remove whatever a deleted
        workspace of that name left there (a deletion whose process stopped before removing its
        folder, an upload that finished after it), so the new workspace starts empty."""
        shutil.rmtree(workspace_folder(self._root, name), ignore_errors=True)

    def drop_workspace(self, workspace: Workspace) -> None:
        """Remove the artifacts of a deleted workspace when they live in the server's managed folder.

        A configured root may be shared with other systems, so it is left alone.
        """
        with self._lock:
            for key in [k for k in self._backends if k[0] == workspace.id]:
                del self._backends[key]
        if workspace.artifact_root:
            return
        shutil.rmtree(workspace_folder(self._root, workspace.name), ignore_errors=True)

    def purge_stale_uploads(
        self, workspaces: Iterable[Workspace], max_age_seconds: float = STALE_UPLOAD_SECONDS
    ) -> int:
        """Remove left-over upload temp files and multipart uploads older than `max_age_seconds` in
        every workspace's folder; returns how many. Never touches an upload younger than that."""
        removed = 0
        for workspace in workspaces:
            folder = Path(self.folder_of(workspace.name, workspace.artifact_root))
            if not folder.is_dir():
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
