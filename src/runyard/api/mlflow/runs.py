"""Run endpoints: create, get, update, delete, restore, search, tags, params, metrics, inputs, outputs,
and the legacy log-model."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import (
    call,
    ok,
    page_response,
    parse_json,
    parse_json_body,
    parse_query,
    read_json_body,
    waiting_for,
)
from runyard.api.mlflow import ingest_messages as ingest
from runyard.api.mlflow import messages as m
from runyard.api.mlflow import render
from runyard.api.mlflow.fields import as_double
from runyard.api.routing import Endpoint, cached_context, in_context, inline_now, services
from runyard.domain.entities import Dataset, ModelIO
from runyard.domain.errors import RESOURCE_DOES_NOT_EXIST, MlflowError
from runyard.domain.limits import MAX_BATCH_REQUEST_BYTES
from runyard.domain.validation import require_value
from runyard.services.runs import DatasetInputIn, MetricIn


def _run_id(ref: m.RunRef) -> str:
    return require_value(ref.target, "run_id")


async def create_run(request: Request) -> Response:
    body = await parse_json_body(request, m.CreateRun)
    run = await in_context(
        request,
        services(request).runs.create,
        experiment_id=body.experiment_id,
        user_id=body.user_id,
        run_name=body.run_name,
        start_time=body.start_time,
        tags=[(t.key, t.value) for t in body.tags],
        short=True,
    )
    return ok({"run": render.run(run)})


async def get_run(request: Request) -> Response:
    q = parse_query(request, m.RunRef)
    run = await in_context(request, services(request).runs.get, _run_id(q), short=True)
    return ok({"run": render.run(run)})


async def update_run(request: Request) -> Response:
    body = await parse_json_body(request, m.UpdateRun)
    info = await in_context(
        request,
        services(request).runs.update,
        _run_id(body),
        status=body.status,
        end_time=body.end_time,
        run_name=body.run_name,
        short=True,
    )
    return ok({"run_info": render.run_info(info)})


async def delete_run(request: Request) -> Response:
    body = await parse_json_body(request, m.RunRef)
    await in_context(request, services(request).runs.delete, _run_id(body), short=True)
    return ok()


async def restore_run(request: Request) -> Response:
    body = await parse_json_body(request, m.RunRef)
    await in_context(request, services(request).runs.restore, _run_id(body), short=True)
    return ok()


async def set_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.SetTag)
    await in_context(request, services(request).runs.set_tag, _run_id(body), body.key, body.value, short=True)
    return ok()


async def delete_tag(request: Request) -> Response:
    body = await parse_json_body(request, m.DeleteTag)
    await in_context(request, services(request).runs.delete_tag, _run_id(body), body.key, short=True)
    return ok()


async def log_param(request: Request) -> Response:
    body = await parse_json_body(request, m.LogParam)
    await in_context(
        request,
        services(request).runs.log_batch,
        _run_id(body),
        metrics=[],
        params=[(body.key, body.value)],
        tags=[],
        single=True,
        short=True,
    )
    return ok()


async def log_metric(request: Request) -> Response:
    body = await read_json_body(request)
    await _log(request, ingest.log_metric(body) or _reference_log_metric(body), single=True)
    return ok()


async def log_batch(request: Request) -> Response:
    body = await read_json_body(request, limit=MAX_BATCH_REQUEST_BYTES)
    await _log(request, ingest.log_batch(body) or _reference_log_batch(body))
    return ok()


async def _log(request: Request, batch: ingest.Batch, *, single: bool = False) -> None:
    """Metrics-only requests go through the point writer where that path applies (see
    `RunService.queue_metrics`); the rest, and any request that finds the server otherwise idle on
    SQLite (see `inline_now`), through `RunService.log_batch`."""
    run_id = require_value(batch.run_id, "run_id")
    if (
        batch.params
        or batch.tags
        or inline_now(request)
        or not await _queued(request, run_id, batch.metrics, single=single)
    ):
        await in_context(
            request,
            services(request).runs.log_batch,
            run_id,
            metrics=batch.metrics,
            params=batch.params,
            tags=batch.tags,
            single=single,
            short=True,
        )


async def _queued(request: Request, run_id: str, metrics: list[MetricIn], *, single: bool) -> bool:
    """Log metrics through the point writer; False if that path does not apply.

    Runs on the event loop: validation is CPU work, and the write happens on the writer's thread.
    """
    ctx = cached_context(request)
    if ctx is None:
        return False
    future = services(request).runs.queue_metrics(ctx, run_id, metrics, single=single)
    if future is None:
        return False
    try:
        await waiting_for(asyncio.wrap_future(future))
    except MlflowError as e:
        # No such run in the cached workspace: if another process deleted and re-created it since,
        # the slow path (which resolves the name again) writes into the current one.
        if e.error_code == RESOURCE_DOES_NOT_EXIST and await call(services(request).workspaces.replaced, ctx.workspace):
            return False
        raise
    return True


def _reference_log_metric(body: bytes) -> ingest.Batch:
    """log-metric decoded by the reference (pydantic) model: judges what the fast decoder did not accept."""
    x = parse_json(body, m.LogMetric)
    point: MetricIn = (
        x.key,
        as_double(x.value, "value"),
        x.timestamp,
        x.step,
        x.model_id,
        x.dataset_name,
        x.dataset_digest,
    )
    return ingest.Batch(x.target, [point], [], [])


def _reference_log_batch(body: bytes) -> ingest.Batch:
    """log-batch decoded by the reference (pydantic) model (see `_reference_log_metric`)."""
    x = parse_json(body, m.LogBatch)
    metrics: list[MetricIn] = []
    for i, p in enumerate(x.metrics):
        value = p["value"]
        if not isinstance(value, float):
            value = as_double(value, f"metrics[{i}].value")
        step: int = p.get("step", 0)
        model_id: str | None = p.get("model_id")
        metrics.append(
            (p["key"], value, p["timestamp"], step, model_id, p.get("dataset_name"), p.get("dataset_digest"))
        )
    return ingest.Batch(
        x.target, metrics, [(kv.key, kv.value) for kv in x.params], [(kv.key, kv.value) for kv in x.tags]
    )


async def log_model(request: Request) -> Response:
    """The MLflow 2.x `runs/log-model`: records the model in the run's `mlflow.log-model.history` tag."""
    body = await parse_json_body(request, m.LogModel)
    run_id = _run_id(body)
    model_json = require_value(body.model_json, "model_json")
    await in_context(request, services(request).runs.record_logged_model, run_id, model_json)
    return ok()


async def log_inputs(request: Request) -> Response:
    body = await parse_json_body(request, m.LogInputs)
    datasets = [
        DatasetInputIn(
            Dataset(
                d.dataset.name,
                d.dataset.digest,
                d.dataset.source_type,
                d.dataset.source,
                d.dataset.schema_,
                d.dataset.profile,
            ),
            [(t.key, t.value) for t in d.tags],
        )
        for d in body.datasets
    ]
    models = [ModelIO(x.model_id) for x in body.models]
    await in_context(request, services(request).runs.log_inputs, _run_id(body), datasets, models)
    return ok()


async def log_outputs(request: Request) -> Response:
    body = await parse_json_body(request, m.LogOutputs)
    models = [ModelIO(x.model_id, x.step) for x in body.models]
    await in_context(request, services(request).runs.log_outputs, _run_id(body), models)
    return ok()


async def search_runs(request: Request) -> Response:
    body = await parse_json_body(request, m.SearchRuns)
    page = await in_context(
        request,
        services(request).run_search.search,
        experiment_ids=body.experiment_ids,
        filter_string=body.filter,
        run_view_type=body.run_view_type,
        max_results=body.max_results,
        order_by=body.order_by,
        page_token=body.page_token,
    )
    return page_response(page, "runs", render.run)


ENDPOINTS = [
    Endpoint("POST", "/runs/create", create_run, "experiment:write"),
    Endpoint("GET", "/runs/get", get_run, "run:read"),
    Endpoint("POST", "/runs/update", update_run, "run:write"),
    Endpoint("POST", "/runs/delete", delete_run, "run:delete"),
    Endpoint("POST", "/runs/restore", restore_run, "run:delete"),
    Endpoint("POST", "/runs/set-tag", set_tag, "run:write"),
    Endpoint("POST", "/runs/delete-tag", delete_tag, "run:write"),
    Endpoint("POST", "/runs/log-parameter", log_param, "run:write"),
    Endpoint("POST", "/runs/log-metric", log_metric, "run:write"),
    Endpoint("POST", "/runs/log-batch", log_batch, "run:write"),
    Endpoint("POST", "/runs/log-model", log_model, "run:write"),
    Endpoint("POST", "/runs/log-inputs", log_inputs, "run:write"),
    Endpoint("POST", "/runs/outputs", log_outputs, "run:write"),
    Endpoint("POST", "/runs/search", search_runs, "experiment:list"),
]
