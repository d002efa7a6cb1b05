"""The one artifact download response: every endpoint that sends an artifact's bytes uses it
(`/mlflow-artifacts/artifacts/<path>`, `/get-artifact`, `/model-versions/get-artifact`, the logged
models' `artifacts/files`).

Headers as the reference server sends them, because MLflow's own tests and the UI parse them:
- `Content-Disposition: attachment; filename=<name>` — the name bare when it is an HTTP token,
  else quoted (`"with space.txt"`, `\\` and `"` escaped); a name with non-ASCII characters gets an
  ASCII fallback (NFKD, non-ASCII dropped, `download` if nothing is left) in `filename=` and the
  exact name in `filename*=UTF-8''<percent-encoded>` beside it (RFC 6266 / RFC 5987).
- `Content-Type` exactly as the reference computes it (`text/plain` for its text extensions, with
  no `charset` parameter), except that HTML, SVG, JavaScript and XML types are sent as `text/plain`
  with `Content-Security-Policy: sandbox` (README: deliberate differences).
"""

from __future__ import annotations

import posixpath
import unicodedata
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate
from typing import Final
from urllib.parse import quote

from starlette.responses import StreamingResponse

from runyard.artifacts.base import ArtifactReader

# Served as text so a stored page or script can never run in the server's origin.
ACTIVE_CONTENT: Final = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/javascript",
        "text/javascript",
        "application/xml",
        "text/xml",
    }
)

ChunkFilter = Callable[[AsyncIterator[bytes]], AsyncIterator[bytes]]

# RFC 7230 token characters: a filename made only of these is sent without quotes.
_TOKEN_CHARS: Final = frozenset("!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~")
# RFC 5987 attr-chars besides letters and digits: left as they are in `filename*`.
_ATTR_SAFE: Final = "!#$&+-.^_`|~"


def _quoted(value: str) -> str:
    if value and _TOKEN_CHARS.issuperset(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def content_disposition(filename: str) -> str:
    """`attachment; filename=...` for `filename`, with `filename*=UTF-8''...` when it is not ASCII."""
    if filename.isascii():
        return f"attachment; filename={_quoted(filename)}"
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii") or "download"
    return f"attachment; filename={_quoted(fallback)}; filename*=UTF-8''{quote(filename, safe=_ATTR_SAFE)}"


def served_content_type(content_type: str) -> str:
    """The Content-Type an artifact is sent with: the backend's guess, active content as text."""
    return "text/plain" if content_type in ACTIVE_CONTENT else content_type


class _ArtifactResponse(StreamingResponse):
    """A streamed body whose Content-Type is sent exactly as given: Starlette would append
    `; charset=utf-8` to every `text/*` type, which the reference does not."""

    def __init__(self, reader: ArtifactReader, filename: str, chunks: ChunkFilter | None) -> None:
        super().__init__(reader.chunks() if chunks is None else chunks(reader.chunks()))
        self.headers["Content-Type"] = served_content_type(reader.content_type)
        self.headers["Content-Length"] = str(reader.size)
        self.headers["Content-Disposition"] = content_disposition(filename)
        self.headers["X-Content-Type-Options"] = "nosniff"
        self.headers["Content-Security-Policy"] = "sandbox"
        self.headers["Last-Modified"] = formatdate(reader.mtime, usegmt=True)


def artifact_response(reader: ArtifactReader, path: str, chunks: ChunkFilter | None = None) -> StreamingResponse:
    """Stream an opened artifact as an attachment named after the last segment of `path`; `chunks`
    sees the bytes on their way out (the metrics count them)."""
    return _ArtifactResponse(reader, posixpath.basename(path.rstrip("/")) or "artifact", chunks)
