"""Logged-model endpoints (MLflow 3, `/api/2.0/mlflow/logged-models...`): create, get, finalize, delete,
tags, params, search (a model's artifact listing and files: `api.mlflow.ui_artifacts`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok, page_response, parse_json_body
from runyard.api.mlflow import render
from runyard.api.mlflow.fields import Bool, Int64
from runyard.api.mlflow.messages import KeyValue, Message
from runyard.api.routing import Endpoint, in_context, services
from runyard.services.logged_models import STATUS_PROTO_NAMES, DatasetFilterIn, OrderByIn
from runyard.store.logged_models import LoggedModel, ModelMetric

# --- request messages -------------------------------------------------------------------------


class CreateLoggedModel(Message):
    experiment_id: str | None = None
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class FinalizeLoggedModel(Message):
    model_id: str | None = None
    # An enum name ("LOGGED_MODEL_READY") or number, as protobuf JSON allows.
    status: int | str | None = None


class SetLoggedModelTags(Message):
    model_id: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class LogLoggedModelParams(Message):
    model_id: str | None = None
    params: list[KeyValue] = Field(default_factory=list)


class DatasetFilterMessage(Message):
    dataset_name: str | None = None
    dataset_digest: str | None = None


class OrderByMessage(Message):
    field_name: str = ""
    ascending: Bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


class SearchLoggedModels(Message):
    experiment_ids: list[str] = Field(default_factory=list)
    filter: str | None = None
    datasets: list[DatasetFilterMessage] = Field(default_factory=list)
    max_results: Int64 | None = None
    order_by: list[OrderByMessage] = Field(default_factory=list)
    page_token: str | None = None


# --- rendering --------------------------------------------------------------------------------


def _metric(model_id: str, m: ModelMetric) -> dict[str, Any]:
    out: dict[str, Any] = {"key": m.key, "value": render.number(m.value), "timestamp": m.timestamp, "step": m.step}
    if m.dataset_name is not None:
        out["dataset_name"] = m.dataset_name
    if m.dataset_digest is not None:
        out["dataset_digest"] = m.dataset_digest
    out["model_id"] = model_id
    out["run_id"] = m.run_id
    return out


def logged_model(model: LoggedModel) -> dict[str, Any]:
    """The `LoggedModel` message: `info` always carries `model_type` and `source_run_id` (maybe "")."""
    i = model.info
    info: dict[str, Any] = {
        "model_id": i.model_id,
        "experiment_id": str(i.experiment_id),
        "name": i.name,
        "creation_timestamp_ms": i.creation_time,
        "last_updated_timestamp_ms": i.last_updated_time,
        "artifact_uri": i.artifact_uri,
        "status": STATUS_PROTO_NAMES.get(i.status, "LOGGED_MODEL_STATUS_UNSPECIFIED"),
        "model_type": i.model_type,
        "source_run_id": i.source_run_id,
    }
    if i.status_message:
        info["status_message"] = i.status_message
    if model.tags:
        info["tags"] = render.tags(model.tags)
    data: dict[str, Any] = {}
    if model.params:
        data["params"] = render.tags(model.params)
    if model.metrics:
        data["metrics"] = [_metric(i.model_id, m) for m in model.metrics]
    return {"info": info, "data": data}


# --- handlers ---------------------------------------------------------------------------------


def _model_id(request: Request) -> str:
    return str(request.path_params["model_id"])


async def create_logged_model(request: Request) -> Response:
    body = await parse_json_body(request, CreateLoggedModel)
    model = await in_context(
        request,
        services(request).logged_models.create,
        experiment_id=body.experiment_id,
        name=body.name,
        model_type=body.model_type,
        source_run_id=body.source_run_id,
        params=[(p.key, p.value) for p in body.params],
        tags=[(t.key, t.value) for t in body.tags],
    )
    return ok({"model": logged_model(model)})


async def get_logged_model(request: Request) -> Response:
    allow_deleted = request.query_params.get("allow_deleted", "false").lower() == "true"
    model = await in_context(
        request, services(request).logged_models.get, _model_id(request), allow_deleted=allow_deleted
    )
    return ok({"model": logged_model(model)})


async def finalize_logged_model(request: Request) -> Response:
    body = await parse_json_body(request, FinalizeLoggedModel)
    model = await in_context(request, services(request).logged_models.finalize, _model_id(request), body.status)
    return ok({"model": logged_model(model)})


async def delete_logged_model(request: Request) -> Response:
    await parse_json_body(request, Message)
    await in_context(request, services(request).logged_models.delete, _model_id(request))
    return ok()


async def set_logged_model_tags(request: Request) -> Response:
    body = await parse_json_body(request, SetLoggedModelTags)
    await in_context(
        request,
        services(request).logged_models.set_tags,
        _model_id(request),
        [(t.key, t.value) for t in body.tags],
    )
    return ok()


async def delete_logged_model_tag(request: Request) -> Response:
    tag_key = str(request.path_params["tag_key"])
    await in_context(request, services(request).logged_models.delete_tag, _model_id(request), tag_key)
    return ok()


async def log_logged_model_params(request: Request) -> Response:
    body = await parse_json_body(request, LogLoggedModelParams)
    await in_context(
        request,
        services(request).logged_models.log_params,
        _model_id(request),
        [(p.key, p.value) for p in body.params],
    )
    return ok()


async def search_logged_models(request: Request) -> Response:
    body = await parse_json_body(request, SearchLoggedModels)
    page = await in_context(
        request,
        services(request).logged_models.search,
        experiment_ids=body.experiment_ids,
        filter_string=body.filter,
        datasets=[DatasetFilterIn(d.dataset_name, d.dataset_digest) for d in body.datasets],
        max_results=body.max_results,
        order_by=[OrderByIn(o.field_name, o.ascending, o.dataset_name, o.dataset_digest) for o in body.order_by],
        page_token=body.page_token,
    )
    return page_response(page, "models", logged_model)


ENDPOINTS = [
    Endpoint("POST", "/logged-models", create_logged_model, "experiment:write"),
    Endpoint("POST", "/logged-models/search", search_logged_models, "experiment:list"),
    Endpoint("GET", "/logged-models/{model_id}", get_logged_model, "logged_model:read"),
    Endpoint("PATCH", "/logged-models/{model_id}", finalize_logged_model, "logged_model:write"),
    Endpoint("DELETE", "/logged-models/{model_id}", delete_logged_model, "logged_model:delete"),
    Endpoint("PATCH", "/logged-models/{model_id}/tags", set_logged_model_tags, "logged_model:write"),
    Endpoint("DELETE", "/logged-models/{model_id}/tags/{tag_key:path}", delete_logged_model_tag, "logged_model:write"),
    Endpoint("POST", "/logged-models/{model_id}/params", log_logged_model_params, "logged_model:write"),
]
