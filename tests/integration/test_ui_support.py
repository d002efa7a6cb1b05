"""The assistant and gateway-proxy endpoints the MLflow web UI calls on its pages, against the
answers `mlflow server` 3.17.2 gave with neither configured (recorded by hand, raw HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess

# The reference, GET /ajax-api/3.0/mlflow/assistant/config: 200, exactly this body.
REFERENCE_ASSISTANT_CONFIG = {"providers": {}, "projects": {}, "remote_access_allowed": False}
# The reference, GET and POST /ajax-api/2.0/mlflow/gateway-proxy (any gateway_path): 200, this body.
REFERENCE_GATEWAY_PROXY: dict[str, list[object]] = {"endpoints": []}


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def test_assistant_config_is_the_reference_answer(http: httpx.Client) -> None:
    resp = http.get("/ajax-api/3.0/mlflow/assistant/config")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == REFERENCE_ASSISTANT_CONFIG


def test_assistant_providers_offer_nothing(http: httpx.Client) -> None:
    """The reference lists the back-ends it ships (Claude Code, Codex, MLflow AI Gateway, Ollama) and
    offers Ollama as resolved even when nothing is configured. Runyard runs none: the same shape,
    nothing offered, so the UI treats the assistant as not set up."""
    resp = http.get("/ajax-api/3.0/mlflow/assistant/providers")
    assert resp.status_code == 200
    assert resp.json() == {"providers": [], "resolved": None, "gateway_vendor_options": {}}


def test_assistant_config_cannot_be_changed(http: httpx.Client) -> None:
    resp = http.put("/ajax-api/3.0/mlflow/assistant/config", json={"providers": {"ollama": {"selected": True}}})
    assert resp.status_code == 403
    assert resp.json() == {
        "error_code": "PERMISSION_DENIED",
        "message": "The MLflow assistant is not available on this server.",
        "sqlstate": "KAM00",
        "error_class": "PERMISSION_DENIED",
    }


@pytest.mark.parametrize("params", [{}, {"gateway_path": "api/2.0/endpoints/"}])
def test_gateway_proxy_get(http: httpx.Client, params: dict[str, str]) -> None:
    resp = http.get("/ajax-api/2.0/mlflow/gateway-proxy", params=params)
    assert resp.status_code == 200
    assert resp.json() == REFERENCE_GATEWAY_PROXY


def test_gateway_proxy_post(http: httpx.Client) -> None:
    body = {"gateway_path": "gateway/chat/invocations", "json_data": {"messages": []}}
    resp = http.post("/ajax-api/2.0/mlflow/gateway-proxy", json=body)
    assert resp.status_code == 200
    assert resp.json() == REFERENCE_GATEWAY_PROXY


def test_only_under_the_ajax_prefix_as_in_the_reference(http: httpx.Client) -> None:
    for path in ("/api/3.0/mlflow/assistant/config", "/api/2.0/mlflow/gateway-proxy"):
        resp = http.get(path)
        assert resp.status_code == 404
        assert resp.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    resp = http.delete("/ajax-api/2.0/mlflow/gateway-proxy")
    assert resp.status_code == 405
