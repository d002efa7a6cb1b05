"""Text the mirror client builds from data it did not choose: artifact paths under a target's
proxied artifact API, and search filters matching one tag value.

Artifact URIs: only `mlflow-artifacts:/<path>` and `mlflow-artifacts://<host:port>/<path>` name
files the target serves through `/api/2.0/mlflow-artifacts/artifacts/<path>`; any other scheme (a
local folder, `s3://…`) means the target does not proxy artifacts and the client cannot write
them. Relative paths are `/`-separated, never absolute, never `..`; every segment is
percent-encoded on the wire.

Filters: the MLflow filter grammar has no escape inside a quoted value, so a value holding a
single quote is written in double quotes where the grammar allows it, and otherwise matched with
a `LIKE` pattern in which each quote or backslash is the one-character wildcard `_`; the caller
keeps only exact matches.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from runyard.mirror.target_errors import TargetError

ARTIFACTS_SCHEME: Final = "mlflow-artifacts:"
ARTIFACTS_API: Final = "/api/2.0/mlflow-artifacts/artifacts"
# Characters a quoted value cannot hold, and the LIKE escape character of PostgreSQL.
_LIKE_UNSAFE: Final = re.compile(r"['\"\\]")


def _refuse(message: str) -> TargetError:
    return TargetError(message, transient=False)


def _segments(path: str, what: str) -> list[str]:
    if "\\" in path or "\x00" in path:
        raise _refuse(f"Invalid {what} {path[:200]!r}: backslashes and NUL characters are not allowed.")
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise _refuse(f"Invalid {what} {path[:200]!r}: '..' segments are not allowed.")
    return segments


def proxied_root(artifact_uri: str) -> str:
    """The path below the artifact API that `artifact_uri` names (`1/<run>/artifacts`)."""
    if not artifact_uri.startswith(ARTIFACTS_SCHEME):
        scheme = artifact_uri.split(":", 1)[0] + ":" if re.match(r"^[A-Za-z][\w+.-]*:", artifact_uri) else "a path"
        raise _refuse(
            f"The target does not proxy artifacts: its artifact location {artifact_uri[:200]!r} is {scheme} "
            f"instead of {ARTIFACTS_SCHEME}/… (start the target with --serve-artifacts / --artifacts-destination)."
        )
    rest = artifact_uri[len(ARTIFACTS_SCHEME) :]
    if rest.startswith("//"):  # mlflow-artifacts://host:port/path: the host is the target itself
        rest = rest[2:].partition("/")[2]
    return "/".join(_segments(rest.split("?", 1)[0].split("#", 1)[0], "artifact URI"))


def relative_path(rel_path: str, *, allow_empty: bool = False) -> str:
    """`rel_path` cleaned: no empty or `.` segments; absolute paths and `..` refused."""
    if rel_path.startswith("/") or re.match(r"^[A-Za-z]:", rel_path):
        raise _refuse(f"Invalid artifact path {rel_path[:200]!r}: it must be relative.")
    segments = _segments(rel_path, "artifact path")
    if not segments and not allow_empty:
        raise _refuse("Invalid artifact path '': a file path is needed.")
    return "/".join(segments)


def join(root: str, rel_path: str) -> str:
    return f"{root}/{rel_path}" if root and rel_path else root or rel_path


def quote_path(path: str) -> str:
    """Every segment percent-encoded (`/` stays the separator)."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


def quote_segment(text: str) -> str:
    """One path segment percent-encoded, `/` included (an id or a tag key in a URL path)."""
    return quote(text, safe="")


def artifact_url_path(artifact_uri: str, rel_path: str) -> str:
    """`/api/2.0/mlflow-artifacts/artifacts/<root>/<rel_path>`, quoted."""
    return f"{ARTIFACTS_API}/{quote_path(join(proxied_root(artifact_uri), relative_path(rel_path)))}"


def tag_filter(key: str, value: str, *, double_quoted_values: bool) -> str:
    """A filter matching `tags.<key> = <value>`, or a superset of it (see the module docstring)."""
    if "`" not in key:
        subject = f"tags.`{key}`"
    elif '"' not in key:
        subject = f'tags."{key}"'
    else:
        raise _refuse(f"Cannot search for tag key {key[:200]!r}: it holds both a backtick and a double quote.")
    if "'" not in value:
        return f"{subject} = '{value}'"
    if double_quoted_values and '"' not in value:
        return f'{subject} = "{value}"'
    pattern = _LIKE_UNSAFE.sub("_", value)
    return f"{subject} LIKE '{pattern}'"
