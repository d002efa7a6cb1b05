"""The artifacts of one run, logged model or model version: where they live in the workspace's
artifact folder, reading, listing and the UI's small uploads.

The UI's endpoints (`/get-artifact`, `/model-versions/get-artifact`, `artifacts/list`, the logged
models' `artifacts/files` and `artifacts/directories`, `upload-artifact`) name an owner and a path
relative to its artifact root. The owner is looked up in the caller's workspace (another
workspace's id answers RESOURCE_DOES_NOT_EXIST), the path is checked by
`artifacts.paths.clean_relative_path` (`..`, absolute paths and the CVE forms are refused), and the
bytes are read through the workspace's own backend, so no path can leave the owner's folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Final

import anyio.to_thread

from runyard.artifacts.base import ArtifactBackend, ArtifactReader, FileInfo
from runyard.artifacts.paths import clean_relative_path
from runyard.domain.errors import invalid, not_found
from runyard.services.artifacts import ArtifactService, artifact_path_of
from runyard.services.context import RequestContext
from runyard.services.logged_models import LoggedModelService
from runyard.services.model_versions import ModelVersionService
from runyard.services.runs import RunService

# The reference server's cap on `upload-artifact` bodies (the UI uploads small files only).
MAX_UI_UPLOAD_BYTES: Final = 10 * 1024 * 1024
UPLOAD_TOO_LARGE: Final = "Artifact size is too large. Max size is 10MB."


@dataclass(frozen=True)
class ArtifactRoot:
    """An owner's artifact root: the URI clients see and, when this server stores the bytes, the
    backend and the folder below the backend's root (None: stored elsewhere, nothing to serve)."""

    uri: str
    backend: ArtifactBackend
    folder: str | None

    def locate(self, path: str) -> str:
        """The backend path of `path` (relative to this root, already cleaned)."""
        if self.folder is None:
            raise not_found(f"The artifacts at '{self.uri}' are not stored by this server")
        return posixpath.join(self.folder, path) if path else self.folder


class ArtifactAccessService:
    def __init__(
        self,
        artifacts: ArtifactService,
        runs: RunService,
        logged_models: LoggedModelService,
        model_versions: ModelVersionService,
    ) -> None:
        self._artifacts = artifacts
        self._runs = runs
        self._logged_models = logged_models
        self._model_versions = model_versions

    # --- roots ------------------------------------------------------------------------------

    def _root(self, ctx: RequestContext, uri: str) -> ArtifactRoot:
        return ArtifactRoot(uri, self._artifacts.backend(ctx), artifact_path_of(uri))

    def run_root(self, ctx: RequestContext, run_id: str | None) -> ArtifactRoot:
        return self._root(ctx, self._runs.artifact_uri(ctx, run_id or ""))

    def logged_model_root(self, ctx: RequestContext, model_id: str) -> ArtifactRoot:
        return self._root(ctx, self._logged_models.artifact_uri(ctx, model_id))

    def model_version_root(self, ctx: RequestContext, name: str | None, version: str | None) -> ArtifactRoot:
        return self._root(ctx, self._model_versions.download_uri(ctx, name, version))

    # --- reads ------------------------------------------------------------------------------

    @staticmethod
    async def open(root: ArtifactRoot, path: str) -> ArtifactReader:
        """Open the file at `path` below `root` (the backend refuses directories and missing files)."""
        return await root.backend.read(root.locate(clean_relative_path(path)))

    @staticmethod
    def list_dir(root: ArtifactRoot, path: str | None) -> list[FileInfo]:
        """The entries of directory `path` below `root`, each `path` relative to the root (the
        reference's `files[]`); a file or a missing directory lists as nothing."""
        directory = clean_relative_path(path or "")
        if root.folder is None:
            return []
        return [
            FileInfo(posixpath.join(directory, f.path) if directory else f.path, f.is_dir, f.file_size)
            for f in root.backend.list(root.locate(directory))
        ]

    # --- the UI's upload --------------------------------------------------------------------

    async def upload(
        self, ctx: RequestContext, run_id: str, path: str, declared_size: int | None, body: AsyncIterable[bytes]
    ) -> None:
        """Store `body` at `path` in run `run_id`'s artifacts, atomically; refused, in the
        reference's order, without a path, over 10 MiB, when empty, or for an unknown run."""
        cleaned = clean_relative_path(path)
        if not cleaned:
            raise invalid("Request must specify path.")
        if declared_size is not None and declared_size > MAX_UI_UPLOAD_BYTES:
            raise invalid(UPLOAD_TOO_LARGE)
        chunks = aiter(body)
        first = b""
        async for chunk in chunks:
            if chunk:
                first = chunk
                break
        if not first:
            raise invalid("Request must specify data.")
        root = await anyio.to_thread.run_sync(self.run_root, ctx, run_id)

        async def limited() -> AsyncIterator[bytes]:
            size = len(first)
            if size > MAX_UI_UPLOAD_BYTES:
                raise invalid(UPLOAD_TOO_LARGE)
            yield first
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_UI_UPLOAD_BYTES:
                    raise invalid(UPLOAD_TOO_LARGE)  # the backend discards the partial file
                yield chunk

        await root.backend.write(root.locate(cleaned), limited())
