"""Model registry rules shared by the registered-model and model-version services: names, versions,
tags, stages, aliases, search limits, and the lookups that confine every call to the caller's workspace.

The messages and error codes are the reference server's (mlflow.utils.validation and the SQL
registry store), because the client and its users see them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Final

from sqlalchemy import Connection

from runyard.domain.errors import MlflowError, invalid, not_found
from runyard.domain.validation import (
    invalid_value_message,
    missing_value_message,
    parse_ascii_int,
    validate_key,
    validate_length,
)
from runyard.services.context import RequestContext
from runyard.store import registry as reg_store
from runyard.store import search as search_sql
from runyard.store.registry import ModelRow, VersionRow

MAX_MODEL_NAME_LENGTH: Final = 256
MAX_TAG_KEY_LENGTH: Final = 250
MAX_TAG_VALUE_LENGTH: Final = 100_000
MAX_DESCRIPTION_LENGTH: Final = 100_000
MAX_ALIAS_LENGTH: Final = 255
MAX_SOURCE_LENGTH: Final = 5_000
MAX_RUN_LINK_LENGTH: Final = 5_000

SEARCH_MODELS_DEFAULT_MAX_RESULTS: Final = 100
SEARCH_MODELS_MAX_RESULTS: Final = 1_000
SEARCH_VERSIONS_DEFAULT_MAX_RESULTS: Final = 10_000
SEARCH_VERSIONS_MAX_RESULTS: Final = 200_000

STAGE_NONE: Final = "None"
STAGE_ARCHIVED: Final = "Archived"
ALL_STAGES: Final = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES: Final = ("Staging", "Production")
_CANONICAL_STAGES: Final = {stage.lower(): stage for stage in ALL_STAGES}

LATEST_ALIAS: Final = "latest"
_ALIAS_RE: Final = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS_RE: Final = re.compile(r"^[vV]\d+$")  # as the reference: any Unicode digit
# Versions are 32-bit integers in the reference schema.
MAX_VERSION: Final = 2**31 - 1


# --- validation -------------------------------------------------------------------------------


def validate_model_name(name: str | None, path: str = "name") -> str:
    if name is None or name == "":
        raise invalid(missing_value_message(path))
    if name.strip() == "":  # the reference's store-level check words this one without the hint
        raise invalid(f"Missing value for required parameter '{path}'.")
    if "/" in name or ":" in name:
        raise invalid(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    norm = posixpath.normpath(name)
    if norm != name or norm == "." or norm.startswith(".."):
        raise invalid(
            invalid_value_message(
                path,
                name,
                "Names may be treated as files in certain cases, and must not resolve to other names "
                f"when treated as such. This name would resolve to {norm!r}",
            )
        )
    validate_length(path, name, MAX_MODEL_NAME_LENGTH)
    return name


def parse_version(version: str | int | None) -> int:
    if version is None or version == "":
        raise invalid(missing_value_message("version"))
    return parse_ascii_int(
        version, "version", MAX_VERSION, error=f"Parameter 'version' must be an integer, got '{version}'."
    )


def validate_tag(key: str | None, value: str | None) -> tuple[str, str]:
    if key is None:
        raise invalid(missing_value_message("key"))
    validate_key(key, "key", "Tag key")
    if value is None:
        raise invalid("Tag value cannot be None")
    validate_length("key", key, MAX_TAG_KEY_LENGTH)
    validate_length("value", value, MAX_TAG_VALUE_LENGTH)
    return key, value


def validate_tags(tags: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [validate_tag(k, v) for k, v in tags]


def validate_description(description: str | None) -> str | None:
    validate_length("description", description, MAX_DESCRIPTION_LENGTH)
    return description


def canonical_stage(stage: str | None) -> str:
    if stage is None or stage == "":
        raise invalid(missing_value_message("stage"))
    found = _CANONICAL_STAGES.get(stage.lower())
    if found is None:
        raise invalid(f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(ALL_STAGES)}.")
    return found


def validate_alias(alias: str | None) -> str:
    if alias is None or alias == "":
        raise invalid("Registered model alias name cannot be empty.")
    if not _ALIAS_RE.match(alias):
        raise invalid(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )
    validate_length("Registered model alias name", alias, MAX_ALIAS_LENGTH)
    return alias


def validate_alias_not_reserved(alias: str) -> None:
    """`latest` and `v<N>` name what the client resolves itself (`models:/m@latest`, version aliases)."""
    if alias.lower() == LATEST_ALIAS:
        raise invalid("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS_RE.match(alias):
        raise invalid(f"Version alias name '{alias}' is reserved.")


def page_limit(max_results: int | None, default: int, maximum: int) -> int:
    limit = default if max_results is None else max_results
    if limit < 1:
        raise invalid(f"Invalid value for max_results. It must be a positive integer, but got {limit}")
    if limit > maximum:
        raise invalid(
            f"Invalid value for request parameter max_results. It must be at most {maximum}, but got value {limit}"
        )
    return limit


def next_page_token(offset: int, limit: int, fetched: int) -> str | None:
    return search_sql.encode_page_token(offset + limit) if fetched > limit else None


# --- workspace-confined lookups ----------------------------------------------------------------


def model_not_found(name: str) -> MlflowError:
    return not_found(f"Registered Model with name={name} not found")


def version_not_found(name: str, version: int | str) -> MlflowError:
    return not_found(f"Model Version (name={name}, version={version}) not found")


def require_model(conn: Connection, ctx: RequestContext, name: str | None, level: int | None = None) -> ModelRow:
    """The registered model if it exists in the caller's workspace, else RESOURCE_DOES_NOT_EXIST;
    with authentication on, PERMISSION_DENIED unless the caller holds `level` (default: the route's)."""
    name = validate_model_name(name)
    row = reg_store.get_model(conn, ctx.workspace.id, name)
    if row is None:
        raise model_not_found(name)
    ctx.authorize_model(row.name, level, conn)
    return row


def require_version(
    conn: Connection, ctx: RequestContext, name: str | None, version: str | int | None, level: int | None = None
) -> VersionRow:
    """The model version if it exists in the caller's workspace, else RESOURCE_DOES_NOT_EXIST; a
    version has its registered model's permissions."""
    name = validate_model_name(name)
    number = parse_version(version)
    row = reg_store.get_version(conn, ctx.workspace.id, name, number)
    if row is None:
        raise version_not_found(name, number)
    ctx.authorize_model(row.name, level, conn)
    return row
