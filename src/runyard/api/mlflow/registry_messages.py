"""Request messages and response rendering of the MLflow model registry API (model_registry.proto).

Required fields are optional here so that the services answer a missing one with MLflow's own
"Missing value for required parameter ..." message.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from runyard.api.mlflow.fields import Bool, Int64
from runyard.api.mlflow.messages import KeyValue, Message
from runyard.store.registry import ModelVersion, RegisteredModel


def _version_text(value: Any) -> Any:
    """Versions are proto strings; a JSON number is accepted as its decimal text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


VersionText = Annotated[str, BeforeValidator(_version_text)]

# --- registered models ------------------------------------------------------------------------


class ModelName(Message):
    name: str | None = None


class CreateRegisteredModel(ModelName):
    tags: list[KeyValue] = Field(default_factory=list)
    description: str | None = None


class RenameRegisteredModel(ModelName):
    new_name: str | None = None


class UpdateRegisteredModel(ModelName):
    description: str | None = None


class SetRegisteredModelTag(ModelName):
    key: str | None = None
    value: str | None = None


class DeleteRegisteredModelTag(ModelName):
    key: str | None = None


class GetLatestVersions(ModelName):
    stages: list[str] = Field(default_factory=list)


class SetAlias(ModelName):
    alias: str | None = None
    version: VersionText | None = None


class AliasRef(ModelName):
    alias: str | None = None


class SearchRegistry(Message):
    """SearchRegisteredModels and SearchModelVersions share their fields."""

    filter: str | None = None
    max_results: Int64 | None = None
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


# --- model versions ---------------------------------------------------------------------------


class CreateModelVersion(ModelName):
    source: str | None = None
    run_id: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)
    run_link: str | None = None
    description: str | None = None
    model_id: str | None = None


class VersionRef(ModelName):
    version: VersionText | None = None


class UpdateModelVersion(VersionRef):
    description: str | None = None


class TransitionStage(VersionRef):
    stage: str | None = None
    archive_existing_versions: Bool = False


class SetModelVersionTag(VersionRef):
    key: str | None = None
    value: str | None = None


class DeleteModelVersionTag(VersionRef):
    key: str | None = None


# --- rendering --------------------------------------------------------------------------------


def model_version(v: ModelVersion) -> dict[str, Any]:
    """A ModelVersion as the reference server writes it (unset optional fields omitted)."""
    r = v.row
    out: dict[str, Any] = {
        "name": r.name,
        "version": str(r.version),
        "creation_timestamp": r.creation_time,
        "last_updated_timestamp": r.last_updated_time,
    }
    if r.user_id is not None:
        out["user_id"] = r.user_id
    out["current_stage"] = r.current_stage
    if r.description is not None:
        out["description"] = r.description
    out["source"] = r.source
    if r.run_id is not None:
        out["run_id"] = r.run_id
    out["status"] = r.status
    if r.status_message:
        out["status_message"] = r.status_message
    if v.tags:
        out["tags"] = [{"key": k, "value": val} for k, val in v.tags]
    if r.run_link is not None:
        out["run_link"] = r.run_link
    if v.aliases:
        out["aliases"] = list(v.aliases)
    if r.model_id:
        out["model_id"] = r.model_id
    return out


def registered_model(m: RegisteredModel) -> dict[str, Any]:
    r = m.row
    out: dict[str, Any] = {
        "name": r.name,
        "creation_timestamp": r.creation_time,
        "last_updated_timestamp": r.last_updated_time,
    }
    if r.description:
        out["description"] = r.description
    if m.latest_versions:
        out["latest_versions"] = [model_version(v) for v in m.latest_versions]
    if m.tags:
        out["tags"] = [{"key": k, "value": v} for k, v in m.tags]
    if m.aliases:
        out["aliases"] = [{"alias": a, "version": str(version)} for a, version in m.aliases]
    return out
