"""Model-version sources: what a version may point at, checked before anything is written (DESIGN §5).

A version's `source` may only name the artifacts of its own run or logged model, or another version
of the caller's registry; every location it resolves to is one the server itself issued (a run's or
logged model's artifact URI). Accepted forms:

- `runs:/<run_id>[/<path>]` with the request's `run_id` equal to `<run_id>`;
- `models:/<model_id>` with the request's `model_id` equal to `<model_id>`;
- `models:/<name>/<version|stage|latest>` and `models:/<name>@<alias>`: a version of this registry
  (its lineage is copied; a `run_id`/`model_id` given with it must match);
- any other URI that lies inside the artifact URI of the request's logged model (`model_id`) or,
  without one, of its run (`run_id`) — e.g. `mlflow-artifacts:/<exp>/<run>/artifacts/model`.

Refused, with 400 INVALID_PARAMETER_VALUE: empty and `file:` schemes (local paths), percent-encoded
text (so `%2e%2e`, double encoding and encoded separators cannot hide), `.`/`..` and empty path
segments, backslashes, control characters, `;` parameters, `?` queries and `#` fragments, a host part
on `runs:`/`models:`, a run or logged model that is not the request's (or is outside the caller's
workspace), and any location outside the run's or logged model's artifact root. This is stricter
than the reference server's `_validate_source_run`/`_validate_source_model`, which it includes.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import Connection

from runyard.domain.entities import ACTIVE
from runyard.domain.errors import MlflowError, invalid
from runyard.domain.permissions import READ
from runyard.domain.validation import missing_value_message, validate_length
from runyard.services.context import RequestContext
from runyard.services.registry import (
    LATEST_ALIAS,
    MAX_SOURCE_LENGTH,
    canonical_stage,
    parse_version,
    validate_model_name,
)
from runyard.store import logged_models as lm_store
from runyard.store import registry as reg_store
from runyard.store import runs as run_store

_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")
_ID_RE: Final = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_FORBIDDEN_CHARS: Final = ("\\", ";", "?", "#")

SourceKind = Literal["run", "logged_model", "registry", "location"]


@dataclass(frozen=True)
class ParsedSource:
    """A syntactically safe source: its kind and the parts the resolution needs."""

    raw: str
    kind: SourceKind
    scheme: str
    authority: str
    parts: tuple[str, ...]  # path segments, no empty/./.. ones
    ident: str = ""  # run id, logged model id, or registered model name
    selector: str = ""  # registry: version number, stage or "latest"
    alias: str = ""  # registry: alias


@dataclass(frozen=True)
class ResolvedSource:
    """What a new version records: its source, where its artifacts are, and its lineage."""

    source: str
    storage_location: str
    run_id: str | None
    model_id: str | None


def refuse(source: str, reason: str) -> MlflowError:
    return invalid(f"Invalid model version source: '{source}'. {reason}")


def parse_source(source: str | None) -> ParsedSource:
    """Check the text of a source without looking anything up."""
    if source is None or source == "":
        raise invalid(missing_value_message("source"))
    validate_length("source", source, MAX_SOURCE_LENGTH)
    if _CONTROL_RE.search(source):
        raise refuse(source, "Sources must not contain control characters.")
    if urllib.parse.unquote(source) != source:
        raise refuse(source, "Percent-encoded characters are not allowed in a model version source.")
    if any(c in source for c in _FORBIDDEN_CHARS):
        raise refuse(source, "Sources must not contain backslashes, parameters (;), queries (?) or fragments (#).")
    split = urllib.parse.urlsplit(source, allow_fragments=False)
    scheme = split.scheme.lower()
    if len(scheme) <= 1:  # no scheme, or a Windows drive letter
        raise refuse(source, "Local paths are not allowed: use a runs:/, models:/ or server-issued artifact URI.")
    if scheme == "file":
        raise refuse(source, "file: URIs are not allowed: use a runs:/, models:/ or server-issued artifact URI.")
    path = split.path
    if path.endswith("/") and len(path) > 1:
        path = path[:-1]
    if not path.startswith("/"):
        raise refuse(source, "The source must be an absolute URI (scheme:/path).")
    parts = tuple(path[1:].split("/")) if len(path) > 1 else ()
    if any(p in ("", ".", "..") for p in parts):
        raise refuse(source, "Relative path references ('.', '..') and empty path segments are not allowed.")
    authority = split.netloc.lower()
    if scheme == "runs":
        if authority:
            raise refuse(source, "runs:/ sources cannot name a host.")
        if not parts or not _ID_RE.match(parts[0]):
            raise refuse(source, "runs:/ sources have the form runs:/<run_id>/<path>.")
        return ParsedSource(source, "run", scheme, "", parts, ident=parts[0])
    if scheme == "models":
        if authority:
            raise refuse(source, "models:/ sources cannot name a host: they must use this model registry.")
        return _parse_models_uri(source, parts)
    return ParsedSource(source, "location", scheme, authority, parts)


def _parse_models_uri(source: str, parts: tuple[str, ...]) -> ParsedSource:
    if len(parts) == 1 and "@" in parts[0]:
        name, _, alias = parts[0].rpartition("@")
        if not name or not alias:
            raise refuse(source, "Alias sources have the form models:/<name>@<alias>.")
        return ParsedSource(source, "registry", "models", "", parts, ident=name, alias=alias)
    if len(parts) == 1:
        if not _ID_RE.match(parts[0]):
            raise refuse(source, "models:/ sources have the form models:/<model_id> or models:/<name>/<version>.")
        return ParsedSource(source, "logged_model", "models", "", parts, ident=parts[0])
    if len(parts) == 2:
        return ParsedSource(source, "registry", "models", "", parts, ident=parts[0], selector=parts[1])
    raise refuse(source, "models:/ sources have the form models:/<model_id> or models:/<name>/<version>.")


def _within(parsed: ParsedSource, root: str) -> bool:
    """Whether the source lies inside `root` (a server-issued artifact URI), segment by segment."""
    split = urllib.parse.urlsplit(root)
    root_parts = tuple(p for p in split.path.split("/") if p)
    return (
        bool(root_parts)
        and parsed.scheme == split.scheme.lower()
        and parsed.authority == split.netloc.lower()
        and parsed.parts[: len(root_parts)] == root_parts
    )


def _join(root: str, parts: tuple[str, ...]) -> str:
    return "/".join((root.rstrip("/"), *parts)) if parts else root


def resolve_source(
    conn: Connection, ctx: RequestContext, parsed: ParsedSource, run_id: str | None, model_id: str | None
) -> ResolvedSource:
    """Check the source against the run / logged model / version it names, inside the caller's workspace."""
    run_id = run_id or None
    model_id = model_id or None
    if parsed.kind == "registry":
        return _resolve_registry(conn, ctx, parsed, run_id, model_id)
    if model_id is not None:
        return _resolve_for_logged_model(conn, ctx, parsed, run_id, model_id)
    return _resolve_for_run(conn, ctx, parsed, run_id)


def _identify(parsed: ParsedSource, what: str) -> MlflowError:
    return refuse(parsed.raw, f"The {what} request parameter must identify the resource that contains the source.")


def _resolve_for_logged_model(
    conn: Connection, ctx: RequestContext, parsed: ParsedSource, run_id: str | None, model_id: str
) -> ResolvedSource:
    model = lm_store.get(conn, model_id)
    if model is None or model.workspace_id != ctx.workspace.id or model.info.lifecycle_stage != ACTIVE:
        raise _identify(parsed, "model_id")
    # Registering a model copies access to its files: the caller must be able to read them.
    ctx.authorize_experiment(model.info.experiment_id, level=READ, conn=conn)
    artifact_uri = model.info.artifact_uri
    if parsed.kind == "logged_model":
        if parsed.ident != model_id:
            raise _identify(parsed, "model_id")
    elif parsed.kind != "location" or not _within(parsed, artifact_uri):
        raise _identify(parsed, "model_id")
    source_run = model.info.source_run_id or None
    if run_id is not None:
        run = run_store.get(conn, run_id)
        if run is None or run.workspace_id != ctx.workspace.id or (source_run is not None and run_id != source_run):
            raise refuse(parsed.raw, "The run_id request parameter must be the run that produced the logged model.")
        ctx.authorize_experiment(run.info.experiment_id, level=READ, conn=conn)
    storage = artifact_uri if parsed.kind == "logged_model" else parsed.raw
    return ResolvedSource(parsed.raw, storage, run_id or source_run, model_id)


def _resolve_for_run(conn: Connection, ctx: RequestContext, parsed: ParsedSource, run_id: str | None) -> ResolvedSource:
    if parsed.kind == "logged_model":
        raise _identify(parsed, "model_id")
    if run_id is None or (parsed.kind == "run" and parsed.ident != run_id):
        raise _identify(parsed, "run_id")
    run = run_store.get(conn, run_id)
    if run is None or run.workspace_id != ctx.workspace.id:
        raise _identify(parsed, "run_id")
    ctx.authorize_experiment(run.info.experiment_id, level=READ, conn=conn)
    if parsed.kind == "location":
        if not _within(parsed, run.info.artifact_uri):
            raise _identify(parsed, "run_id")
        return ResolvedSource(parsed.raw, parsed.raw, run_id, None)
    # runs:/<run>/<name>/...: an MLflow 3 model logged by the run under <name>, else the run's own files.
    path = parsed.parts[1:]
    if path:
        found = reg_store.logged_model_of_run(conn, run.info.experiment_id, path[0], run.info.run_uuid)
        if found is not None:
            found_id, model_uri = found
            return ResolvedSource(parsed.raw, _join(model_uri, path[1:]), run_id, found_id)
    return ResolvedSource(parsed.raw, _join(run.info.artifact_uri, path), run_id, None)


def _resolve_registry(
    conn: Connection, ctx: RequestContext, parsed: ParsedSource, run_id: str | None, model_id: str | None
) -> ResolvedSource:
    """`models:/<name>/<version>` etc.: copy another version's location and lineage (as MLflow does)."""
    name = validate_model_name(parsed.ident)
    model = reg_store.get_model(conn, ctx.workspace.id, name)
    if model is None:
        raise refuse(parsed.raw, f"Registered Model with name={name} not found.")
    ctx.authorize_model(model.name, READ, conn)
    number: int | None
    if parsed.alias:
        number = reg_store.alias_version(conn, model.pk, parsed.alias)
    elif parsed.selector.isascii() and parsed.selector.isdigit():
        number = parse_version(parsed.selector)
    elif parsed.selector.lower() == LATEST_ALIAS:
        number = reg_store.newest_version(conn, model.pk)
    else:
        number = reg_store.newest_version(conn, model.pk, canonical_stage(parsed.selector))
    found = reg_store.get_version(conn, ctx.workspace.id, name, number) if number is not None else None
    if found is None:
        raise refuse(parsed.raw, "It does not name a version of this model registry.")
    if (run_id is not None and run_id != found.run_id) or (model_id is not None and model_id != found.model_id):
        raise refuse(parsed.raw, "The run_id and model_id request parameters must match the referenced model version.")
    return ResolvedSource(f"models:/{name}/{found.version}", found.storage_location, found.run_id, found.model_id)
