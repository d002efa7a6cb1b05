"""The local-folder artifact backend.

Layout under the root folder::

    <root>/<artifact path>                        artifacts, exactly as named
    <root>/.runyard-uploads/tmp/<random>.tmp      in-flight single writes and multipart assemblies
    <root>/.runyard-uploads/<upload id>/          one open multipart upload: meta.json, parts

The private ``.runyard-uploads`` folder is never listed and no artifact path can reach it: its
name (compared case- and Unicode-insensitively) is refused as a first segment, and any path
that resolves into it through a symlink is refused too.  Temporary files live on the same file
system as the artifacts, so ``os.replace`` publishes a finished file atomically.

Body chunks are written synchronously in the event loop (page-cache writes are fast); the
slow or blocking steps - fsync, rename, directory creation, reading, multipart assembly - run
in worker threads via ``anyio.to_thread``.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import AsyncIterable, Sequence
from pathlib import Path
from typing import IO, Final

import anyio.to_thread

from runyard.artifacts.base import (
    DEFAULT_CHUNK_SIZE,
    MAX_PARTS,
    ArtifactBackend,
    ArtifactReader,
    BodyReader,
    FileInfo,
    check_part_number,
    guess_content_type,
)
from runyard.artifacts.paths import PRIVATE_DIR_NAME, clean_backend_path, is_private_name, join_within
from runyard.domain.errors import invalid, not_found

__all__ = ["PRIVATE_DIR_NAME", "LocalArtifactBackend", "is_private_name"]

_TMP_DIR_NAME: Final = "tmp"
_META_NAME: Final = "meta.json"
_UPLOAD_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
_MD5_RE: Final = re.compile(r"[0-9a-f]{32}")
_COPY_CHUNK: Final = DEFAULT_CHUNK_SIZE


def _part_prefix(part_number: int) -> str:
    return f"part-{part_number:05d}."


def _normalise_etag(etag: str) -> str:
    """Accept etags the way HTTP clients echo them: quoted, weak-prefixed, any case."""
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower()


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable; best effort (not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fs_limit(path: Path, name: str, fallback: int) -> int:
    try:
        return int(os.pathconf(path, name))
    except (OSError, ValueError):
        return fallback


def _flush_and_close(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


class LocalArtifactBackend(ArtifactBackend):
    """Artifacts stored as plain files under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root)
        path.mkdir(parents=True, exist_ok=True)
        self._root = path.resolve()
        self._private = self._root / PRIVATE_DIR_NAME
        self._tmp = self._private / _TMP_DIR_NAME
        self._tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The file system's limits, in bytes: a path the client may send (4096 bytes) can exceed them
        # once the root is prepended, and the OS would refuse it with ENAMETOOLONG.
        self._path_max = _fs_limit(self._root, "PC_PATH_MAX", 4096)
        self._name_max = _fs_limit(self._root, "PC_NAME_MAX", 255)

    @property
    def root(self) -> Path:
        return self._root

    # -- path handling ---------------------------------------------------------------------

    def _clean(self, path: str, *, allow_root: bool) -> str:
        return clean_backend_path(path, allow_root=allow_root)

    def _check_public(self, real: Path, shown: str) -> None:
        """Refuse a resolved location inside the private area (reached through a symlink)."""
        relative = real.relative_to(self._root).parts
        if relative and is_private_name(relative[0]):
            raise invalid(f"Invalid artifact path '{shown}': it resolves into a reserved location")

    def _check_os_limits(self, target: Path, cleaned: str) -> None:
        """Refuse (400) a location the file system cannot name, instead of failing with ENAMETOOLONG."""
        if len(os.fsencode(target)) >= self._path_max:
            raise invalid(
                f"Invalid artifact path '{cleaned[:200]}...': with the artifact root prepended it is longer than "
                f"the file system's limit of {self._path_max - 1} bytes"
            )
        if any(len(os.fsencode(segment)) > self._name_max for segment in cleaned.split("/")):
            raise invalid(
                f"Invalid artifact path '{cleaned[:200]}': a segment is longer than the file system's limit of "
                f"{self._name_max} bytes"
            )

    def _locate(self, path: str, *, allow_root: bool) -> tuple[str, Path]:
        cleaned = self._clean(path, allow_root=allow_root)
        self._check_os_limits(self._root.joinpath(*cleaned.split("/")) if cleaned else self._root, cleaned)
        real = join_within(self._root, cleaned)
        self._check_os_limits(real, cleaned)
        self._check_public(real, cleaned)
        return cleaned, real

    def _check_writable_target(self, cleaned: str, target: Path) -> None:
        if target.is_dir():
            raise invalid(f"Invalid artifact path '{cleaned}': it is an existing directory")
        ancestor = target.parent
        while not ancestor.exists() and ancestor != self._root:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise invalid(f"Invalid artifact path '{cleaned}': a parent of it is an existing file")

    def _new_temp(self, directory: Path) -> tuple[Path, IO[bytes]]:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = directory / f"{secrets.token_hex(16)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        return tmp, os.fdopen(fd, "wb")

    @staticmethod
    def _discard(tmp: Path, handle: IO[bytes]) -> None:
        with contextlib.suppress(OSError):
            handle.close()
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)

    def _publish(self, handle: IO[bytes], tmp: Path, target: Path, cleaned: str) -> None:
        """fsync the finished temp file and rename it over ``target`` (runs in a worker thread)."""
        _flush_and_close(handle)
        parent = target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise invalid(f"Invalid artifact path '{cleaned}': a parent of it is an existing file") from exc
        if not parent.is_dir():
            raise invalid(f"Invalid artifact path '{cleaned}': a parent of it is an existing file")
        try:
            os.replace(tmp, target)
        except IsADirectoryError as exc:
            raise invalid(f"Invalid artifact path '{cleaned}': it is an existing directory") from exc
        _fsync_dir(parent)

    # -- whole-file operations -------------------------------------------------------------

    async def write(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        cleaned, target = self._locate(path, allow_root=False)
        self._check_writable_target(cleaned, target)
        tmp, handle = self._new_temp(self._tmp)
        try:
            written = 0
            async for chunk in chunks:
                handle.write(chunk)
                written += len(chunk)
            await anyio.to_thread.run_sync(self._publish, handle, tmp, target, cleaned)
        except BaseException:
            self._discard(tmp, handle)
            raise
        return written

    async def read(self, path: str) -> ArtifactReader:
        cleaned, target = self._locate(path, allow_root=True)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(target, flags)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise not_found(f"No such artifact: '{cleaned}'") from exc
        except IsADirectoryError as exc:  # platforms that refuse to open directories
            raise invalid(f"Artifact path refers to a directory, not a file: '{cleaned}'") from exc
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise invalid(f"Artifact path refers to a directory, not a file: '{cleaned}'")
            if not stat.S_ISREG(info.st_mode):
                raise invalid(f"Artifact path does not refer to a regular file: '{cleaned}'")
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
            handle = os.fdopen(fd, "rb", buffering=0)
        except BaseException:
            os.close(fd)
            raise
        return BodyReader(handle, size=info.st_size, content_type=guess_content_type(cleaned), mtime=info.st_mtime)

    def list(self, path: str) -> builtins.list[FileInfo]:
        _cleaned, directory = self._locate(path, allow_root=True)
        if not directory.is_dir():
            return []
        entries: builtins.list[FileInfo] = []
        with os.scandir(directory) as iterator:
            for entry in iterator:
                if directory == self._root and is_private_name(entry.name):
                    continue
                try:
                    if entry.is_symlink():
                        real = Path(entry.path).resolve()
                        if not real.is_relative_to(self._root):
                            continue
                        relative = real.relative_to(self._root).parts
                        if relative and is_private_name(relative[0]):
                            continue
                    is_dir = entry.is_dir()
                    size = None if is_dir else entry.stat().st_size
                except (OSError, RuntimeError):  # dangling or looping symlink, concurrent delete
                    continue
                entries.append(FileInfo(path=entry.name, is_dir=is_dir, file_size=size))
        entries.sort(key=lambda info: info.path)
        return entries

    def delete(self, path: str) -> None:
        cleaned = self._clean(path, allow_root=False)
        self._check_os_limits(self._root.joinpath(*cleaned.split("/")), cleaned)
        parent_rel, _, name = cleaned.rpartition("/")
        parent = join_within(self._root, parent_rel)
        self._check_os_limits(parent / name, cleaned)
        self._check_public(parent / name, cleaned)
        target = parent / name  # the leaf itself, not what a symlink there points to
        try:
            info = os.lstat(target)
        except (FileNotFoundError, NotADirectoryError):
            return  # the reference server deletes a missing path silently
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)

    def exists(self, path: str) -> bool:
        _cleaned, target = self._locate(path, allow_root=True)
        return target.exists()

    def read_small(self, path: str, max_bytes: int) -> bytes:
        cleaned, target = self._locate(path, allow_root=False)
        try:
            with open(target, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise not_found(f"No such artifact: '{cleaned}'") from exc
        except IsADirectoryError as exc:
            raise invalid(f"Artifact path refers to a directory, not a file: '{cleaned}'") from exc
        if len(data) > max_bytes:
            raise invalid(f"Artifact '{cleaned}' is larger than {max_bytes} bytes")
        return data

    # -- multipart uploads -----------------------------------------------------------------

    def _upload_dir(self, upload_id: str) -> Path:
        if not isinstance(upload_id, str) or not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise invalid(f"Invalid upload id {upload_id!r}")
        return self._private / upload_id

    def _load_meta(self, upload_id: str) -> tuple[Path, str, int]:
        directory = self._upload_dir(upload_id)
        try:
            meta = json.loads((directory / _META_NAME).read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise not_found(f"No such multipart upload: '{upload_id}'") from exc
        return directory, str(meta["path"]), int(meta["num_parts"])

    def multipart_target(self, upload_id: str) -> str:
        return self._load_meta(upload_id)[1]

    def create_multipart(self, path: str, num_parts: int) -> str:
        cleaned, target = self._locate(path, allow_root=False)
        if isinstance(num_parts, bool) or not isinstance(num_parts, int) or not 1 <= num_parts <= MAX_PARTS:
            raise invalid(f"Invalid num_parts {num_parts!r}: it must be between 1 and {MAX_PARTS}")
        self._check_writable_target(cleaned, target)
        upload_id = secrets.token_hex(16)
        directory = self._private / upload_id
        directory.mkdir(parents=True, mode=0o700)
        meta = {"path": cleaned, "num_parts": num_parts, "created": time.time()}
        staging = directory / (_META_NAME + ".tmp")
        staging.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(staging, directory / _META_NAME)
        return upload_id

    async def write_part(self, upload_id: str, part_number: int, chunks: AsyncIterable[bytes]) -> str:
        directory, _path, num_parts = self._load_meta(upload_id)
        check_part_number(part_number, num_parts)
        tmp, handle = self._new_temp(self._tmp)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            async for chunk in chunks:
                handle.write(chunk)
                digest.update(chunk)
            etag = digest.hexdigest()
            await anyio.to_thread.run_sync(self._publish_part, handle, tmp, directory, part_number, etag)
        except BaseException:
            self._discard(tmp, handle)
            raise
        return etag

    def _publish_part(self, handle: IO[bytes], tmp: Path, directory: Path, part_number: int, etag: str) -> None:
        _flush_and_close(handle)
        if not directory.is_dir():
            raise not_found(f"No such multipart upload: '{directory.name}'")
        final_name = _part_prefix(part_number) + etag
        try:
            os.replace(tmp, directory / final_name)
        except FileNotFoundError as exc:  # aborted concurrently
            raise not_found(f"No such multipart upload: '{directory.name}'") from exc
        for stale in directory.glob(_part_prefix(part_number) + "*"):
            if stale.name != final_name:
                stale.unlink(missing_ok=True)

    async def complete_multipart(self, upload_id: str, path: str, parts: Sequence[tuple[int, str]]) -> None:
        directory, meta_path, num_parts = self._load_meta(upload_id)
        cleaned = self._clean(path, allow_root=False)
        if cleaned != meta_path:
            raise invalid(f"Multipart upload '{upload_id}' was created for '{meta_path}', not '{cleaned}'")
        if not parts:
            raise invalid("A multipart upload needs at least one part to complete")
        ordered: builtins.list[tuple[Path, str]] = []
        seen: set[int] = set()
        for part_number, etag in sorted(parts, key=lambda part: part[0]):
            check_part_number(part_number, num_parts)
            if part_number in seen:
                raise invalid(f"Part {part_number} is listed more than once")
            seen.add(part_number)
            expected = _normalise_etag(etag) if isinstance(etag, str) else ""
            part_file = directory / (_part_prefix(part_number) + expected)
            if not _MD5_RE.fullmatch(expected) or not part_file.is_file():
                raise invalid(f"Part {part_number} was not uploaded or its etag {etag!r} does not match")
            ordered.append((part_file, expected))
        _cleaned, target = self._locate(meta_path, allow_root=False)
        self._check_writable_target(meta_path, target)
        tmp, handle = self._new_temp(self._tmp)
        try:
            await anyio.to_thread.run_sync(self._assemble, handle, tmp, target, meta_path, ordered)
        except BaseException:
            self._discard(tmp, handle)
            raise
        shutil.rmtree(directory, ignore_errors=True)

    def _assemble(
        self, handle: IO[bytes], tmp: Path, target: Path, cleaned: str, parts: Sequence[tuple[Path, str]]
    ) -> None:
        """Concatenate verified parts into the temp file and publish it (worker thread)."""
        for part_file, etag in parts:
            digest = hashlib.md5(usedforsecurity=False)
            with part_file.open("rb") as source:
                while data := source.read(_COPY_CHUNK):
                    digest.update(data)
                    handle.write(data)
            if digest.hexdigest() != etag:
                raise invalid(f"Part file '{part_file.name}' is corrupt: its content does not match its etag")
        self._publish(handle, tmp, target, cleaned)

    def abort_multipart(self, upload_id: str) -> None:
        directory = self._upload_dir(upload_id)
        shutil.rmtree(directory, ignore_errors=True)

    # -- housekeeping ----------------------------------------------------------------------

    def remove_all(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)

    def purge_stale(self, max_age_seconds: float = 7 * 24 * 3600) -> int:
        """Remove temp files and multipart uploads untouched for ``max_age_seconds`` (left
        behind by crashes or clients that never completed nor aborted).  Returns how many."""
        cutoff = time.time() - max_age_seconds
        removed = 0
        for entry in (*self._tmp.iterdir(), *self._private.iterdir()):
            try:
                if entry.stat().st_mtime >= cutoff:
                    continue
                if entry.parent == self._tmp and entry.is_file():
                    entry.unlink()
                elif _UPLOAD_ID_RE.fullmatch(entry.name) and entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    continue
            except FileNotFoundError:
                continue
            removed += 1
        return removed
