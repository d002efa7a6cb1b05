"""The backend-neutral artifact storage interface shared by the local-folder and S3 backends.

Paths handed to a backend are relative POSIX paths under the backend's root (``''`` is the
root).  Backends re-validate every path with
:func:`runyard.artifacts.paths.clean_relative_path` and never trust their caller.  Failures
the client should see are raised as :class:`runyard.domain.errors.MlflowError`
(``invalid()`` → 400, ``not_found()`` → 404).
"""

from __future__ import annotations

import abc
import asyncio
import mimetypes
import os
import posixpath
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Final

import anyio.to_thread

from runyard.domain.errors import invalid

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_PARTS",
    "TEXT_EXTENSIONS",
    "ArtifactBackend",
    "ArtifactReader",
    "BodyReader",
    "FileInfo",
    "check_part_number",
    "guess_content_type",
]

DEFAULT_CHUNK_SIZE: Final = 1 << 20
MAX_PARTS: Final = 10_000  # the S3 limit; the local backend applies it too

# The reference server's list (mlflow.utils.mime_type_utils.get_text_extensions): files with
# these extensions, or with exactly these names when they have no extension, are served as
# text/plain so the UI can preview them.
TEXT_EXTENSIONS: Final = frozenset(
    {
        "txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon",
        "toml", "yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst",
        "ipynb", "MLmodel", "mlproject",
    }
)  # fmt: skip

# Built-in table only, so the answer does not depend on the host's /etc/mime.types.
_MIME_TYPES: Final = mimetypes.MimeTypes()


def guess_content_type(path: str) -> str:
    """The Content-Type the reference server would send for an artifact with this name."""
    name = posixpath.basename(path)
    extension = os.path.splitext(name)[1].replace(".", "") or name
    if extension in TEXT_EXTENSIONS:
        return "text/plain"
    mime_type, _encoding = _MIME_TYPES.guess_type(name, strict=False)
    return mime_type or "application/octet-stream"


@dataclass(frozen=True)
class FileInfo:
    """One entry of a directory listing, shaped like MLflow's ``FileInfo``.

    ``path`` is the entry's basename (what the reference ``/mlflow-artifacts/artifacts`` list
    endpoint returns); ``file_size`` is ``None`` for directories.
    """

    path: str
    is_dir: bool
    file_size: int | None


class ArtifactReader(abc.ABC):
    """An opened artifact: metadata known up front, content streamed in bounded chunks.

    The content is a consistent snapshot: a concurrent atomic replacement of the artifact does
    not change what an already-opened reader yields.  ``chunks()`` releases the underlying
    resource when it is exhausted or closed; call :meth:`aclose` (or use ``async with``) when
    the content is not streamed at all.
    """

    def __init__(self, size: int, content_type: str, mtime: float) -> None:
        self.size = size
        self.content_type = content_type
        self.mtime = mtime

    @abc.abstractmethod
    def chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Yield the content in pieces of at most ``chunk_size`` bytes; can be consumed once."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release the underlying resource; safe to call more than once."""

    async def __aenter__(self) -> ArtifactReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class BodyReader(ArtifactReader):
    """A reader over an opened blocking body (a file descriptor, an object store's response body:
    a snapshot of the artifact), read in worker threads and closed when done."""

    def __init__(self, body: IO[bytes], size: int, content_type: str, mtime: float) -> None:
        super().__init__(size=size, content_type=content_type, mtime=mtime)
        self._body = body
        self._started = False

    async def chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        if self._started:
            raise RuntimeError("the artifact content can only be streamed once")
        self._started = True
        try:
            remaining = self.size
            while remaining > 0:
                data = await anyio.to_thread.run_sync(self._body.read, min(chunk_size, remaining))
                if not data:
                    raise OSError("the artifact was truncated while it was being read")
                remaining -= len(data)
                yield data
        finally:
            self._body.close()

    async def aclose(self) -> None:
        self._body.close()


def check_part_number(part_number: int, num_parts: int) -> None:
    """Refuse (400) a multipart part number outside 1..num_parts, or one that is not an integer."""
    if isinstance(part_number, bool) or not isinstance(part_number, int):
        raise invalid(f"Invalid part number {part_number!r}")
    if not 1 <= part_number <= num_parts:
        raise invalid(f"Invalid part number {part_number}: this upload has parts 1 to {num_parts}")


class ArtifactBackend(abc.ABC):
    """Artifact storage rooted somewhere (a folder, a bucket prefix).

    Semantics every backend implements (they mirror the reference server's):

    * ``write`` is atomic: readers see the old content or the complete new content, never a
      partial file; a failed or cancelled write leaves the previous artifact untouched.
    * ``read`` of a missing artifact raises ``not_found()``; of a directory, ``invalid()``
      (the reference answers 400 "Artifact path refers to a directory, not a file").
    * ``list`` of a missing directory or of a file returns ``[]``.
    * ``delete`` of a missing path succeeds silently; deleting the root is refused.
    """

    @abc.abstractmethod
    async def write(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the streamed body at ``path`` atomically, creating parent directories.

        Returns the number of bytes written.  Raises ``invalid()`` when ``path`` is the root,
        an existing directory, or lies below an existing file.
        """

    @abc.abstractmethod
    async def read(self, path: str) -> ArtifactReader:
        """Open the artifact at ``path`` for streaming."""

    def stream_sync(self, path: str, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        """The file at ``path`` as chunks, for a caller on a plain thread (the mirror's replicator):
        the backend's own streaming reader, driven by an event loop of the calling thread."""
        loop = asyncio.new_event_loop()
        try:
            reader = loop.run_until_complete(self.read(path))
            try:
                chunks = reader.chunks(chunk_size).__aiter__()
                while True:
                    try:
                        chunk = loop.run_until_complete(chunks.__anext__())
                    except StopAsyncIteration:
                        break
                    yield chunk
            finally:
                loop.run_until_complete(reader.aclose())
        finally:
            loop.close()

    @abc.abstractmethod
    def list(self, path: str) -> list[FileInfo]:
        """The immediate children of directory ``path``, sorted by name."""

    @abc.abstractmethod
    def delete(self, path: str) -> None:
        """Delete a file or a whole directory tree."""

    @abc.abstractmethod
    def exists(self, path: str) -> bool:
        """Whether a file or directory exists at ``path`` (the root always exists)."""

    @abc.abstractmethod
    def read_small(self, path: str, max_bytes: int) -> bytes:
        """The whole content of a small file (e.g. an `MLmodel`), read synchronously.

        Raises ``not_found()`` if missing and ``invalid()`` if it is larger than ``max_bytes``.
        """

    def tree_size(self, path: str) -> int:
        """Total bytes of all files at or below ``path`` (0 when nothing is there)."""
        total = 0
        pending = [path]
        while pending:
            current = pending.pop()
            for entry in self.list(current):
                child = posixpath.join(current, entry.path) if current else entry.path
                if entry.is_dir:
                    pending.append(child)
                else:
                    total += entry.file_size or 0
        return total

    @abc.abstractmethod
    def create_multipart(self, path: str, num_parts: int) -> str:
        """Start a multipart upload to ``path`` of ``num_parts`` parts; returns the upload id."""

    @abc.abstractmethod
    def multipart_target(self, upload_id: str) -> str:
        """The path an open upload was created for (NOT_FOUND for an unknown upload): the part, complete
        and abort requests are authorized against it, since a part's URL names only the upload."""

    @abc.abstractmethod
    async def write_part(self, upload_id: str, part_number: int, chunks: AsyncIterable[bytes]) -> str:
        """Store one part (numbered from 1; re-sending a part replaces it); returns its etag."""

    @abc.abstractmethod
    async def complete_multipart(self, upload_id: str, path: str, parts: Sequence[tuple[int, str]]) -> None:
        """Verify the ``(part_number, etag)`` list, assemble the parts in part-number order into
        ``path`` atomically and discard the upload.  ``path`` must be the path given to
        :meth:`create_multipart`.  On an etag mismatch ``invalid()`` is raised and the upload
        stays open so the client can re-send parts or abort.
        """

    def purge_stale(self, max_age_seconds: float) -> int:
        """Remove upload left-overs untouched for ``max_age_seconds``; returns how many (none by default)."""
        return 0

    @abc.abstractmethod
    def remove_all(self) -> None:
        """Remove everything stored under the root, upload left-overs included (a deleted workspace's
        managed storage); the backend must not be used afterwards."""

    @abc.abstractmethod
    def abort_multipart(self, upload_id: str) -> None:
        """Discard an upload and its parts; aborting an unknown (e.g. finished) upload is a no-op."""
