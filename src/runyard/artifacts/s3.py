"""The S3 artifact backend: artifacts as objects of one bucket below a key prefix.

Layout: the artifact `a/b.txt` is the object `<prefix>/a/b.txt`; directories are the key prefixes
between slashes (S3 has no folders).  The name `.runyard-uploads` is reserved as a first segment
exactly as in the local backend, so an artifact tree can move between the two.  No upload state is
kept in the bucket or in the process: a multipart upload is S3's own, and the upload id the client
sees carries the artifact path, the part count and S3's `UploadId` (S3 binds that id to the key, so
an id altered to name another path is refused by S3 itself).  Any server process can therefore
continue an upload another process created.

Atomicity comes from S3: an object appears whole when its `PutObject` or
`CompleteMultipartUpload` succeeds and not before.  A write streams: a body up to one part
(`part_size`, 8 MiB) is one `PutObject`; a larger body becomes a multipart upload whose parts are
sent while the next one is read (two part buffers at most), and which is aborted if the body fails
or the request is cancelled, so nothing partial is ever visible.  Reads stream the `GetObject`
body in chunks.  Every blocking S3 call runs in a worker thread.

The local backend's rules are kept where S3 would allow more: writing onto a "directory" (a prefix
with objects below it) or below an existing file is refused, and reading a directory is a 400.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import builtins
import contextlib
import datetime
import json
import re
import tempfile
from collections.abc import AsyncIterable, Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Final, TypeVar

import anyio
import anyio.to_thread

from runyard.artifacts.base import (
    MAX_PARTS,
    ArtifactBackend,
    ArtifactReader,
    BodyReader,
    FileInfo,
    check_part_number,
    guess_content_type,
)
from runyard.artifacts.paths import clean_backend_path, clean_relative_path, is_private_name
from runyard.artifacts.s3_client import translate
from runyard.domain.errors import MlflowError, invalid, not_found

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, ObjectIdentifierTypeDef

__all__ = ["PART_SIZE", "S3ArtifactBackend"]

T = TypeVar("T")

# The part size of streamed writes; also how much of a body is held before it is sent. 8 MiB x the
# 10,000 parts S3 allows is 78 GiB per artifact.
PART_SIZE: Final = 8 << 20
# A multipart part sent by the client is spooled to a temporary file beyond this many bytes.
PART_SPOOL_BYTES: Final = 1 << 20
_DELETE_BATCH: Final = 1000  # DeleteObjects' limit
_MAX_UPLOAD_ID_CHARS: Final = 12_000
_UPLOAD_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]+")

# The streamed writes' part uploads run here, one in flight per write while the next part is read.
_TRANSFERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="runyard-s3")


def _normalise_etag(etag: str) -> str:
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


class S3ArtifactBackend(ArtifactBackend):
    """Artifacts stored as objects of `bucket` below `prefix` (`''`: the bucket's root)."""

    def __init__(self, bucket: str, prefix: str, client: S3Client, *, part_size: int = PART_SIZE) -> None:
        self._bucket = bucket
        self._prefix = clean_relative_path(prefix)
        self._client = client
        self._part_size = part_size

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def prefix(self) -> str:
        return self._prefix

    # -- keys and errors -------------------------------------------------------------------

    def _clean(self, path: str, *, allow_root: bool) -> str:
        return clean_backend_path(path, allow_root=allow_root)

    def _key(self, cleaned: str) -> str:
        if not self._prefix:
            return cleaned
        return f"{self._prefix}/{cleaned}" if cleaned else self._prefix

    def _dir_prefix(self, cleaned: str) -> str:
        """The key prefix of everything below `cleaned` (`''` for the root of a whole bucket)."""
        key = self._key(cleaned)
        return f"{key}/" if key else ""

    def _s3(self, what: str, fn: Callable[[], T]) -> T:
        """Run one S3 call, its failure as the MLflow error it means (`what` names the object)."""
        try:
            return fn()
        except Exception as exc:
            error = translate(exc, self._bucket, what)
            if error is None:
                raise
            raise error from None

    @staticmethod
    def _code(exc: BaseException) -> str:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            return str(exc.response.get("Error", {}).get("Code", ""))
        return ""

    def _object_exists(self, key: str, what: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=key)
        except Exception as exc:
            if self._code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            error = translate(exc, self._bucket, what)
            if error is None:
                raise
            raise error from None
        return True

    def _is_dir(self, cleaned: str) -> bool:
        if not cleaned:
            return True
        prefix = self._dir_prefix(cleaned)
        page = self._s3(
            f"'{cleaned}'", lambda: self._client.list_objects_v2(Bucket=self._bucket, Prefix=prefix, MaxKeys=1)
        )
        return int(page.get("KeyCount", 0)) > 0

    def _check_writable(self, cleaned: str) -> None:
        """Refuse a target that is a directory or lies below a file, as a folder would."""
        if self._is_dir(cleaned):
            raise invalid(f"Invalid artifact path '{cleaned}': it is an existing directory")
        segments = cleaned.split("/")
        for depth in range(1, len(segments)):
            ancestor = "/".join(segments[:depth])
            if self._object_exists(self._key(ancestor), f"'{ancestor}'"):
                raise invalid(f"Invalid artifact path '{cleaned}': a parent of it is an existing file")

    def _missing(self, cleaned: str) -> MlflowError:
        """The error for a read of `cleaned` that found no object: a directory is a 400, else a 404."""
        if self._is_dir(cleaned):
            return invalid(f"Artifact path refers to a directory, not a file: '{cleaned}'")
        return not_found(f"No such artifact: '{cleaned}'")

    # -- whole-file operations -------------------------------------------------------------

    def _put(self, key: str, data: bytes, content_type: str, what: str) -> None:
        self._s3(
            what, lambda: self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)
        )

    async def write(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        cleaned = self._clean(path, allow_root=False)
        await anyio.to_thread.run_sync(self._check_writable, cleaned)
        key = self._key(cleaned)
        what = f"artifact '{cleaned}'"
        content_type = guess_content_type(cleaned)
        buffer: builtins.list[bytes] = []
        buffered = 0
        written = 0
        upload: _StreamedUpload | None = None
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                buffer.append(chunk)
                buffered += len(chunk)
                written += len(chunk)
                if buffered >= self._part_size:
                    data = b"".join(buffer)
                    buffer.clear()
                    buffered = 0
                    if upload is None:
                        upload = await _StreamedUpload.start(self, key, content_type, what)
                    await upload.send(data)
                    del data
            data = b"".join(buffer)
            buffer.clear()
            if upload is None:
                await anyio.to_thread.run_sync(self._put, key, data, content_type, what)
            else:
                if data:
                    await upload.send(data)
                await upload.complete()
        except BaseException:
            if upload is not None:
                with anyio.CancelScope(shield=True):
                    await upload.abort()
            raise
        return written

    async def read(self, path: str) -> ArtifactReader:
        cleaned = self._clean(path, allow_root=True)
        if not cleaned:
            raise invalid("Artifact path refers to a directory, not a file: ''")
        key = self._key(cleaned)

        def get() -> ArtifactReader:
            try:
                response = self._client.get_object(Bucket=self._bucket, Key=key)
            except Exception as exc:
                if self._code(exc) in ("NoSuchKey", "404"):
                    raise self._missing(cleaned) from None
                error = translate(exc, self._bucket, f"artifact '{cleaned}'")
                if error is None:
                    raise
                raise error from None
            body = response["Body"]
            return BodyReader(
                body,  # type: ignore[arg-type]  # botocore's StreamingBody reads like a binary file
                size=int(response["ContentLength"]),
                content_type=guess_content_type(cleaned),
                mtime=response["LastModified"].timestamp(),
            )

        return await anyio.to_thread.run_sync(get)

    def _pages(self, prefix: str, *, delimiter: bool) -> Iterator[dict[str, object]]:
        paginator = self._client.get_paginator("list_objects_v2")
        kwargs = {"Bucket": self._bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        pages = iter(paginator.paginate(**kwargs))  # type: ignore[arg-type]
        while True:
            page = self._s3(f"the listing of '{prefix}'", lambda: next(pages, None))
            if page is None:
                return
            yield page  # type: ignore[misc]

    def list(self, path: str) -> builtins.list[FileInfo]:
        cleaned = self._clean(path, allow_root=True)
        prefix = self._dir_prefix(cleaned)
        entries: dict[str, FileInfo] = {}
        for page in self._pages(prefix, delimiter=True):
            for common in page.get("CommonPrefixes", []) or []:  # type: ignore[attr-defined]
                name = str(common["Prefix"])[len(prefix) :].rstrip("/")
                if name and not (not cleaned and is_private_name(name)):
                    entries[name] = FileInfo(path=name, is_dir=True, file_size=None)
            for item in page.get("Contents", []) or []:  # type: ignore[attr-defined]
                name = str(item["Key"])[len(prefix) :]
                if not name or (not cleaned and is_private_name(name)):
                    continue  # a "folder" marker object some tools create, or the reserved name
                entries.setdefault(name, FileInfo(path=name, is_dir=False, file_size=int(item["Size"])))
        return sorted(entries.values(), key=lambda info: info.path)

    def _delete_keys(self, keys: builtins.list[str], what: str) -> None:
        for start in range(0, len(keys), _DELETE_BATCH):
            batch: builtins.list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys[start : start + _DELETE_BATCH]]
            response = self._s3(
                what,
                lambda batch=batch: self._client.delete_objects(  # type: ignore[misc]
                    Bucket=self._bucket, Delete={"Objects": batch, "Quiet": True}
                ),
            )
            errors = response.get("Errors", [])
            if errors:
                code = errors[0].get("Code", "")
                raise MlflowError(
                    f"The artifact store (S3 bucket '{self._bucket}') did not delete {len(errors)} object(s) of {what} "
                    f"({code})",
                    "INVALID_STATE",
                )

    def _delete_tree(self, prefix: str, what: str) -> None:
        batch: builtins.list[str] = []
        for page in self._pages(prefix, delimiter=False):
            batch.extend(str(item["Key"]) for item in page.get("Contents", []) or [])  # type: ignore[attr-defined]
            if len(batch) >= _DELETE_BATCH:
                self._delete_keys(batch, what)
                batch = []
        if batch:
            self._delete_keys(batch, what)

    def delete(self, path: str) -> None:
        cleaned = self._clean(path, allow_root=False)
        what = f"artifact '{cleaned}'"
        key = self._key(cleaned)
        self._s3(what, lambda: self._client.delete_object(Bucket=self._bucket, Key=key))
        self._delete_tree(self._dir_prefix(cleaned), what)

    def exists(self, path: str) -> bool:
        cleaned = self._clean(path, allow_root=True)
        if not cleaned:
            return True
        return self._object_exists(self._key(cleaned), f"'{cleaned}'") or self._is_dir(cleaned)

    def read_small(self, path: str, max_bytes: int) -> bytes:
        cleaned = self._clean(path, allow_root=False)
        key = self._key(cleaned)
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{max_bytes}")
            with contextlib.closing(response["Body"]) as body:
                data = body.read()
        except Exception as exc:
            code = self._code(exc)
            if code in ("NoSuchKey", "404"):
                raise self._missing(cleaned) from None
            if code == "InvalidRange":  # the object is empty: no byte 0 to start a range at
                return b""
            error = translate(exc, self._bucket, f"artifact '{cleaned}'")
            if error is None:
                raise
            raise error from None
        if len(data) > max_bytes:
            raise invalid(f"Artifact '{cleaned}' is larger than {max_bytes} bytes")
        return data

    def tree_size(self, path: str) -> int:
        cleaned = self._clean(path, allow_root=True)
        prefix = self._dir_prefix(cleaned)
        total = 0
        for page in self._pages(prefix, delimiter=False):
            for item in page.get("Contents", []) or []:  # type: ignore[attr-defined]
                if not cleaned and is_private_name(str(item["Key"])[len(prefix) :].split("/", 1)[0]):
                    continue
                total += int(item["Size"])
        return total

    # -- multipart uploads -----------------------------------------------------------------

    @staticmethod
    def _encode_upload(cleaned: str, num_parts: int, s3_upload_id: str) -> str:
        raw = json.dumps([cleaned, num_parts, s3_upload_id], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")

    def _decode_upload(self, upload_id: str) -> tuple[str, int, str]:
        """(artifact path, part count, S3 UploadId) of a client-given upload id; 400 if malformed."""
        refusal = invalid(
            f"Invalid upload id {upload_id[:100]!r}" if isinstance(upload_id, str) else "Invalid upload id"
        )
        if not isinstance(upload_id, str) or len(upload_id) > _MAX_UPLOAD_ID_CHARS:
            raise refusal
        if not _UPLOAD_ID_RE.fullmatch(upload_id):
            raise refusal
        try:
            raw = base64.urlsafe_b64decode(upload_id + "=" * (-len(upload_id) % 4))
            decoded = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise refusal from None
        if not (
            isinstance(decoded, builtins.list)
            and len(decoded) == 3
            and isinstance(decoded[0], str)
            and isinstance(decoded[1], int)
            and not isinstance(decoded[1], bool)
            and isinstance(decoded[2], str)
            and 1 <= decoded[1] <= MAX_PARTS
            and 0 < len(decoded[2]) <= 1024
        ):
            raise refusal
        path, num_parts, s3_id = decoded
        try:
            if self._clean(path, allow_root=False) != path:
                raise refusal
        except MlflowError:
            raise refusal from None
        return path, num_parts, s3_id

    def create_multipart(self, path: str, num_parts: int) -> str:
        cleaned = self._clean(path, allow_root=False)
        if isinstance(num_parts, bool) or not isinstance(num_parts, int) or not 1 <= num_parts <= MAX_PARTS:
            raise invalid(f"Invalid num_parts {num_parts!r}: it must be between 1 and {MAX_PARTS}")
        self._check_writable(cleaned)
        key = self._key(cleaned)
        response = self._s3(
            f"a multipart upload to '{cleaned}'",
            lambda: self._client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=guess_content_type(cleaned)
            ),
        )
        return self._encode_upload(cleaned, num_parts, response["UploadId"])

    def _upload_is_open(self, key: str, s3_id: str) -> bool:
        """Whether S3 has the upload `s3_id` open for exactly `key`: a listing by key, which every
        S3-compatible store answers alike (some accept any key beside a valid UploadId elsewhere)."""
        paginator = self._client.get_paginator("list_multipart_uploads")
        pages = iter(paginator.paginate(Bucket=self._bucket, Prefix=key))
        while True:
            page = self._s3("the open multipart uploads", lambda: next(pages, None))
            if page is None:
                return False
            for upload in page.get("Uploads", []) or []:
                if upload.get("Key") == key and upload.get("UploadId") == s3_id:
                    return True

    def _open_upload(self, upload_id: str) -> tuple[str, int, str]:
        """`_decode_upload`, once S3 confirms the upload is open for the path the id names (an id
        made up, altered to name another path, finished or aborted is not found)."""
        cleaned, num_parts, s3_id = self._decode_upload(upload_id)
        if not self._upload_is_open(self._key(cleaned), s3_id):
            raise not_found(f"No such multipart upload: '{upload_id[:100]}'")
        return cleaned, num_parts, s3_id

    def multipart_target(self, upload_id: str) -> str:
        return self._open_upload(upload_id)[0]

    async def write_part(self, upload_id: str, part_number: int, chunks: AsyncIterable[bytes]) -> str:
        cleaned, num_parts, s3_id = self._decode_upload(upload_id)
        check_part_number(part_number, num_parts)
        key = self._key(cleaned)
        if not await anyio.to_thread.run_sync(self._upload_is_open, key, s3_id):
            raise not_found(f"No such multipart upload: '{upload_id[:100]}'")
        with tempfile.SpooledTemporaryFile(max_size=PART_SPOOL_BYTES) as spool:
            size = 0
            async for chunk in chunks:
                spool.write(chunk)  # page-cache writes, as the local backend's
                size += len(chunk)
            spool.seek(0)

            def send() -> str:
                response = self._s3(
                    f"part {part_number} of the upload to '{cleaned}'",
                    lambda: self._client.upload_part(
                        Bucket=self._bucket,
                        Key=key,
                        UploadId=s3_id,
                        PartNumber=part_number,
                        Body=spool,
                        ContentLength=size,
                    ),
                )
                return _normalise_etag(response["ETag"])

            return await anyio.to_thread.run_sync(send)

    async def complete_multipart(self, upload_id: str, path: str, parts: Sequence[tuple[int, str]]) -> None:
        meta_path, num_parts, s3_id = self._decode_upload(upload_id)
        cleaned = self._clean(path, allow_root=False)
        if cleaned != meta_path:
            raise invalid(f"Multipart upload was created for '{meta_path}', not '{cleaned}'")
        if not parts:
            raise invalid("A multipart upload needs at least one part to complete")
        completed: builtins.list[CompletedPartTypeDef] = []
        seen: set[int] = set()
        for part_number, etag in sorted(parts, key=lambda part: part[0]):
            check_part_number(part_number, num_parts)
            if part_number in seen:
                raise invalid(f"Part {part_number} is listed more than once")
            seen.add(part_number)
            value = _normalise_etag(etag) if isinstance(etag, str) else ""
            if not value or not value.isprintable():
                raise invalid(f"Part {part_number} was not uploaded or its etag {etag!r} does not match")
            completed.append({"PartNumber": part_number, "ETag": f'"{value}"'})
        key = self._key(cleaned)

        def finish() -> None:
            if not self._upload_is_open(key, s3_id):
                raise not_found(f"No such multipart upload: '{upload_id[:100]}'")
            self._check_writable(cleaned)
            self._s3(
                f"the multipart upload to '{cleaned}'",
                lambda: self._client.complete_multipart_upload(
                    Bucket=self._bucket, Key=key, UploadId=s3_id, MultipartUpload={"Parts": completed}
                ),
            )

        await anyio.to_thread.run_sync(finish)

    def abort_multipart(self, upload_id: str) -> None:
        cleaned, _num_parts, s3_id = self._decode_upload(upload_id)
        key = self._key(cleaned)
        if self._upload_is_open(key, s3_id):  # else finished, aborted, or not this path's: nothing to do
            self._abort(key, s3_id, cleaned)

    def _abort(self, key: str, s3_id: str, shown: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=s3_id)
        except Exception as exc:
            if self._code(exc) in ("NoSuchUpload", "404"):
                return  # finished or aborted already
            error = translate(exc, self._bucket, f"the multipart upload to '{shown}'")
            if error is None:
                raise
            raise error from None

    # -- housekeeping ----------------------------------------------------------------------

    def _uploads(self) -> Iterator[tuple[str, str, datetime.datetime]]:
        """(key, UploadId, initiated) of every open multipart upload below the root."""
        paginator = self._client.get_paginator("list_multipart_uploads")
        pages = iter(paginator.paginate(Bucket=self._bucket, Prefix=self._dir_prefix("")))
        while True:
            page = self._s3("the open multipart uploads", lambda: next(pages, None))
            if page is None:
                return
            for upload in page.get("Uploads", []) or []:
                yield str(upload["Key"]), str(upload["UploadId"]), upload["Initiated"]

    def purge_stale(self, max_age_seconds: float = 7 * 24 * 3600) -> int:
        """Abort multipart uploads initiated more than `max_age_seconds` ago (clients that never
        completed nor aborted, processes that died mid-write); returns how many."""
        cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=max_age_seconds)
        removed = 0
        for key, s3_id, initiated in builtins.list(self._uploads()):
            if initiated < cutoff:
                self._abort(key, s3_id, key)
                removed += 1
        return removed

    def remove_all(self) -> None:
        if not self._prefix:
            raise invalid(f"Refusing to empty the whole S3 bucket '{self._bucket}'")
        for key, s3_id, _initiated in builtins.list(self._uploads()):
            self._abort(key, s3_id, key)
        self._delete_tree(self._dir_prefix(""), f"the artifacts below '{self._prefix}'")


class _StreamedUpload:
    """The multipart upload behind one streamed write: parts go out in a worker thread, one at a
    time, while the caller reads the next one."""

    def __init__(self, backend: S3ArtifactBackend, key: str, s3_id: str, what: str) -> None:
        self._backend = backend
        self._key = key
        self._id = s3_id
        self._what = what
        self._parts: list[CompletedPartTypeDef] = []
        self._pending: Future[None] | None = None

    @classmethod
    async def start(cls, backend: S3ArtifactBackend, key: str, content_type: str, what: str) -> _StreamedUpload:
        client = backend._client

        def create() -> str:
            response = backend._s3(
                what,
                lambda: client.create_multipart_upload(Bucket=backend.bucket, Key=key, ContentType=content_type),
            )
            return response["UploadId"]

        return cls(backend, key, await anyio.to_thread.run_sync(create), what)

    def _upload(self, number: int, data: bytes) -> None:
        client = self._backend._client
        response = self._backend._s3(
            self._what,
            lambda: client.upload_part(
                Bucket=self._backend.bucket, Key=self._key, UploadId=self._id, PartNumber=number, Body=data
            ),
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    async def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await asyncio.wrap_future(pending)

    async def send(self, data: bytes) -> None:
        """Start uploading `data` as the next part once the previous part is stored."""
        await self._wait()
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise invalid(f"{self._what} is too large: more than {MAX_PARTS} parts of {len(data)} bytes")
        self._pending = _TRANSFERS.submit(self._upload, number, data)

    async def complete(self) -> None:
        await self._wait()
        client = self._backend._client
        parts = sorted(self._parts, key=lambda part: part["PartNumber"])
        await anyio.to_thread.run_sync(
            lambda: self._backend._s3(
                self._what,
                lambda: client.complete_multipart_upload(
                    Bucket=self._backend.bucket, Key=self._key, UploadId=self._id, MultipartUpload={"Parts": parts}
                ),
            )
        )

    async def abort(self) -> None:
        """Discard the upload (after the part in flight, which S3 could otherwise keep)."""
        with contextlib.suppress(Exception):
            await self._wait()
        with contextlib.suppress(Exception):
            await anyio.to_thread.run_sync(self._backend._abort, self._key, self._id, self._what)
