"""Proxied artifacts: which backend serves a request's workspace, and the rules around uploads.

The `mlflow-artifacts:/<path>` namespace of the `default` workspace is the artifact root itself;
other workspaces get their own root (their configured one, or a folder below the server's root),
so no path of one workspace can name a file of another.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from runyard.artifacts.base import ArtifactBackend
from runyard.artifacts.local import LocalArtifactBackend
from runyard.domain.workspaces import DEFAULT_WORKSPACE
from runyard.services.context import RequestContext

# The prefix the client must see in an error to fall back from multipart to a plain PUT.
MULTIPART_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"


class ArtifactService:
    def __init__(self, root: str) -> None:
        self._root = root
        self._backends: dict[str, ArtifactBackend] = {}
        self._lock = threading.Lock()
        # Advertised in server-info: clients then split big uploads into parts. A local folder
        # gains nothing from that (parts are re-assembled by copying), so plain streamed PUTs are
        # faster; the multipart endpoints still work for clients that insist.
        self.multipart_enabled = False

    def backend(self, ctx: RequestContext) -> ArtifactBackend:
        workspace = ctx.workspace
        with self._lock:
            backend = self._backends.get(workspace.name)
            if backend is None:
                backend = self._create(workspace.name, workspace.artifact_root)
                self._backends[workspace.name] = backend
            return backend

    def _create(self, name: str, configured_root: str | None) -> ArtifactBackend:
        if configured_root:
            return LocalArtifactBackend(configured_root.removeprefix("file://"))
        if name == DEFAULT_WORKSPACE:
            return LocalArtifactBackend(self._root)
        return LocalArtifactBackend(Path(self._root) / ".workspaces" / name)

    def drop_workspace(self, name: str, configured_root: str | None) -> None:
        """Remove the artifacts of a deleted workspace when they live in the server's managed folder.

        A configured root may be shared with other systems, so it is left alone.
        """
        with self._lock:
            self._backends.pop(name, None)
        if configured_root or name == DEFAULT_WORKSPACE:
            return
        shutil.rmtree(Path(self._root) / ".workspaces" / name, ignore_errors=True)


def artifact_path_of(uri: str) -> str | None:
    """The path below the artifact root that a server-issued `mlflow-artifacts:` URI names.

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
