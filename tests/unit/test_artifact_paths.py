"""Tests for runyard.artifacts.paths: traversal attacks are refused, ordinary names pass."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runyard.artifacts.paths import clean_relative_path, join_within
from runyard.domain.errors import INVALID_PARAMETER_VALUE, MlflowError

# Artifact paths as the router hands them over (already URL-decoded once).  Collected from the
# MLflow path-traversal CVEs and their bypasses, plus the generic forms they build on.
ATTACKS = [
    # CVE-2023-1177: plain '..' traversal
    "../../../../etc/passwd",
    "..",
    "../",
    "a/..",
    "a/../b",
    "a/../../etc/passwd",
    "./../x",
    # CVE-2023-2780: bypasses with doubled or mixed separators
    "a/..//../etc/passwd",
    "a//..//..//etc/passwd",
    "....//....//etc/passwd",
    # CVE-2024-1560: percent-encoded traversal (single and double encoding)
    "%2e%2e/%2e%2e/etc/passwd",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "..%2f..%2fetc%2fpasswd",
    ".%2e/x",
    "%2e./x",
    "%252e%252e%252f",
    "%252e%252e%252fetc%252fpasswd",
    "%25252e%25252e%25252f",
    "%25%32%65%25%32%65/x",
    "a/%2e%2e",
    # CVE-2024-1593: smuggling through ';' URL parameters
    "a;/../../etc/passwd",
    "..;/..;/etc/passwd",
    "x;../../etc",
    "a%3b/../b",
    # CVE-2023-6909 / CVE-2024-3573 family: '#' fragments and URI schemes
    "x#../../",
    "x#/../../etc/passwd",
    "#../../etc/passwd",
    "a%23../../etc",
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "file:/etc/passwd",
    "FILE:///etc/passwd",
    "file:%2f%2f%2fetc%2fpasswd",
    "s3://bucket/key",
    "http://evil.example/x",
    # query smuggling
    "?../x",
    "a?b=../../c",
    "a%3f/../x",
    # absolute paths
    "/etc/passwd",
    "//etc/passwd",
    "//host/share",
    "/",
    "%2fetc%2fpasswd",
    "%252fetc%252fpasswd",
    # Windows: backslashes, drive letters, UNC
    "..\\..\\",
    "..\\..\\windows\\win.ini",
    "a\\b",
    "..%5c..%5cwin.ini",
    "%255c..%255c",
    "C:/Windows/win.ini",
    "C:\\Windows\\win.ini",
    "c:",
    "c:foo",
    "a/C:/x",
    "\\\\server\\share",
    "\\\\?\\C:\\x",
    # NUL and control characters, raw and encoded
    "a\x00b",
    "a%00.txt",
    "a%2500.txt",
    "a\nb",
    "a\rb",
    "a\tb",
    "a\x7fb",
    "a\x85b",
    "a%0a",
    # Windows trims trailing dots and spaces, so these can become '..'
    "...",
    ".. ",
    ". .",
    "a/... /b",
    # Unicode look-alikes that NFKC-normalise to traversal
    "\u2025/etc/passwd",
    "\uff0e\uff0e\uff0fetc",
    "a\uff3cb",
    # lone surrogates cannot name a file
    "a\ud800b",
]

SAFE_NAMES = [
    ("model.pkl", "model.pkl"),
    ("a..b", "a..b"),
    ("a..", "a.."),
    ("..a", "..a"),
    (".hidden", ".hidden"),
    ("my file.txt", "my file.txt"),
    ("résumé/数据.csv", "résumé/数据.csv"),
    ("a=b+c@d,e", "a=b+c@d,e"),
    ("100%", "100%"),
    ("a%20b", "a%20b"),
    ("a%2fb", "a%2fb"),
    ("a%zz", "a%zz"),
    ("epoch:3.ckpt", "epoch:3.ckpt"),
    ("logs/12:30:00.log", "logs/12:30:00.log"),
    ("~/x", "~/x"),
    ("(1)[2]{3}!$&'", "(1)[2]{3}!$&'"),
    ("emoji 🚀.png", "emoji 🚀.png"),
    ("1/abc123/artifacts/model/MLmodel", "1/abc123/artifacts/model/MLmodel"),
]


@pytest.mark.parametrize("raw", ATTACKS)
def test_attacks_are_rejected(raw: str) -> None:
    with pytest.raises(MlflowError) as caught:
        clean_relative_path(raw)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    assert caught.value.http_status == 400
    assert caught.value.message.startswith("Invalid path '")


@pytest.mark.parametrize(("raw", "expected"), SAFE_NAMES)
def test_ordinary_names_pass_unchanged(raw: str, expected: str) -> None:
    assert clean_relative_path(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        (".", ""),
        ("./", ""),
        ("./a", "a"),
        ("a/", "a"),
        ("a//b", "a/b"),
        ("a/./b/.", "a/b"),
        ("a///b//c/", "a/b/c"),
    ],
)
def test_dot_segments_and_repeated_slashes_are_normalised(raw: str, expected: str) -> None:
    assert clean_relative_path(raw) == expected


def test_error_names_path_and_reason() -> None:
    with pytest.raises(MlflowError) as caught:
        clean_relative_path("%252e%252e%252fsecret")
    assert "%252e%252e%252fsecret" in caught.value.message
    assert "'..'" in caught.value.message
    assert "percent-decoding" in caught.value.message


def test_control_characters_are_escaped_in_the_message() -> None:
    with pytest.raises(MlflowError) as caught:
        clean_relative_path("a\x00b\nc")
    assert "\x00" not in caught.value.message and "\n" not in caught.value.message
    assert "\\x00" in caught.value.message


def test_excessive_encoding_is_rejected() -> None:
    raw = "x"
    for _ in range(12):
        raw = raw.replace("%", "%25") if "%" in raw else "%78"
    with pytest.raises(MlflowError, match="percent-encoding"):
        clean_relative_path(raw)


def test_length_limits() -> None:
    assert clean_relative_path("a" * 255) == "a" * 255
    with pytest.raises(MlflowError, match="255 bytes"):
        clean_relative_path("a" * 256)
    with pytest.raises(MlflowError, match="255 bytes"):
        clean_relative_path("é" * 128)  # 256 UTF-8 bytes
    with pytest.raises(MlflowError, match="4096 bytes"):
        clean_relative_path("/".join(["a" * 200] * 21))


def test_non_string_is_rejected() -> None:
    with pytest.raises(MlflowError):
        clean_relative_path(b"abc")  # type: ignore[arg-type]  # the wrong type is what is tested


_SAFE_PUNCTUATION = " ._-=+@,()[]!~'&$"


def _is_safe_segment(segment: str) -> bool:
    folded = unicodedata.normalize("NFKC", segment)
    return (
        segment.strip(". ") != ""
        and "/" not in folded
        and "\\" not in folded
        and "#" not in segment
        and len(segment.encode("utf-8")) <= 255
    )


_segments = st.text(
    alphabet=st.one_of(
        st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Nd")),
        st.sampled_from(_SAFE_PUNCTUATION),
    ),
    min_size=1,
    max_size=30,
).filter(_is_safe_segment)


@given(st.lists(_segments, min_size=1, max_size=8))
def test_safe_segments_survive_cleaning_unchanged(segments: list[str]) -> None:
    path = "/".join(segments)
    assert clean_relative_path(path) == path


@given(st.lists(_segments, min_size=1, max_size=4), st.integers(min_value=0, max_value=3))
def test_inserting_dotdot_is_always_rejected(segments: list[str], position: int) -> None:
    segments.insert(min(position, len(segments)), "..")
    with pytest.raises(MlflowError):
        clean_relative_path("/".join(segments))


# -- join_within ---------------------------------------------------------------------------


def test_join_within_plain(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    assert join_within(root, "a/b.txt") == root.resolve() / "a" / "b.txt"
    assert join_within(root, "") == root.resolve()


@pytest.mark.parametrize("raw", ["../x", "/etc/passwd", "%2e%2e/x", "a\\..\\..\\x"])
def test_join_within_recleans(tmp_path: Path, raw: str) -> None:
    with pytest.raises(MlflowError):
        join_within(tmp_path, raw)


def test_join_within_refuses_symlink_escaping_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.txt", root / "file-link")
    os.symlink(tmp_path / "nowhere", root / "dangling")
    for rel in ["link", "link/secret.txt", "link/new.txt", "file-link", "dangling", "dangling/x"]:
        with pytest.raises(MlflowError, match="outside the artifact root"):
            join_within(root, rel)


def test_join_within_allows_symlink_inside_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    os.symlink(root / "real", root / "alias")
    assert join_within(root, "alias/x") == (root / "real" / "x").resolve()


def test_join_within_symlink_loop_is_invalid(tmp_path: Path) -> None:
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(MlflowError):
        join_within(tmp_path, "loop/x")
