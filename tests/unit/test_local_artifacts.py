"""Tests for runyard.artifacts.local.LocalArtifactBackend."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

import anyio
import pytest

from runyard.artifacts import FileInfo, LocalArtifactBackend, guess_content_type
from runyard.artifacts.local import PRIVATE_DIR_NAME
from runyard.domain.errors import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, MlflowError

pytestmark = pytest.mark.anyio

MiB = 1 << 20

# A representative cut of the CVE attack strings (the full list is in test_artifact_paths.py).
ATTACKS = [
    "../../../../etc/passwd",
    "a/../../etc/passwd",
    "a/..//../etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%252e%252e%252f",
    "%252e%252e%252fetc%252fpasswd",
    "a;/../../etc/passwd",
    "..;/..;/etc/passwd",
    "x#../../",
    "#../../etc/passwd",
    "?../x",
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "s3://bucket/key",
    "/etc/passwd",
    "//host/share",
    "%2fetc%2fpasswd",
    "..\\..\\",
    "..\\..\\windows\\win.ini",
    "..%5c..%5cwin.ini",
    "C:/Windows/win.ini",
    "C:\\Windows\\win.ini",
    "c:foo",
    "a\x00b",
    "a%00.txt",
    "a\nb",
    "...",
    ".. ",
    "\uff0e\uff0e\uff0fetc",
    # the backend's private area, in any spelling
    PRIVATE_DIR_NAME,
    f"{PRIVATE_DIR_NAME}/tmp",
    f"./{PRIVATE_DIR_NAME}/x",
    f"//{PRIVATE_DIR_NAME}/x",
    ".RUNYARD-UPLOADS/x",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def backend(tmp_path: Path) -> LocalArtifactBackend:
    return LocalArtifactBackend(tmp_path / "artifacts")


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        await anyio.sleep(0)
        yield chunk


async def failing_body(chunks: Iterable[bytes], exc: BaseException) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    raise exc


async def read_all(backend: LocalArtifactBackend, path: str, chunk_size: int = MiB) -> bytes:
    reader = await backend.read(path)
    return b"".join([chunk async for chunk in reader.chunks(chunk_size)])


def tmp_files(backend: LocalArtifactBackend) -> list[Path]:
    return [p for p in (backend.root / PRIVATE_DIR_NAME).rglob("*") if p.is_file()]


def code_of(exc: pytest.ExceptionInfo[MlflowError]) -> str:
    return exc.value.error_code


# -- path safety on every method -----------------------------------------------------------


def _operations(backend: LocalArtifactBackend, raw: str) -> list[Callable[[], Awaitable[object] | object]]:
    return [
        lambda: backend.write(raw, body(b"x")),
        lambda: backend.read(raw),
        lambda: backend.list(raw),
        lambda: backend.delete(raw),
        lambda: backend.exists(raw),
        lambda: backend.create_multipart(raw, 1),
    ]


@pytest.mark.parametrize("raw", ATTACKS)
async def test_every_method_rejects_attacks(backend: LocalArtifactBackend, raw: str) -> None:
    (backend.root / "a").mkdir()
    for operation in _operations(backend, raw):
        with pytest.raises(MlflowError) as caught:
            result = operation()
            if isinstance(result, Awaitable):
                await result
        assert code_of(caught) == INVALID_PARAMETER_VALUE, raw
    upload_id = backend.create_multipart("ok.bin", 1)
    etag = await backend.write_part(upload_id, 1, body(b"data"))
    with pytest.raises(MlflowError) as caught:
        await backend.complete_multipart(upload_id, raw, [(1, etag)])
    assert code_of(caught) == INVALID_PARAMETER_VALUE
    # nothing escaped the root, nothing leaked into it
    assert sorted(p.name for p in backend.root.parent.iterdir()) == ["artifacts"]
    assert backend.list("") == [FileInfo("a", True, None)]


async def test_symlink_escaping_root_is_refused(tmp_path: Path, backend: LocalArtifactBackend) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    os.symlink(outside, backend.root / "link")
    os.symlink(outside / "secret.txt", backend.root / "secret-link")
    for rel in ["link/secret.txt", "secret-link"]:
        with pytest.raises(MlflowError, match="outside"):
            await backend.read(rel)
    with pytest.raises(MlflowError, match="outside"):
        await backend.write("link/new.txt", body(b"x"))
    with pytest.raises(MlflowError, match="outside"):
        await backend.write("secret-link", body(b"x"))
    with pytest.raises(MlflowError, match="outside"):
        backend.list("link")
    with pytest.raises(MlflowError, match="outside"):
        backend.delete("link/secret.txt")
    assert not (outside / "new.txt").exists()
    assert (outside / "secret.txt").read_bytes() == b"secret"
    # the listing does not reveal escaping links; deleting the link removes only the link
    assert backend.list("") == []
    backend.delete("link")
    assert not (backend.root / "link").exists()
    assert (outside / "secret.txt").exists()


async def test_symlink_into_private_area_is_refused(backend: LocalArtifactBackend) -> None:
    os.symlink(backend.root / PRIVATE_DIR_NAME, backend.root / "sneaky")
    os.symlink(backend.root, backend.root / "self")
    for rel in ["sneaky", "sneaky/tmp", "self/.runyard-uploads"]:
        with pytest.raises(MlflowError, match="reserved"):
            backend.list(rel)
        with pytest.raises(MlflowError, match="reserved"):
            await backend.write(f"{rel}/x", body(b"x"))
    with pytest.raises(MlflowError, match="reserved"):
        backend.delete("self/.runyard-uploads")
    assert (backend.root / PRIVATE_DIR_NAME / "tmp").is_dir()
    assert [info.path for info in backend.list("")] == ["self"]


# -- write / read --------------------------------------------------------------------------


async def test_write_then_read_roundtrip(backend: LocalArtifactBackend) -> None:
    written = await backend.write("1/run/artifacts/model/model.pkl", body(b"abc", b"", b"defg"))
    assert written == 7
    assert (backend.root / "1/run/artifacts/model/model.pkl").read_bytes() == b"abcdefg"
    assert await read_all(backend, "1/run/artifacts/model/model.pkl") == b"abcdefg"
    assert await read_all(backend, "1//run/./artifacts/model/model.pkl/", chunk_size=2) == b"abcdefg"
    reader = await backend.read("1/run/artifacts/model/model.pkl")
    assert reader.size == 7
    assert reader.content_type == "application/octet-stream"
    assert reader.mtime == pytest.approx(os.stat(backend.root / "1/run/artifacts/model/model.pkl").st_mtime)
    await reader.aclose()
    assert tmp_files(backend) == []


async def test_read_chunk_sizes(backend: LocalArtifactBackend) -> None:
    await backend.write("f", body(b"0123456789"))
    reader = await backend.read("f")
    assert [c async for c in reader.chunks(4)] == [b"0123", b"4567", b"89"]
    with pytest.raises(RuntimeError):
        async for _ in reader.chunks():
            pass


async def test_empty_file(backend: LocalArtifactBackend) -> None:
    assert await backend.write("empty", body()) == 0
    reader = await backend.read("empty")
    assert reader.size == 0
    assert [c async for c in reader.chunks()] == []


async def test_overwrite_replaces_content(backend: LocalArtifactBackend) -> None:
    await backend.write("f.txt", body(b"old content"))
    await backend.write("f.txt", body(b"new"))
    assert await read_all(backend, "f.txt") == b"new"


async def test_open_reader_keeps_its_snapshot(backend: LocalArtifactBackend) -> None:
    await backend.write("f", body(b"A" * 100))
    reader = await backend.read("f")
    await backend.write("f", body(b"B" * 10))
    assert b"".join([c async for c in reader.chunks()]) == b"A" * 100
    assert await read_all(backend, "f") == b"B" * 10


async def test_read_missing_is_not_found(backend: LocalArtifactBackend) -> None:
    for rel in ["missing.txt", "no/such/dir/file", "file/below/file"]:
        if rel == "file/below/file":
            await backend.write("file", body(b"x"))
        with pytest.raises(MlflowError) as caught:
            await backend.read(rel)
        assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
        assert caught.value.http_status == 404


async def test_read_directory_is_invalid_like_the_reference(backend: LocalArtifactBackend) -> None:
    await backend.write("dir/f", body(b"x"))
    for rel in ["dir", ""]:
        with pytest.raises(MlflowError, match="directory, not a file") as caught:
            await backend.read(rel)
        assert code_of(caught) == INVALID_PARAMETER_VALUE


async def test_read_fifo_is_refused(backend: LocalArtifactBackend) -> None:
    os.mkfifo(backend.root / "pipe")
    with pytest.raises(MlflowError, match="regular file"):
        await backend.read("pipe")


async def test_write_onto_directory_is_invalid(backend: LocalArtifactBackend) -> None:
    await backend.write("dir/f", body(b"x"))
    with pytest.raises(MlflowError, match="existing directory") as caught:
        await backend.write("dir", body(b"y"))
    assert code_of(caught) == INVALID_PARAMETER_VALUE
    assert (backend.root / "dir" / "f").read_bytes() == b"x"
    assert tmp_files(backend) == []


async def test_write_below_a_file_is_invalid(backend: LocalArtifactBackend) -> None:
    await backend.write("f", body(b"x"))
    for rel in ["f/g", "f/g/h"]:
        with pytest.raises(MlflowError, match="parent of it is an existing file"):
            await backend.write(rel, body(b"y"))
    assert tmp_files(backend) == []


async def test_write_to_root_is_invalid(backend: LocalArtifactBackend) -> None:
    for rel in ["", ".", "./"]:
        with pytest.raises(MlflowError):
            await backend.write(rel, body(b"x"))


async def test_failed_write_leaves_no_file_and_no_temp(backend: LocalArtifactBackend) -> None:
    with pytest.raises(ConnectionResetError):
        await backend.write("a/b/f.bin", failing_body([b"x" * 1000] * 3, ConnectionResetError("client gone")))
    assert not (backend.root / "a" / "b" / "f.bin").exists()
    assert not backend.exists("a/b/f.bin")
    assert tmp_files(backend) == []


async def test_failed_replacement_keeps_previous_file(backend: LocalArtifactBackend) -> None:
    await backend.write("f.bin", body(b"previous"))
    before = os.stat(backend.root / "f.bin")
    with pytest.raises(ValueError):
        await backend.write("f.bin", failing_body([b"new" * 1000], ValueError("boom")))
    assert await read_all(backend, "f.bin") == b"previous"
    assert os.stat(backend.root / "f.bin").st_ino == before.st_ino
    assert tmp_files(backend) == []


async def test_cancelled_write_leaves_no_file_and_no_temp(backend: LocalArtifactBackend) -> None:
    await backend.write("f.bin", body(b"previous"))
    started = anyio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"partial data"
        started.set()
        await anyio.sleep_forever()
        yield b"never"  # pragma: no cover

    async with anyio.create_task_group() as tg:
        tg.start_soon(backend.write, "f.bin", stalled())
        tg.start_soon(backend.write, "other.bin", stalled())
        await started.wait()
        await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    assert await read_all(backend, "f.bin") == b"previous"
    assert not backend.exists("other.bin")
    assert tmp_files(backend) == []


# -- content types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("model/MLmodel", "text/plain"),
        ("MLproject", "application/octet-stream"),  # the reference matches 'mlproject' exactly
        ("mlproject", "text/plain"),
        ("conda.yaml", "text/plain"),
        ("a.yml", "text/plain"),
        ("notes.txt", "text/plain"),
        ("m.json", "text/plain"),
        ("run.log", "text/plain"),
        ("README.md", "text/plain"),
        ("train.py", "text/plain"),
        ("data.csv", "text/plain"),
        ("plot.png", "image/png"),
        ("page.html", "text/html"),
        ("archive.tar.gz", "application/x-tar"),
        ("model.pkl", "application/octet-stream"),
        ("noextension", "application/octet-stream"),
    ],
)
def test_content_type(name: str, expected: str) -> None:
    assert guess_content_type(name) == expected


async def test_reader_content_type(backend: LocalArtifactBackend) -> None:
    await backend.write("model/MLmodel", body(b"flavors: {}"))
    reader = await backend.read("model/MLmodel")
    assert reader.content_type == "text/plain"
    await reader.aclose()


# -- list ----------------------------------------------------------------------------------


async def test_list_shapes(backend: LocalArtifactBackend) -> None:
    await backend.write("run/artifacts/b.txt", body(b"12345"))
    await backend.write("run/artifacts/a.bin", body(b"1"))
    await backend.write("run/artifacts/model/MLmodel", body(b"x"))
    await backend.write("run/artifacts/.hidden", body(b""))
    assert backend.list("run/artifacts") == [
        FileInfo(".hidden", False, 0),
        FileInfo("a.bin", False, 1),
        FileInfo("b.txt", False, 5),
        FileInfo("model", True, None),
    ]
    assert backend.list("run/artifacts/model") == [FileInfo("MLmodel", False, 1)]
    assert backend.list("run//artifacts/./model/") == [FileInfo("MLmodel", False, 1)]
    assert backend.list("") == [FileInfo("run", True, None)]


async def test_list_root_hides_private_area(backend: LocalArtifactBackend) -> None:
    upload_id = backend.create_multipart("big.bin", 2)
    await backend.write_part(upload_id, 1, body(b"x"))
    assert (backend.root / PRIVATE_DIR_NAME / upload_id).is_dir()
    assert backend.list("") == []
    assert backend.list(".") == []


async def test_list_file_or_missing_is_empty(backend: LocalArtifactBackend) -> None:
    await backend.write("dir/f.txt", body(b"x"))
    assert backend.list("dir/f.txt") == []
    assert backend.list("missing") == []
    assert backend.list("dir/f.txt/below") == []


async def test_list_skips_dangling_symlinks(backend: LocalArtifactBackend) -> None:
    await backend.write("f", body(b"x"))
    os.symlink(backend.root / "gone", backend.root / "dangling")
    os.symlink(backend.root / "f", backend.root / "alias")
    assert backend.list("") == [FileInfo("alias", False, 1), FileInfo("f", False, 1)]


# -- delete / exists -----------------------------------------------------------------------


async def test_delete_file(backend: LocalArtifactBackend) -> None:
    await backend.write("d/f", body(b"x"))
    await backend.write("d/g", body(b"y"))
    backend.delete("d/f")
    assert not backend.exists("d/f")
    assert backend.list("d") == [FileInfo("g", False, 1)]


async def test_delete_tree(backend: LocalArtifactBackend) -> None:
    await backend.write("run/artifacts/model/MLmodel", body(b"x"))
    await backend.write("run/artifacts/model/data/w.bin", body(b"y"))
    await backend.write("run/keep", body(b"z"))
    backend.delete("run/artifacts")
    assert not backend.exists("run/artifacts")
    assert backend.list("run") == [FileInfo("keep", False, 1)]


def test_delete_missing_is_silent_like_the_reference(backend: LocalArtifactBackend) -> None:
    backend.delete("never/existed")
    backend.delete("missing.txt")


async def test_delete_below_a_file_is_silent(backend: LocalArtifactBackend) -> None:
    await backend.write("f", body(b"x"))
    backend.delete("f/g")
    assert backend.exists("f")


def test_delete_root_is_refused(backend: LocalArtifactBackend) -> None:
    for rel in ["", ".", "./", "//"]:
        with pytest.raises(MlflowError) as caught:
            backend.delete(rel)
        assert code_of(caught) == INVALID_PARAMETER_VALUE
    assert backend.root.is_dir()


async def test_exists(backend: LocalArtifactBackend) -> None:
    await backend.write("d/f", body(b"x"))
    assert backend.exists("")
    assert backend.exists("d")
    assert backend.exists("d/f")
    assert not backend.exists("d/g")


def test_root_is_created(tmp_path: Path) -> None:
    backend = LocalArtifactBackend(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    assert backend.list("") == []


# -- multipart -----------------------------------------------------------------------------


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


async def test_multipart_happy_path(backend: LocalArtifactBackend) -> None:
    parts = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    upload_id = backend.create_multipart("run/artifacts/big.bin", 3)
    assert len(upload_id) == 32
    etags = {}
    for number in (3, 1, 2):  # any upload order
        etags[number] = await backend.write_part(upload_id, number, body(parts[number - 1]))
        assert etags[number] == md5(parts[number - 1])
    assert not backend.exists("run/artifacts/big.bin")
    # parts listed out of order, etags quoted as HTTP clients echo them
    await backend.complete_multipart(
        upload_id, "run/artifacts/big.bin", [(2, f'"{etags[2]}"'), (1, etags[1].upper()), (3, etags[3])]
    )
    assert await read_all(backend, "run/artifacts/big.bin") == b"".join(parts)
    assert not (backend.root / PRIVATE_DIR_NAME / upload_id).exists()
    assert tmp_files(backend) == []
    # the upload is gone: completing or writing again is not found, abort is a no-op
    with pytest.raises(MlflowError) as caught:
        await backend.write_part(upload_id, 1, body(b"x"))
    assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
    backend.abort_multipart(upload_id)


async def test_multipart_reuploaded_part_replaces_the_old_one(backend: LocalArtifactBackend) -> None:
    upload_id = backend.create_multipart("f", 1)
    old = await backend.write_part(upload_id, 1, body(b"old"))
    new = await backend.write_part(upload_id, 1, body(b"new"))
    with pytest.raises(MlflowError, match="etag"):
        await backend.complete_multipart(upload_id, "f", [(1, old)])
    await backend.complete_multipart(upload_id, "f", [(1, new)])
    assert await read_all(backend, "f") == b"new"


async def test_multipart_etag_mismatch(backend: LocalArtifactBackend) -> None:
    await backend.write("f.bin", body(b"previous"))
    upload_id = backend.create_multipart("f.bin", 2)
    e1 = await backend.write_part(upload_id, 1, body(b"one"))
    e2 = await backend.write_part(upload_id, 2, body(b"two"))
    for bad in ([(1, e1), (2, md5(b"other"))], [(1, e1), (2, "not-an-etag")], [(1, e1), (2, "")]):
        with pytest.raises(MlflowError, match="etag") as caught:
            await backend.complete_multipart(upload_id, "f.bin", bad)
        assert code_of(caught) == INVALID_PARAMETER_VALUE
    # nothing was published and the upload is still open
    assert await read_all(backend, "f.bin") == b"previous"
    await backend.complete_multipart(upload_id, "f.bin", [(1, e1), (2, e2)])
    assert await read_all(backend, "f.bin") == b"onetwo"


async def test_multipart_corrupted_part_is_detected(backend: LocalArtifactBackend) -> None:
    upload_id = backend.create_multipart("f.bin", 1)
    etag = await backend.write_part(upload_id, 1, body(b"good"))
    (backend.root / PRIVATE_DIR_NAME / upload_id / f"part-00001.{etag}").write_bytes(b"evil")
    with pytest.raises(MlflowError, match="corrupt"):
        await backend.complete_multipart(upload_id, "f.bin", [(1, etag)])
    assert not backend.exists("f.bin")
    assert [p for p in tmp_files(backend) if p.parent.name == "tmp"] == []


async def test_multipart_abort(backend: LocalArtifactBackend) -> None:
    upload_id = backend.create_multipart("f.bin", 2)
    await backend.write_part(upload_id, 1, body(b"x"))
    backend.abort_multipart(upload_id)
    assert not (backend.root / PRIVATE_DIR_NAME / upload_id).exists()
    assert not backend.exists("f.bin")
    with pytest.raises(MlflowError) as caught:
        await backend.complete_multipart(upload_id, "f.bin", [(1, md5(b"x"))])
    assert code_of(caught) == RESOURCE_DOES_NOT_EXIST
    backend.abort_multipart(upload_id)  # idempotent


async def test_multipart_validation(backend: LocalArtifactBackend) -> None:
    await backend.write("dir/f", body(b"x"))
    for num_parts in (0, -1, 10_001, True):
        with pytest.raises(MlflowError, match="num_parts"):
            backend.create_multipart("f.bin", num_parts)
    with pytest.raises(MlflowError, match="existing directory"):
        backend.create_multipart("dir", 1)
    with pytest.raises(MlflowError):
        backend.create_multipart("", 1)
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
    with pytest.raises(MlflowError, match="not uploaded"):
        await backend.complete_multipart(upload_id, "f.bin", [(1, etag), (2, etag)])
    await backend.complete_multipart(upload_id, "./f.bin", [(1, etag)])  # same path once cleaned
    assert await read_all(backend, "f.bin") == b"x"


@pytest.mark.parametrize(
    "upload_id",
    [
        "",
        "../x",
        "..",
        "tmp",
        "ABCDEF0123456789ABCDEF0123456789",
        "0" * 31,
        "0" * 33,
        "0" * 31 + "/",
        "g" * 32,
    ],
)
async def test_upload_ids_are_validated_before_touching_disk(backend: LocalArtifactBackend, upload_id: str) -> None:
    with pytest.raises(MlflowError, match="upload id") as caught:
        await backend.write_part(upload_id, 1, body(b"x"))
    assert code_of(caught) == INVALID_PARAMETER_VALUE
    with pytest.raises(MlflowError, match="upload id"):
        await backend.complete_multipart(upload_id, "f", [(1, md5(b"x"))])
    with pytest.raises(MlflowError, match="upload id"):
        backend.abort_multipart(upload_id)
    assert (backend.root / PRIVATE_DIR_NAME / "tmp").is_dir()


async def test_unknown_upload_id_is_not_found(backend: LocalArtifactBackend) -> None:
    with pytest.raises(MlflowError) as caught:
        await backend.write_part("0" * 32, 1, body(b"x"))
    assert code_of(caught) == RESOURCE_DOES_NOT_EXIST


async def test_failed_part_upload_leaves_no_temp(backend: LocalArtifactBackend) -> None:
    upload_id = backend.create_multipart("f", 1)
    with pytest.raises(OSError):
        await backend.write_part(upload_id, 1, failing_body([b"x"], OSError("gone")))
    assert [p.name for p in (backend.root / PRIVATE_DIR_NAME / upload_id).iterdir()] == ["meta.json"]
    assert [p for p in tmp_files(backend) if p.parent.name == "tmp"] == []


def test_purge_stale(backend: LocalArtifactBackend) -> None:
    upload_id = backend.create_multipart("f", 1)
    stale_tmp = backend.root / PRIVATE_DIR_NAME / "tmp" / "dead.tmp"
    stale_tmp.write_bytes(b"x")
    assert backend.purge_stale(3600) == 0
    old = 1_000_000_000
    os.utime(stale_tmp, (old, old))
    os.utime(backend.root / PRIVATE_DIR_NAME / upload_id, (old, old))
    assert backend.purge_stale(3600) == 2
    assert not stale_tmp.exists()
    assert not (backend.root / PRIVATE_DIR_NAME / upload_id).exists()
    assert (backend.root / PRIVATE_DIR_NAME / "tmp").is_dir()


# -- memory --------------------------------------------------------------------------------


async def test_large_streamed_write_and_read_keep_memory_flat(backend: LocalArtifactBackend) -> None:
    total = 50 * MiB
    block = bytes(range(256)) * (MiB // 256)

    async def generate() -> AsyncIterator[bytes]:
        for _ in range(total // MiB):
            yield bytes(block)  # a fresh chunk each time, as a network read would produce

    expected = hashlib.sha256()
    for _ in range(total // MiB):
        expected.update(block)

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        written = await backend.write("big/blob.bin", generate())
        reader = await backend.read("big/blob.bin")
        actual = hashlib.sha256()
        seen = 0
        async for chunk in reader.chunks():
            actual.update(chunk)
            seen += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == total == seen == reader.size
    assert actual.digest() == expected.digest()
    assert peak < 8 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"


async def test_large_multipart_keeps_memory_flat(backend: LocalArtifactBackend) -> None:
    part_size = 8 * MiB
    block = b"z" * MiB

    async def part() -> AsyncIterator[bytes]:
        for _ in range(part_size // MiB):
            yield bytes(block)

    upload_id = backend.create_multipart("big.bin", 3)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        etags = [(n, await backend.write_part(upload_id, n, part())) for n in (1, 2, 3)]
        await backend.complete_multipart(upload_id, "big.bin", etags)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert os.path.getsize(backend.root / "big.bin") == 3 * part_size
    assert peak < 8 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
