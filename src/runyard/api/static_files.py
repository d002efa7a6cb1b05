"""Files of a built web application served from one folder: a fixed content-type table, long
caching for content-hashed names, revalidation for the rest, no directory listings, and paths
that cannot leave the folder.

Every answer carries `X-Content-Type-Options: nosniff`, so a browser never runs a file as
something its declared type does not say it is. A missing file is an MLflow-shaped 404, like
every other error the server answers.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from runyard.api.http import error_response
from runyard.domain.errors import ENDPOINT_NOT_FOUND, MlflowError

NOSNIFF: Final = {"X-Content-Type-Options": "nosniff"}

# A year, and never revalidated: the name changes whenever the content does.
IMMUTABLE: Final = "public, max-age=31536000, immutable"
# Anything else (index.html, manifest.json, favicon.ico) is checked with the server each time
# (a 304 when it has not changed), so a new UI version is picked up on the next load.
REVALIDATE: Final = "no-cache"

# Types by suffix, written out rather than read from the host's mime.types, which differs between
# machines (and on some maps `.js` to `application/x-javascript`).
CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".wasm": "application/wasm",
}
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"

# A dot-separated part of 8 or more hex digits (`main.c2f5f8d4.js`, `4181.d01e9cd5.chunk.js`,
# `logo.fad9a31861b0afba6f92.svg`, `main.c2f5f8d4.js.LICENSE.txt`): the build's content hash.
_HASHED_NAME: Final = re.compile(r"\.[0-9a-f]{8,}\.", re.IGNORECASE)
_MAX_PATH_CHARS: Final = 1024


def content_type(name: str) -> str:
    return CONTENT_TYPES.get(os.path.splitext(name)[1].lower(), DEFAULT_CONTENT_TYPE)


def cache_control(name: str) -> str:
    return IMMUTABLE if _HASHED_NAME.search(name) else REVALIDATE


def not_found(message: str) -> Response:
    response = error_response(MlflowError(message, ENDPOINT_NOT_FOUND))
    response.headers.update(NOSNIFF)
    return response


class StaticFolder:
    """The files below `root`, addressed by URL paths relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def resolve(self, relative: str) -> tuple[Path, os.stat_result] | None:
        """The regular file `relative` names inside the folder, or None: for a missing file, a
        directory, and any path that is absolute, has `..`, empty or hidden (`.name`) segments,
        a backslash or a control character, or leads outside the folder through a link."""
        if not relative or len(relative) > _MAX_PATH_CHARS or "\\" in relative:
            return None
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in relative):
            return None
        parts = relative.split("/")
        if any(not part or part.startswith(".") for part in parts):
            return None
        candidate = self.root.joinpath(*parts)
        try:
            real = candidate.resolve(strict=True)
            info = real.stat()
        except (OSError, RuntimeError):
            return None
        if not stat.S_ISREG(info.st_mode) or not real.is_relative_to(self.root):
            return None
        return real, info

    def response(self, request: Request, relative: str) -> Response:
        """The file as a response (304 if the browser's copy is current), or a 404."""
        found = self.resolve(relative)
        if found is None:
            return not_found(f"No file {request.url.path}")
        path, info = found
        headers = {**NOSNIFF, "Cache-Control": cache_control(path.name)}
        file = FileResponse(path, media_type=content_type(path.name), headers=headers, stat_result=info)
        etag = file.headers.get("etag")
        if etag and _matches(request.headers.get("if-none-match"), etag):
            kept = {k: v for k, v in file.headers.items() if k in ("etag", "last-modified", "cache-control")}
            return Response(status_code=304, headers={**kept, **NOSNIFF})
        return file


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags
