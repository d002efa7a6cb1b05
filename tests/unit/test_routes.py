"""Deny by default starts here: every route the app serves declares the access rule it needs."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from runyard.app import routes


def served_routes(table: list[BaseRoute]) -> list[Route]:
    """Every route, those inside mounts (the MLflow UI below a prefix) included."""
    out: list[Route] = []
    for r in table:
        if isinstance(r, Mount):
            out += served_routes(list(r.routes))
        elif isinstance(r, Route):
            out.append(r)
    return out


def test_every_route_declares_an_access_rule() -> None:
    served = served_routes(routes())
    assert len(served) > 40
    missing = [r.path for r in served if not getattr(r, "access", None)]
    assert missing == []


def test_the_mlflow_ui_routes_need_sign_in_wherever_they_are_mounted() -> None:
    from runyard.api import mlflow_ui
    from runyard.app import api_routes

    for prefix in ("", "/mlflow"):
        table = mlflow_ui.mounted(api_routes(), mlflow_ui.locate_build(), prefix=prefix)
        served = served_routes(table)
        assert not [r.path for r in served if not getattr(r, "access", None)]
        ui = {r.path: getattr(r, "access", None) for r in served if r.name.startswith("mlflow-ui:")}
        assert ui == {"/": "mlflow-ui:index", "/static-files/{path:path}": "mlflow-ui:static"}


def test_every_declared_rule_is_in_the_vocabulary() -> None:
    from runyard.domain.access_rules import parse_rule

    for r in served_routes(routes()):
        parse_rule(str(getattr(r, "access", "")))


def test_an_unknown_rule_is_refused_when_mounted() -> None:
    import pytest

    from runyard.api.routing import Endpoint, mount
    from runyard.domain.access_rules import parse_rule

    async def handler(_r: object) -> None:
        raise AssertionError

    for rule in ("experiment:raed", "experimnt:read", "", "experiment", "admin:read", "*"):
        with pytest.raises(ValueError):
            parse_rule(rule)
        with pytest.raises(ValueError):
            mount([Endpoint("GET", "/x", handler, rule)])  # type: ignore[arg-type]


def test_deletes_need_manage_and_administration_is_for_admins() -> None:
    from runyard.domain.access_rules import parse_rule
    from runyard.domain.permissions import EDIT, MANAGE

    rules = {(r.path, *sorted(r.methods or ())): str(getattr(r, "access", "")) for r in served_routes(routes())}
    manage = [
        ("/api/2.0/mlflow/experiments/delete", "POST"),
        ("/api/2.0/mlflow/experiments/restore", "POST"),
        ("/api/2.0/mlflow/runs/delete", "POST"),
        ("/api/2.0/mlflow/runs/restore", "POST"),
        ("/api/2.0/mlflow/registered-models/delete", "DELETE"),
        ("/api/2.0/mlflow/registered-models/alias", "DELETE"),
        ("/api/2.0/mlflow/model-versions/delete", "DELETE"),
        ("/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}", "DELETE"),
        ("/api/2.0/mlflow/logged-models/{model_id}", "DELETE"),
    ]
    for key in manage:
        assert parse_rule(rules[key]).level == MANAGE, key
    for key in [
        ("/api/2.0/mlflow/runs/delete-tag", "POST"),
        ("/api/2.0/mlflow/experiments/delete-experiment-tag", "POST"),
        ("/api/2.0/mlflow/registered-models/delete-tag", "DELETE"),
        ("/api/2.0/mlflow/model-versions/delete-tag", "DELETE"),
    ]:
        assert parse_rule(rules[key]).level == EDIT, key
    for method in ("POST",):
        assert parse_rule(rules[("/api/3.0/mlflow/workspaces", method)]).admin
    for method in ("PATCH", "DELETE"):
        assert parse_rule(rules[("/api/3.0/mlflow/workspaces/{workspace_name}", method)]).admin


def test_every_mlflow_route_is_served_under_both_prefixes() -> None:
    paths = {r.path for r in routes() if isinstance(r, Route)}
    for path in paths:
        if path.startswith("/api/"):
            assert "/ajax-api/" + path.removeprefix("/api/") in paths


def test_static_first_router_dispatches_like_starlette() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.testclient import TestClient

    from runyard.api.routing import StaticFirstRouter

    async def get_handler(_r: Request) -> PlainTextResponse:
        return PlainTextResponse("get")

    async def post_handler(_r: Request) -> PlainTextResponse:
        return PlainTextResponse("post")

    async def item(r: Request) -> PlainTextResponse:
        return PlainTextResponse(f"item {r.path_params['name']}")

    table = [
        Route("/x", get_handler, methods=["GET"]),
        Route("/x", post_handler, methods=["POST"]),
        Route("/items/{name}", item, methods=["GET"]),
    ]
    app = Starlette()
    app.router = StaticFirstRouter(table)
    client = TestClient(app)
    assert client.get("/x").text == "get"
    assert client.post("/x").text == "post"
    assert client.put("/x").status_code == 405
    assert client.get("/items/abc").text == "item abc"
    assert client.get("/nothing").status_code == 404


def test_only_artifact_bytes_are_exempt_from_the_json_content_type_rule() -> None:
    from runyard.api.mlflow import (
        artifacts,
        experiments,
        logged_models,
        metrics,
        registry,
        runs,
        ui_artifacts,
        workspaces,
    )

    endpoints = [
        *artifacts.ENDPOINTS,
        *ui_artifacts.ENDPOINTS,
        *ui_artifacts.AJAX_ENDPOINTS,
        *ui_artifacts.ROOT_ENDPOINTS,
        *experiments.AJAX_ENDPOINTS,
        *metrics.AJAX_ENDPOINTS,
        *experiments.ENDPOINTS,
        *logged_models.ENDPOINTS,
        *metrics.ENDPOINTS,
        *registry.ENDPOINTS,
        *runs.ENDPOINTS,
        *workspaces.ENDPOINTS,
    ]
    raw = sorted(f"{e.method} {e.path}" for e in endpoints if e.method != "GET" and not e.json_body)
    assert raw == [
        "POST /upload-artifact",
        "PUT /artifacts/{artifact_path:path}",
        "PUT /mpu/part/{upload_id}/{part_number:int}",
    ]
    assert not any(e.json_body for e in endpoints if e.method == "GET")
    served = {(r.path, *sorted(r.methods or ())): r for r in routes() if isinstance(r, Route)}
    assert getattr(served["/api/2.0/mlflow/runs/update", "POST"].endpoint, "requires_json_body", False)
    artifact = "/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}"
    assert not getattr(served[artifact, "PUT"].endpoint, "requires_json_body", False)
