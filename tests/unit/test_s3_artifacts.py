"""Tests for runyard.artifacts.s3.S3ArtifactBackend against a real S3-protocol server (moto, a child
process): the same rules as the local backend, atomic uploads, multipart uploads any process can
continue, and what S3's failures look like to a client."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import anyio
import pytest

from runyard.artifacts import FileInfo
from runyard.artifacts.local import PRIVATE_DIR_NAME
from runyard.artifacts.s3 import S3ArtifactBackend
from runyard.artifacts.s3_client import check_bucket, new_client
from runyard.domain.errors import INVALID_PARAMETER_VALUE, INVALID_STATE, RESOURCE_DOES_NOT_EXIST, MlflowError
from tests.moto_server import MotoServer
from tests.unit.test_local_artifacts import ATTACKS, body, failing_body

pytestmark = pytest.mark.anyio

MiB = 1 << 20
PART = 5 * MiB  # S3's smallest part size but the last


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def bucket(moto_server: MotoServer) -> str:
    return moto_server.new_bucket("unit")


@pytest.fixture
def backend(moto_server: MotoServer, bucket: str) -> S3ArtifactBackend:
    return S3ArtifactBackend(bucket, f"root/{secrets.token_hex(4)}", moto_server.client(), part_size=PART)


def keys(moto_server: MotoServer, bucket: str, prefix: str = "") -> list[str]:
    client = moto_server.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def open_uploads(moto_server: MotoServer, bucket: str, prefix: str) -> list[str]:
    response = moto_server.client().list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [u["Key"] for u in response.get("Uploads", [])]


async def read_all(backend: S3ArtifactBackend, path: str, chunk_size: int = MiB) -> bytes:
    reader = await backend.read(path)
    return b"".join([chunk async for chunk in reader.chunks(chunk_size)])


def code_of(exc: pytest.ExceptionInfo[MlflowError]) -> str:
    return exc.value.error_code


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _operations(backend: S3ArtifactBackend, raw: str) -> list[Callable[[], Awaitable[object] | object]]:
    return [
        lambda: backend.write(raw, body(b"x")),
        lambda: backend.read(raw),
        lambda: backend.list(raw),
        lambda: backend.delete(raw),
        lambda: backend.exists(raw),
        lambda: backend.read_small(raw, 10),
        lambda: backend.tree_size(raw),
        lambda: backend.create_multipart(raw, 1),
    ]


@pytest.mark.parametrize("raw", ATTACKS)
async def test_every_method_rejects_attacks(backend: S3ArtifactBackend, raw: str) -> None:
    for operation in _operations(backend, raw):
        with pytest.raises(MlflowError) as caught:
            result = operation()
            if isinstance(result, Awaitable):
                await result
        assert code_of(caught) == INVALID_PARAMETER_VALUE, raw


async def test_write_read_list_delete(moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend) -> None:
    await backend.write("run/artifacts/model/MLmodel", body(b"flavors: {}\n"))
    await backend.write("run/artifacts/model/data/weights.bin", body(b"w" * 10, b"w" * 5))
    await backend.write("run/artifacts/notes.txt", body(b""))
    assert keys(moto_server, bucket, backend.prefix) == [
        f"{backend.prefix}/run/artifacts/model/MLmodel",
        f"{backend.prefix}/run/artifacts/model/data/weights.bin",
        f"{backend.prefix}/run/artifacts/notes.txt",
    ]
    assert backend.list("run/artifacts") == [
        FileInfo("model", True, None),
        FileInfo("notes.txt", False, 0),
    ]
    assert backend.list("run/artifacts/model/") == [FileInfo("MLmodel", False, 12), FileInfo("data", True, None)]
    assert backend.list("") == [FileInfo("run", True, None)]
    assert backend.list("run/artifacts/notes.txt") == []  # a file lists as nothing, like a missing folder
    assert backend.list("nothing/here") == []
    assert await read_all(backend, "run/artifacts/model/data/weights.bin") == b"w" * 15
    assert await read_all(backend, "run/artifacts/notes.txt") == b""
    reader = await backend.read("run/artifacts/notes.txt")
    assert (reader.size, reader.content_type) == (0, "text/plain")
    await reader.aclose()
    assert backend.read_small("run/artifacts/model/MLmodel", 100) == b"flavors: {}\n"
    assert backend.read_small("run/artifacts/notes.txt", 100) == b""
    with pytest.raises(MlflowError, match="larger than"):
        backend.read_small("run/artifacts/model/MLmodel", 5)
    assert backend.tree_size("run") == 27
    assert backend.tree_size("") == 27
    assert backend.exists("") and backend.exists("run/artifacts") and backend.exists("run/artifacts/notes.txt")
    assert not backend.exists("run/art")  # prefixes are compared segment-wise
    # deleting a folder removes everything below it, and nothing beside it
    await backend.write("run/artifacts/model-2", body(b"beside"))
    backend.delete("run/artifacts/model")
    assert backend.list("run/artifacts") == [FileInfo("model-2", False, 6), FileInfo("notes.txt", False, 0)]
    backend.delete("run/artifacts/notes.txt")
    backend.delete("never/was")  # silently, as the reference
    assert backend.list("run/artifacts") == [FileInfo("model-2", False, 6)]
    with pytest.raises(MlflowError):
        backend.delete("")


async def test_deleting_many_objects_is_batched(
    moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend
) -> None:
    client = moto_server.client()
    for n in range(1005):  # more than one DeleteObjects batch (1000)
        client.put_object(Bucket=bucket, Key=f"{backend.prefix}/many/f{n:04d}", Body=b"x")
    assert backend.tree_size("many") == 1005
    backend.delete("many")
    assert keys(moto_server, bucket, backend.prefix) == []


async def test_missing_and_directory_reads(backend: S3ArtifactBackend) -> None:
    await backend.write("dir/f", body(b"x"))
    for read in (lambda p: backend.read(p), lambda p: anyio.to_thread.run_sync(backend.read_small, p, 10)):
        with pytest.raises(MlflowError) as caught:
            await read("missing.txt")
        assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
        with pytest.raises(MlflowError, match="refers to a directory") as caught:
            await read("dir")
        assert code_of(caught) == INVALID_PARAMETER_VALUE


async def test_write_rules_match_the_local_backend(backend: S3ArtifactBackend) -> None:
    await backend.write("dir/f", body(b"x"))
    with pytest.raises(MlflowError, match="existing directory"):
        await backend.write("dir", body(b"y"))
    with pytest.raises(MlflowError, match="parent of it is an existing file"):
        await backend.write("dir/f/below", body(b"y"))
    with pytest.raises(MlflowError):
        await backend.write("", body(b"y"))
    await backend.write("dir/f", body(b"replaced"))
    assert await read_all(backend, "dir/f") == b"replaced"


async def test_open_reader_keeps_its_snapshot(backend: S3ArtifactBackend) -> None:
    await backend.write("f", body(b"old" * 1000))
    reader = await backend.read("f")
    await backend.write("f", body(b"new" * 1000))
    assert b"".join([c async for c in reader.chunks(100)]) == b"old" * 1000


async def test_private_name_is_hidden_and_reserved(
    moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend
) -> None:
    moto_server.client().put_object(Bucket=bucket, Key=f"{backend.prefix}/{PRIVATE_DIR_NAME}/x", Body=b"x")
    await backend.write("visible", body(b"v"))
    assert backend.list("") == [FileInfo("visible", False, 1)]
    assert backend.tree_size("") == 1


# -- streamed writes: atomic, aborted on failure ----------------------------------------


def _blocks(count: int, size: int = MiB) -> Callable[[], AsyncIterator[bytes]]:
    async def generate() -> AsyncIterator[bytes]:
        for n in range(count):
            yield bytes([n % 251]) * size

    return generate


async def test_large_write_is_a_multipart_upload(
    moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend
) -> None:
    total = 12 * MiB  # 5 + 5 + 2 MiB parts
    written = await backend.write("big.bin", _blocks(12)())
    assert written == total
    expected = b"".join([chunk async for chunk in _blocks(12)()])
    assert await read_all(backend, "big.bin") == expected
    head = moto_server.client().head_object(Bucket=bucket, Key=f"{backend.prefix}/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # S3 marks an object assembled from 3 parts
    assert open_uploads(moto_server, bucket, backend.prefix) == []


async def test_failed_large_write_leaves_nothing(
    moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend
) -> None:
    await backend.write("big.bin", body(b"previous"))
    chunks = [bytes(MiB)] * 11
    with pytest.raises(OSError, match="gone"):
        await backend.write("big.bin", failing_body(chunks, OSError("gone")))
    assert await read_all(backend, "big.bin") == b"previous"
    assert open_uploads(moto_server, bucket, backend.prefix) == []
    with pytest.raises(OSError):
        await backend.write("small.bin", failing_body([b"x"], OSError("gone")))
    assert not backend.exists("small.bin")


async def test_cancelled_large_write_is_aborted(
    moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend
) -> None:
    started = anyio.Event()

    async def endless() -> AsyncIterator[bytes]:
        n = 0
        while True:
            n += 1
            if n == 8:  # past the first part: a multipart upload is open
                started.set()
            yield bytes(MiB)
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(backend.write, "cancelled.bin", endless())
        await started.wait()
        await anyio.sleep(0.3)
        tg.cancel_scope.cancel()
    assert not backend.exists("cancelled.bin")
    assert open_uploads(moto_server, bucket, backend.prefix) == []


async def test_large_streamed_write_and_read_keep_memory_flat(moto_server: MotoServer, bucket: str) -> None:
    backend = S3ArtifactBackend(bucket, f"mem/{secrets.token_hex(4)}", moto_server.client())  # 8 MiB parts
    total = 64 * MiB
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assert await backend.write("blob.bin", _blocks(total // MiB)()) == total
        reader = await backend.read("blob.bin")
        seen = 0
        async for chunk in reader.chunks():
            seen += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == total == reader.size
    # one part being filled, one joined, one in flight: about 3 x 8 MiB whatever the size
    assert peak < 40 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"


# -- multipart uploads through the mpu endpoints ------------------------------------------


async def test_multipart_happy_path(moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend) -> None:
    parts = [b"a" * PART, b"b" * PART, b"c" * 10]
    upload_id = backend.create_multipart("run/artifacts/big.bin", 3)
    # another process holding only the id continues the upload: no state lives in the backend
    other = S3ArtifactBackend(bucket, backend.prefix, moto_server.client())
    assert other.multipart_target(upload_id) == "run/artifacts/big.bin"
    etags = {}
    for number in (3, 1, 2):
        etags[number] = await other.write_part(upload_id, number, body(parts[number - 1]))
        assert etags[number] == md5(parts[number - 1])
    assert not backend.exists("run/artifacts/big.bin")  # invisible until completed
    await backend.complete_multipart(
        upload_id, "run/artifacts/big.bin", [(2, f'"{etags[2]}"'), (1, etags[1]), (3, etags[3])]
    )
    assert await read_all(backend, "run/artifacts/big.bin") == b"".join(parts)
    assert open_uploads(moto_server, bucket, backend.prefix) == []
    with pytest.raises(MlflowError) as caught:
        backend.multipart_target(upload_id)
    assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
    backend.abort_multipart(upload_id)  # a finished upload: no-op


async def test_multipart_etag_mismatch_keeps_the_upload_open(backend: S3ArtifactBackend) -> None:
    await backend.write("f.bin", body(b"previous"))
    upload_id = backend.create_multipart("f.bin", 2)
    e1 = await backend.write_part(upload_id, 1, body(b"1" * PART))
    e2 = await backend.write_part(upload_id, 2, body(b"two"))
    for bad in ([(1, e1), (2, md5(b"other"))], [(1, e1), (2, "")]):
        with pytest.raises(MlflowError, match="etag") as caught:
            await backend.complete_multipart(upload_id, "f.bin", bad)
        assert code_of(caught) == INVALID_PARAMETER_VALUE
    assert await read_all(backend, "f.bin") == b"previous"
    await backend.complete_multipart(upload_id, "f.bin", [(1, e1), (2, e2)])
    assert await read_all(backend, "f.bin") == b"1" * PART + b"two"


async def test_multipart_small_parts_are_a_clear_refusal(backend: S3ArtifactBackend) -> None:
    upload_id = backend.create_multipart("f.bin", 2)
    parts = [(n, await backend.write_part(upload_id, n, body(b"tiny"))) for n in (1, 2)]
    with pytest.raises(MlflowError, match="at least 5 MiB") as caught:
        await backend.complete_multipart(upload_id, "f.bin", parts)
    assert code_of(caught) == INVALID_PARAMETER_VALUE
    backend.abort_multipart(upload_id)


async def test_multipart_abort(moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend) -> None:
    upload_id = backend.create_multipart("f.bin", 2)
    await backend.write_part(upload_id, 1, body(b"x"))
    assert open_uploads(moto_server, bucket, backend.prefix) == [f"{backend.prefix}/f.bin"]
    backend.abort_multipart(upload_id)
    assert open_uploads(moto_server, bucket, backend.prefix) == []
    assert not backend.exists("f.bin")
    with pytest.raises(MlflowError) as caught:
        await backend.write_part(upload_id, 2, body(b"x"))
    assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(MlflowError) as caught:
        backend.multipart_target(upload_id)
    assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
    backend.abort_multipart(upload_id)  # idempotent


async def test_multipart_validation(backend: S3ArtifactBackend) -> None:
    await backend.write("dir/f", body(b"x"))
    for num_parts in (0, -1, 10_001, True):
        with pytest.raises(MlflowError, match="num_parts"):
            backend.create_multipart("f.bin", num_parts)
    with pytest.raises(MlflowError, match="existing directory"):
        backend.create_multipart("dir", 1)
    upload_id = backend.create_multipart("f.bin", 2)
    for number in (0, 3, -1):
        with pytest.raises(MlflowError, match="part number"):
            await backend.write_part(upload_id, number, body(b"x"))
    etag = await backend.write_part(upload_id, 1, body(b"x"))
    with pytest.raises(MlflowError, match="created for"):
        await backend.complete_multipart(upload_id, "other.bin", [(1, etag)])
    with pytest.raises(MlflowError, match="at least one part"):
        await backend.complete_multipart(upload_id, "f.bin", [])
    with pytest.raises(MlflowError, match="more than once"):
        await backend.complete_multipart(upload_id, "f.bin", [(1, etag), (1, etag)])
    await backend.complete_multipart(upload_id, "./f.bin", [(1, etag)])  # the same path once cleaned
    assert await read_all(backend, "f.bin") == b"x"


def _forged(backend: S3ArtifactBackend, upload_id: str, path: str) -> str:
    """The upload id with another path in it (what a client could send)."""
    import base64
    import json

    raw = json.loads(base64.urlsafe_b64decode(upload_id + "=" * (-len(upload_id) % 4)))
    raw[0] = path
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


@pytest.mark.parametrize("upload_id", ["", "../x", "0" * 32, "a/b", "%2e%2e", "eyJ4Ijoy"])
async def test_malformed_upload_ids_are_refused(backend: S3ArtifactBackend, upload_id: str) -> None:
    for operation in (
        lambda: backend.write_part(upload_id, 1, body(b"x")),
        lambda: backend.complete_multipart(upload_id, "f", [(1, md5(b"x"))]),
        lambda: anyio.to_thread.run_sync(backend.abort_multipart, upload_id),
        lambda: anyio.to_thread.run_sync(backend.multipart_target, upload_id),
    ):
        with pytest.raises(MlflowError, match="upload id") as caught:
            await operation()
        assert code_of(caught) == INVALID_PARAMETER_VALUE


async def test_an_altered_upload_id_reaches_no_other_path(
    moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend
) -> None:
    upload_id = backend.create_multipart("mine.bin", 1)
    for path in ("other.bin", f"{PRIVATE_DIR_NAME}/x", "../escape"):
        forged = _forged(backend, upload_id, path)
        with pytest.raises(MlflowError) as caught:
            backend.multipart_target(forged)
        assert code_of(caught) in (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE), path
    # the same id in another workspace's backend (another prefix) is unknown there
    elsewhere = S3ArtifactBackend(bucket, f"{backend.prefix}-other", moto_server.client())
    with pytest.raises(MlflowError) as caught:
        elsewhere.multipart_target(upload_id)
    assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
    backend.abort_multipart(upload_id)


async def test_purge_stale_aborts_old_uploads_only(
    moto_server: MotoServer, bucket: str, backend: S3ArtifactBackend
) -> None:
    backend.create_multipart("pending.bin", 1)
    # moto reports every upload as initiated on 2010-11-10: an age limit reaching back past that
    # date keeps it, a shorter one aborts it.
    since_2000 = datetime.datetime.now(datetime.timezone.utc) - datetime.datetime(
        2000, 1, 1, tzinfo=datetime.timezone.utc
    )
    assert backend.purge_stale(since_2000.total_seconds()) == 0
    assert open_uploads(moto_server, bucket, backend.prefix) == [f"{backend.prefix}/pending.bin"]
    assert backend.purge_stale(3600) == 1
    assert open_uploads(moto_server, bucket, backend.prefix) == []


async def test_remove_all_empties_the_prefix_only(moto_server: MotoServer, bucket: str) -> None:
    client = moto_server.client()
    base = f"ws/{secrets.token_hex(4)}"
    mine = S3ArtifactBackend(bucket, f"{base}/a", client)
    beside = S3ArtifactBackend(bucket, f"{base}/ab", client)
    await mine.write("x/y", body(b"1"))
    await beside.write("z", body(b"2"))
    mine.create_multipart("pending", 1)
    mine.remove_all()
    assert keys(moto_server, bucket, base) == [f"{base}/ab/z"]
    assert open_uploads(moto_server, bucket, base) == []
    with pytest.raises(MlflowError, match="whole S3 bucket"):
        S3ArtifactBackend(bucket, "", client).remove_all()


# -- configuration and failures -------------------------------------------------------------


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    yield


def test_the_client_comes_from_the_standard_environment(aws_env: None, bucket: str) -> None:
    assert check_bucket(new_client(), bucket) is None
    reason = check_bucket(new_client(), "no-such-bucket-here")
    assert reason is not None and "no-such-bucket-here" in reason and "does not exist" in reason


async def test_a_missing_bucket_is_a_clear_error_without_secrets(moto_server: MotoServer) -> None:
    backend = S3ArtifactBackend("no-such-bucket-here", "p", moto_server.client())
    for operation in (
        lambda: backend.write("f", body(b"x")),
        lambda: backend.read("f"),
        lambda: anyio.to_thread.run_sync(backend.list, ""),
    ):
        with pytest.raises(MlflowError) as caught:
            await operation()
        assert "no-such-bucket-here" in caught.value.message
        assert "testing-secret" not in caught.value.message
        assert code_of(caught) in (INVALID_STATE, RESOURCE_DOES_NOT_EXIST)


def test_an_unreachable_endpoint_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer) -> None:
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    from tests.conftest import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    reason = check_bucket(new_client(), "any-bucket")
    assert reason is not None and "unreachable" in reason
