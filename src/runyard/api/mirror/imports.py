"""`POST /api/2.0/runyard/mirror/runs/import` and `POST /api/2.0/runyard/mirror/logged-models/import`:
create a mirrored run / logged model in the request's workspace under the source's id, or return the
one an earlier import made (`created: false`). The rules: `services.mirror_import`.

Answers `{"run": <as runs/get renders it>, "created": bool}` and `{"model": <as logged-models/get
renders it>, "created": bool}`. Access: what creating one needs (`experiment:write`).
"""

from __future__ import annotations

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.http import ok, parse_json_body
from runyard.api.mlflow import render
from runyard.api.mlflow.fields import Int64
from runyard.api.mlflow.logged_models import logged_model
from runyard.api.mlflow.messages import KeyValue, Message
from runyard.api.routing import Endpoint, in_context, services
from runyard.services.mirror_import import LoggedModelImport, RunImport


class ImportRun(Message):
    experiment_id: str | None = None
    run_id: str | None = None
    run_name: str | None = None
    user_id: str | None = None
    start_time: Int64 | None = None
    status: str | None = None
    end_time: Int64 | None = None
    source_url: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class ImportLoggedModel(Message):
    experiment_id: str | None = None
    model_id: str | None = None
    name: str | None = None
    source_run_id: str | None = None
    model_type: str | None = None
    source_url: str | None = None
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


async def import_run(request: Request) -> Response:
    body = await parse_json_body(request, ImportRun)
    wanted = RunImport(
        experiment_id=body.experiment_id,
        run_id=body.run_id,
        source_url=body.source_url,
        run_name=body.run_name,
        user_id=body.user_id,
        start_time=body.start_time,
        status=body.status,
        end_time=body.end_time,
        tags=[(t.key, t.value) for t in body.tags],
    )
    imported = await in_context(request, services(request).mirror_import.import_run, wanted)
    return ok({"run": render.run(imported.run), "created": imported.created})


async def import_logged_model(request: Request) -> Response:
    body = await parse_json_body(request, ImportLoggedModel)
    wanted = LoggedModelImport(
        experiment_id=body.experiment_id,
        model_id=body.model_id,
        source_url=body.source_url,
        name=body.name,
        source_run_id=body.source_run_id,
        model_type=body.model_type,
        params=[(p.key, p.value) for p in body.params],
        tags=[(t.key, t.value) for t in body.tags],
    )
    imported = await in_context(request, services(request).mirror_import.import_logged_model, wanted)
    return ok({"model": logged_model(imported.model), "created": imported.created})


ENDPOINTS = [
    Endpoint("POST", "/mirror/runs/import", import_run, "experiment:write"),
    Endpoint("POST", "/mirror/logged-models/import", import_logged_model, "experiment:write"),
]
