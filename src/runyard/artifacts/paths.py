"""Safe artifact paths: validation of untrusted relative paths and containment-checked joins.

Every artifact path that arrives over HTTP goes through :func:`clean_relative_path` before any
backend touches storage.  The rules are deliberately at least as strict as the reference
server's ``mlflow.utils.uri.validate_path_is_safe`` (the fix for CVE-2023-1177, CVE-2023-2356,
CVE-2023-2780, CVE-2024-1560, CVE-2024-1593 and CVE-2024-3573):

* the path is percent-decoded repeatedly until it stops changing (the router has already
  decoded it once, so ``%252e%252e%252f`` arrives as ``%2e%2e%2f``), and the raw form and every
  decoded form are checked;
* rejected in any form: ``..`` segments, absolute paths (``/etc/passwd``, ``//host/share``),
  URI schemes (``file:///``, ``s3://``), Windows drive letters (``C:``) and backslashes, control
  characters (including NUL) and lone surrogates, and the URL delimiters ``#`` (fragment),
  ``;`` (parameters) and ``?`` (query), which are where the CVE bypasses were smuggled;
* also rejected: segments made only of dots and spaces other than ``.`` (Windows trims
  trailing dots and spaces, so ``.. `` or ``...`` can become ``..``), segments whose NFKC form
  is ``..`` or contains a slash (U+2025 two-dot leader, fullwidth U+FF0E U+FF0F), a segment
  longer than 255 UTF-8 bytes and a path longer than 4096 bytes.

Ordinary names stay as they are: spaces, unicode, ``model.pkl``, ``a..b``, ``=``, ``+``, ``@``,
``,``, ``100%``.  The returned path is the raw path, *not* a decoded one (a file really called
``a%20b`` keeps its name); ``.`` segments, empty segments and a trailing slash are dropped.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from pathlib import Path
from typing import Final

from runyard.domain.errors import MlflowError, invalid

__all__ = [
    "MAX_PATH_BYTES",
    "MAX_SEGMENT_BYTES",
    "PRIVATE_DIR_NAME",
    "clean_backend_path",
    "clean_relative_path",
    "is_private_name",
    "join_within",
]

MAX_SEGMENT_BYTES: Final = 255
# Every backend keeps its upload state under this first segment; no artifact path may name it.
PRIVATE_DIR_NAME: Final = ".runyard-uploads"
MAX_PATH_BYTES: Final = 4096
_MAX_DECODE_ROUNDS: Final = 10

# A URI scheme followed by a slash (file:///x, s3://b/k, http://h) or any file: URI.
_SCHEME_RE: Final = re.compile(r"^(?:[a-z][a-z0-9+.\-]*:/|file:)", re.IGNORECASE)
# A Windows drive designator at the start of a segment (C:, C:foo, c:\).
_DRIVE_RE: Final = re.compile(r"^[a-z]:", re.IGNORECASE)
# A segment made only of dots and spaces (other than "." itself, which is normalised away).
_DOTS_RE: Final = re.compile(r"^[. ]+$")
_URL_DELIMITERS: Final = {"#": "a '#' fragment", ";": "a ';' parameter", "?": "a '?' query"}


def _show(raw: str) -> str:
    """Render an untrusted path for an error message: control characters escaped, length capped."""
    shown = "".join(f"\\x{ord(c):02x}" if ord(c) < 0x100 and unicodedata.category(c) == "Cc" else c for c in raw[:200])
    shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return shown + ("..." if len(raw) > 200 else "")


def _reject(raw: str, reason: str) -> MlflowError:
    # "Invalid path" first: the reference's whole message, which MLflow's own tests look for.
    return invalid(f"Invalid path '{_show(raw)}': {reason}")


def _decoded_forms(raw: str) -> list[str]:
    """The raw path followed by each further percent-decoding of it, until it is stable."""
    forms = [raw]
    current = raw
    for _ in range(_MAX_DECODE_ROUNDS):
        decoded = urllib.parse.unquote(current)
        if decoded == current:
            return forms
        forms.append(decoded)
        current = decoded
    raise _reject(raw, "too many levels of percent-encoding")


def _check_structure(raw: str, form: str, what: str) -> None:
    """Traversal checks that apply to every decoded form and to its NFKC normalisation."""
    if "\\" in form:
        raise _reject(raw, f"backslashes are not allowed{what}")
    if form.startswith("/"):
        raise _reject(raw, f"absolute paths are not allowed{what}")
    for segment in form.split("/"):
        if segment == "..":
            raise _reject(raw, f"'..' segments are not allowed{what}")
        if _DRIVE_RE.match(segment):
            raise _reject(raw, f"Windows drive letters are not allowed{what}")
        if segment != "." and _DOTS_RE.match(segment):
            raise _reject(raw, f"a segment made only of dots and spaces is not allowed{what}")
    if _SCHEME_RE.match(form):
        raise _reject(raw, f"URIs are not allowed, only relative paths{what}")


def _check_form(raw: str, form: str, level: int) -> None:
    what = "" if level == 0 else f" (after {level} level(s) of percent-decoding)"
    for char in form:
        category = unicodedata.category(char)
        if category == "Cc":
            raise _reject(raw, f"control characters are not allowed{what}")
        if category == "Cs":
            raise _reject(raw, f"unpaired surrogates are not allowed{what}")
    for delimiter, name in _URL_DELIMITERS.items():
        if delimiter in form:
            raise _reject(raw, f"{name} is not allowed{what}")
    _check_structure(raw, form, what)
    normalised = unicodedata.normalize("NFKC", form)
    if normalised != form:
        _check_structure(raw, normalised, f"{what} (after Unicode NFKC normalisation)")


def clean_relative_path(raw: str) -> str:
    """Validate an untrusted artifact path and return its normalised POSIX relative form.

    ``''`` (and ``'.'``, ``'./'``) mean the root.  Raises ``invalid()`` (INVALID_PARAMETER_VALUE)
    naming the path and the reason when the path could escape its root or smuggles URL syntax.
    """
    if not isinstance(raw, str):
        raise invalid(f"Invalid artifact path {raw!r}: expected a string")
    for level, form in enumerate(_decoded_forms(raw)):
        _check_form(raw, form, level)
    segments = [segment for segment in raw.split("/") if segment not in ("", ".")]
    for segment in segments:
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _reject(raw, f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes")
    cleaned = "/".join(segments)
    if len(cleaned.encode("utf-8")) > MAX_PATH_BYTES:
        raise _reject(raw, f"the path is longer than {MAX_PATH_BYTES} bytes")
    return cleaned


def join_within(root: Path, rel: str) -> Path:
    """Join a relative path onto ``root``, resolve symlinks, and prove the result stays inside.

    ``rel`` is cleaned with :func:`clean_relative_path` again (callers are not trusted).  Every
    existing component is resolved, including a final symlink, even a dangling one; the result
    must be ``root`` itself or lie beneath it, otherwise ``invalid()`` is raised.  Returns the
    resolved path.
    """
    cleaned = clean_relative_path(rel)
    real_root = root.resolve()
    target = real_root.joinpath(*cleaned.split("/")) if cleaned else real_root
    try:
        real_target = target.resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops: RuntimeError before 3.13, OSError after
        raise _reject(rel, "it cannot be resolved (symlink loop?)") from exc
    if not real_target.is_relative_to(real_root):
        raise _reject(rel, "it resolves to a location outside the artifact root")
    return real_target


def _fold(name: str) -> str:
    """A name as a case-insensitive, normalisation-insensitive file system would compare it."""
    return unicodedata.normalize("NFKC", name).casefold()


def is_private_name(name: str) -> bool:
    """Whether a first path segment names the backends' reserved upload area."""
    return _fold(name) == _fold(PRIVATE_DIR_NAME)


def clean_backend_path(path: str, *, allow_root: bool) -> str:
    """:func:`clean_relative_path`, plus the rules every backend applies: the root only where the
    operation allows it, never the reserved upload area."""
    cleaned = clean_relative_path(path)
    if not cleaned and not allow_root:
        raise invalid("Invalid artifact path '': this operation needs a path below the root")
    if cleaned and is_private_name(cleaned.split("/", 1)[0]):
        raise invalid(f"Invalid artifact path '{cleaned}': '{PRIVATE_DIR_NAME}' is reserved")
    return cleaned
