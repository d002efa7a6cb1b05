"""Model registry endpoints (`/api/2.0/mlflow/registered-models/...` and `/model-versions/...`).

Handlers parse the request (JSON body, or query parameters for GET), call the registry services on
the worker pool, and render the reference server's response shapes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok, page_response, parse_json_body, parse_query
from runyard.api.mlflow import registry_messages as m
from runyard.api.mlflow.messages import KeyValue
from runyard.api.mlflow.registry_messages import model_version, registered_model
from runyard.api.routing import Endpoint, in_context, services


def _tags(tags: list[KeyValue]) -> list[tuple[str, str]]:
    return [(t.key, t.value) for t in tags]


# --- registered models ------------------------------------------------------------------------


async def create_registered_model(request: Request) -> Response:
    body = await parse_json_body(request, m.CreateRegisteredModel)
    model = await in_context(
        request, services(request).registered_models.create, body.name, _tags(body.tags), body.description
    )
    return ok({"registered_model": registered_model(model)})


async def get_registered_model(request: Request) -> Response:
    q = parse_query(request, m.ModelName)
    model = await in_context(request, services(request).registered_models.get, q.name)
    return ok({"registered_model": registered_model(model)})


async def rename_registered_model(request: Request) -> Response:
    body = await parse_json_body(request, m.RenameRegisteredModel)
    model = await in_context(request, services(request).registered_models.rename, body.name, body.new_name)
    return ok({"registered_model": registered_model(model)})


async def update_registered_model(request: Request) -> Response:
    body = await parse_json_body(request, m.UpdateRegisteredModel)
    model = await in_context(request, services(request).registered_models.update, body.name, body.description)
    return ok({"registered_model": registered_model(model)})


async def delete_registered_model(request: Request) -> Response:
    body = await parse_json_body(request, m.ModelName)
    await in_context(request, services(request).registered_models.delete, body.name)
    return ok()


async def _search_registered_models(request: Request, body: m.SearchRegistry) -> Response:
    page = await in_context(
        request,
        services(request).registered_models.search,
        filter_string=body.filter,
        max_results=body.max_results,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return page_response(page, "registered_models", registered_model)


async def search_registered_models_get(request: Request) -> Response:
    return await _search_registered_models(request, parse_query(request, m.SearchRegistry))


async def _latest_versions(request: Request, body: m.GetLatestVersions) -> Response:
    versions = await in_context(request, services(request).registered_models.latest_versions, body.name, body.stages)
    return ok({"model_versions": [model_version(v) for v in versions]} if versions else None)


async def get_latest_versions_post(request: Request) -> Response:
    return await _latest_versions(request, await parse_json_body(request, m.GetLatestVersions))


async def get_latest_versions_get(request: Request) -> Response:
    return await _latest_versions(request, parse_query(request, m.GetLatestVersions))


async def set_registered_model_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.SetRegisteredModelTag)
    await in_context(request, services(request).registered_models.set_tag, body.name, body.key, body.value)
    return ok()


async def delete_registered_model_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.DeleteRegisteredModelTag)
    await in_context(request, services(request).registered_models.delete_tag, body.name, body.key)
    return ok()


async def set_alias(request: Request) -> Response:
    body = await parse_json_body(request, m.SetAlias)
    await in_context(request, services(request).registered_models.set_alias, body.name, body.alias, body.version)
    return ok()


async def delete_alias(request: Request) -> Response:
    body = await parse_json_body(request, m.AliasRef)
    await in_context(request, services(request).registered_models.delete_alias, body.name, body.alias)
    return ok()


async def get_by_alias(request: Request) -> Response:
    q = parse_query(request, m.AliasRef)
    version = await in_context(request, services(request).registered_models.get_by_alias, q.name, q.alias)
    return ok({"model_version": model_version(version)})


# --- model versions ---------------------------------------------------------------------------


async def create_model_version(request: Request) -> Response:
    body = await parse_json_body(request, m.CreateModelVersion)
    version = await in_context(
        request,
        services(request).model_versions.create,
        name=body.name,
        source=body.source,
        run_id=body.run_id,
        model_id=body.model_id,
        tags=_tags(body.tags),
        run_link=body.run_link,
        description=body.description,
    )
    return ok({"model_version": model_version(version)})


async def get_model_version(request: Request) -> Response:
    q = parse_query(request, m.VersionRef)
    version = await in_context(request, services(request).model_versions.get, q.name, q.version)
    return ok({"model_version": model_version(version)})


async def update_model_version(request: Request) -> Response:
    body = await parse_json_body(request, m.UpdateModelVersion)
    version = await in_context(
        request, services(request).model_versions.update, body.name, body.version, body.description
    )
    return ok({"model_version": model_version(version)})


async def delete_model_version(request: Request) -> Response:
    body = await parse_json_body(request, m.VersionRef)
    await in_context(request, services(request).model_versions.delete, body.name, body.version)
    return ok()


async def transition_stage(request: Request) -> Response:
    body = await parse_json_body(request, m.TransitionStage)
    version = await in_context(
        request,
        services(request).model_versions.transition_stage,
        body.name,
        body.version,
        body.stage,
        body.archive_existing_versions,
    )
    return ok({"model_version": model_version(version)})


async def _search_model_versions(request: Request, body: m.SearchRegistry) -> Response:
    page = await in_context(
        request,
        services(request).model_versions.search,
        filter_string=body.filter,
        max_results=body.max_results,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return page_response(page, "model_versions", model_version)


async def search_model_versions_get(request: Request) -> Response:
    return await _search_model_versions(request, parse_query(request, m.SearchRegistry))


async def get_download_uri(request: Request) -> Response:
    q = parse_query(request, m.VersionRef)
    uri = await in_context(request, services(request).model_versions.download_uri, q.name, q.version)
    return ok({"artifact_uri": uri})


async def set_model_version_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.SetModelVersionTag)
    await in_context(request, services(request).model_versions.set_tag, body.name, body.version, body.key, body.value)
    return ok()


async def delete_model_version_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.DeleteModelVersionTag)
    await in_context(request, services(request).model_versions.delete_tag, body.name, body.version, body.key)
    return ok()


_READ = "registered_model:read"
_WRITE = "registered_model:write"
_DELETE = "registered_model:delete"

ENDPOINTS = [
    Endpoint("POST", "/registered-models/create", create_registered_model, "registered_model:create"),
    Endpoint("GET", "/registered-models/get", get_registered_model, _READ),
    Endpoint("POST", "/registered-models/rename", rename_registered_model, _WRITE),
    Endpoint("PATCH", "/registered-models/update", update_registered_model, _WRITE),
    Endpoint("DELETE", "/registered-models/delete", delete_registered_model, _DELETE),
    Endpoint("GET", "/registered-models/search", search_registered_models_get, "registered_model:list"),
    Endpoint("POST", "/registered-models/get-latest-versions", get_latest_versions_post, _READ),
    Endpoint("GET", "/registered-models/get-latest-versions", get_latest_versions_get, _READ),
    Endpoint("POST", "/registered-models/set-tag", set_registered_model_tag, _WRITE),
    Endpoint("DELETE", "/registered-models/delete-tag", delete_registered_model_tag, _WRITE),
    Endpoint("POST", "/registered-models/alias", set_alias, _WRITE),
    Endpoint("DELETE", "/registered-models/alias", delete_alias, _DELETE),
    Endpoint("GET", "/registered-models/alias", get_by_alias, _READ),
    Endpoint("POST", "/model-versions/create", create_model_version, _WRITE),
    Endpoint("GET", "/model-versions/get", get_model_version, _READ),
    Endpoint("PATCH", "/model-versions/update", update_model_version, _WRITE),
    Endpoint("DELETE", "/model-versions/delete", delete_model_version, _DELETE),
    Endpoint("POST", "/model-versions/transition-stage", transition_stage, _WRITE),
    Endpoint("GET", "/model-versions/search", search_model_versions_get, "registered_model:list"),
    Endpoint("GET", "/model-versions/get-download-uri", get_download_uri, _READ),
    Endpoint("POST", "/model-versions/set-tag", set_model_version_tag, _WRITE),
    Endpoint("DELETE", "/model-versions/delete-tag", delete_model_version_tag, _WRITE),
]
