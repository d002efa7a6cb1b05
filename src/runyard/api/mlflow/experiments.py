"""Experiment endpoints: create, get, get-by-name, search, update, delete, restore, tags, search-datasets."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok, page_response, parse_json_body, parse_query
from runyard.api.mlflow import messages as m
from runyard.api.mlflow import render
from runyard.api.routing import Endpoint, in_context, services


async def create_experiment(request: Request) -> Response:
    body = await parse_json_body(request, m.CreateExperiment)
    experiment_id = await in_context(
        request,
        services(request).experiments.create,
        body.name,
        body.artifact_location,
        [(t.key, t.value) for t in body.tags],
    )
    return ok({"experiment_id": experiment_id})


async def get_experiment(request: Request) -> Response:
    q = parse_query(request, m.ExperimentId)
    experiment = await in_context(request, services(request).experiments.get, q.experiment_id)
    return ok({"experiment": render.experiment(experiment)})


async def get_experiment_by_name(request: Request) -> Response:
    q = parse_query(request, m.GetExperimentByName)
    experiment = await in_context(request, services(request).experiments.get_by_name, q.experiment_name)
    return ok({"experiment": render.experiment(experiment)})


async def _search(request: Request, body: m.SearchExperiments) -> Response:
    page = await in_context(
        request,
        services(request).experiments.search,
        view_type=body.view_type,
        max_results=body.max_results,
        filter_string=body.filter,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return page_response(page, "experiments", render.experiment)


async def search_experiments_post(request: Request) -> Response:
    return await _search(request, await parse_json_body(request, m.SearchExperiments))


async def search_experiments_get(request: Request) -> Response:
    return await _search(request, parse_query(request, m.SearchExperiments))


async def update_experiment(request: Request) -> Response:
    body = await parse_json_body(request, m.UpdateExperiment)
    await in_context(request, services(request).experiments.rename, body.experiment_id, body.new_name)
    return ok()


async def delete_experiment(request: Request) -> Response:
    body = await parse_json_body(request, m.ExperimentId)
    await in_context(request, services(request).experiments.delete, body.experiment_id)
    return ok()


async def restore_experiment(request: Request) -> Response:
    body = await parse_json_body(request, m.ExperimentId)
    await in_context(request, services(request).experiments.restore, body.experiment_id)
    return ok()


async def set_experiment_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.SetExperimentTag)
    await in_context(request, services(request).experiments.set_tag, body.experiment_id, body.key, body.value)
    return ok()


async def delete_experiment_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.DeleteExperimentTag)
    await in_context(request, services(request).experiments.delete_tag, body.experiment_id, body.key)
    return ok()


async def search_datasets(request: Request) -> Response:
    """The UI's dataset filter: `{"dataset_summaries": [{experiment_id, name, digest, context}]}`
    (context omitted when the input had none; `{}` when there are none)."""
    body = await parse_json_body(request, m.SearchDatasets)
    summaries = await in_context(request, services(request).experiments.search_datasets, body.experiment_ids)
    out = [
        {
            "experiment_id": str(d.experiment_id),
            "name": d.name,
            "digest": d.digest,
            **({"context": d.context} if d.context is not None else {}),
        }
        for d in summaries
    ]
    return ok({"dataset_summaries": out} if out else None)


ENDPOINTS = [
    Endpoint("POST", "/experiments/create", create_experiment, "experiment:create"),
    Endpoint("GET", "/experiments/get", get_experiment, "experiment:read"),
    Endpoint("GET", "/experiments/get-by-name", get_experiment_by_name, "experiment:read"),
    Endpoint("POST", "/experiments/search", search_experiments_post, "experiment:list"),
    Endpoint("GET", "/experiments/search", search_experiments_get, "experiment:list"),
    Endpoint("POST", "/experiments/update", update_experiment, "experiment:write"),
    Endpoint("POST", "/experiments/delete", delete_experiment, "experiment:delete"),
    Endpoint("POST", "/experiments/restore", restore_experiment, "experiment:delete"),
    Endpoint("POST", "/experiments/set-experiment-tag", set_experiment_tag, "experiment:write"),
    Endpoint("POST", "/experiments/delete-experiment-tag", delete_experiment_tag, "experiment:write"),
]

# Served under `/ajax-api/2.0/mlflow` only, as the reference does.
AJAX_ENDPOINTS = [Endpoint("POST", "/experiments/search-datasets", search_datasets, "experiment:list")]
