"""Where a set of artifacts lives: a local folder or a key prefix in an S3 bucket.

The one place that reads the URIs operators and clients give for artifact storage
(`--artifacts-destination`, `--default-artifact-root`, a workspace's `--artifact-root`,
`--allowed-artifact-roots`): a path or `file:` URI is a :class:`LocalFolder`, `s3://bucket/prefix`
an :class:`S3Prefix`; every other scheme (`gs:`, `wasbs:`, `hdfs:`, `ftp:`, `http:`, ...) is refused
with a message naming it.  Services compare and derive locations through these values and never
handle scheme strings themselves.

Containment is segment-wise: `s3://b/ab` does not lie inside `s3://b/a`, exactly as `/data/ab` does
not lie inside `/data/a`.  Local folders are compared as given; call :meth:`resolved` first to see
through symlinks and `..`.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from runyard.artifacts.paths import clean_relative_path
from runyard.domain.errors import MlflowError

__all__ = ["ArtifactLocation", "LocalFolder", "LocationError", "S3Prefix", "overlap", "parse_location"]

S3_SCHEME: Final = "s3"
# S3's rules for bucket names (general purpose buckets): 3-63 characters, lowercase letters,
# digits, dots and hyphens, starting and ending with a letter or digit.
_BUCKET_RE: Final = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
SUPPORTED: Final = "give a local folder (a path or file:///path) or an S3 bucket (s3://bucket/prefix)"


class LocationError(ValueError):
    """A location that names no storage Runyard can use; the message says why and what would do."""


@dataclass(frozen=True)
class LocalFolder:
    """A folder on this machine (or a mount of it)."""

    path: str

    def child(self, *segments: str) -> LocalFolder:
        return LocalFolder(os.path.join(self.path, *segments))

    def resolved(self) -> LocalFolder:
        """The folder with symlinks and `..` resolved, for comparing with other folders."""
        return LocalFolder(os.path.realpath(self.path))

    def contains(self, other: ArtifactLocation) -> bool:
        """Whether `other` is this folder or lies below it."""
        return isinstance(other, LocalFolder) and Path(other.path).is_relative_to(Path(self.path))

    @property
    def uri(self) -> str:
        return self.path

    def describe(self) -> str:
        return f"local folder {self.path}"


@dataclass(frozen=True)
class S3Prefix:
    """The keys of one bucket below a prefix (`''`: the whole bucket; never a leading or trailing `/`)."""

    bucket: str
    prefix: str = ""

    def child(self, *segments: str) -> S3Prefix:
        return S3Prefix(self.bucket, posixpath.join(self.prefix, *segments) if self.prefix else "/".join(segments))

    def resolved(self) -> S3Prefix:
        return self

    def contains(self, other: ArtifactLocation) -> bool:
        if not isinstance(other, S3Prefix) or other.bucket != self.bucket:
            return False
        return not self.prefix or other.prefix == self.prefix or other.prefix.startswith(self.prefix + "/")

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def describe(self) -> str:
        return f"S3 bucket {self.uri}"


ArtifactLocation = LocalFolder | S3Prefix


def overlap(a: ArtifactLocation, b: ArtifactLocation) -> bool:
    """Whether one of the two locations lies inside the other (or they are the same)."""
    return a.contains(b) or b.contains(a)


def _s3(text: str) -> S3Prefix:
    parts = urlsplit(text)
    if not text.startswith("s3://") or parts.query or parts.fragment or "@" in parts.netloc:
        raise LocationError(f"'{text}': an S3 location is written s3://bucket or s3://bucket/prefix")
    bucket = parts.netloc
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise LocationError(
            f"'{text}': '{bucket}' is not a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)"
        )
    try:
        prefix = clean_relative_path(parts.path.lstrip("/"))
    except MlflowError as e:
        raise LocationError(f"'{text}': the key prefix is not a safe path ({e.message})") from None
    return S3Prefix(bucket, prefix)


def parse_location(text: str) -> ArtifactLocation:
    """The location `text` names; raises :class:`LocationError` for an empty value or another scheme.

    A local path is returned as given (relative or not): whoever needs an absolute folder checks."""
    if not text.strip():
        raise LocationError("an empty value names no location")
    text = text.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    # One letter before a colon is a Windows drive, not a scheme.
    if len(scheme) <= 1:
        if "\x00" in text:
            raise LocationError("a folder name must not contain NUL characters")
        return LocalFolder(text)
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path or parts.query or parts.fragment:
            raise LocationError(f"'{text}': a file URI must name a local folder, e.g. file:///data/artifacts")
        return LocalFolder(unquote(parts.path))
    if scheme == S3_SCHEME:
        return _s3(text)
    raise LocationError(f"'{text}': '{parts.scheme}:' artifact stores are not supported; {SUPPORTED}")
