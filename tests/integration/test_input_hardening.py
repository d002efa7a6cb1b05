"""Issue 10 items 4-8 and 13 over raw HTTP on both stores: NUL, forged page tokens, deep nesting,
non-ASCII and out-of-range integers, search sizes, references across workspaces."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import QueryPairs, ServerProcess

API = "/api/2.0/mlflow"
WS_API = "/api/3.0/mlflow/workspaces"
JSON = {"Content-Type": "application/json"}
FULLWIDTH_ONE = "\uff11"


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    # A fresh connection per request: a 500 closes the server's side of a kept-alive one.
    with httpx.Client(base_url=server.url, timeout=60, headers={"Connection": "close"}) as client:
        yield client


def post(http: httpx.Client, path: str, body: Any, **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=content, headers={**JSON, **kw.pop("headers", {})}, **kw)


def assert_invalid(resp: httpx.Response, *needles: str) -> None:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE", body
    for needle in needles:
        assert needle in body["message"], body


@pytest.fixture
def objects(http: httpx.Client, unique: str) -> dict[str, str]:
    exp = post(http, f"{API}/experiments/create", {"name": f"hard-{unique}"}).json()["experiment_id"]
    run = post(http, f"{API}/runs/create", {"experiment_id": exp}).json()["run"]["info"]["run_id"]
    post(http, f"{API}/runs/log-metric", {"run_id": run, "key": "m", "value": 1, "timestamp": 1, "step": 0})
    name = f"rm-{unique}"
    assert post(http, f"{API}/registered-models/create", {"name": name}).status_code == 200
    return {"experiment_id": exp, "run_id": run, "model_name": name}


# --- item 4: NUL -------------------------------------------------------------------------------


def test_nul_in_query_path_workspace_and_body_is_refused(http: httpx.Client, objects: dict[str, str]) -> None:
    assert_invalid(http.get(f"{API}/experiments/get-by-name?experiment_name=a%00b"), "'experiment_name'", "NUL")
    assert_invalid(http.get(f"{API}/runs/get?run_id=%00"), "'run_id'")
    assert_invalid(http.get(f"{API}/registered-models/search?filter=name%3D%27a%00%27"), "'filter'")
    assert_invalid(http.get(f"{API}/logged-models/m-a%00b"), "'model_id'")
    assert_invalid(http.delete(f"{API}/logged-models/m-1/tags/a%00b"), "'tag_key'")
    assert_invalid(http.get(f"{WS_API}/a%00b"), "'workspace_name'")
    assert_invalid(http.get(f"/w/a%00b{API}/experiments/get?experiment_id=0"), "'workspace'")
    run = objects["run_id"]
    for path, body, field in [
        (f"{API}/experiments/create", b'{"name": "a\\u0000b"}', "'name'"),
        (f"{API}/runs/set-tag", f'{{"run_id": "{run}", "key": "k\\u0000", "value": "v"}}'.encode(), "'key'"),
        (f"{API}/runs/set-tag", f'{{"run_id": "{run}", "key": "k", "value": "\\u0000"}}'.encode(), "'value'"),
        (
            f"{API}/runs/log-batch",
            f'{{"run_id": "{run}", "metrics": [{{"key": "m\\u0000", "value": 1, "timestamp": 1}}]}}'.encode(),
            "'metrics[0].key'",
        ),
        (
            f"{API}/runs/log-metric",
            f'{{"run_id": "{run}\\u0000", "key": "m", "value": 1, "timestamp": 1}}'.encode(),
            "'run_id'",
        ),
        (f"{API}/runs/search", b'{"experiment_ids": ["0"], "filter": "tags.a = \'\\u0000\'"}', "'filter'"),
        (WS_API, b'{"name": "ws\\u0000"}', "'name'"),
    ]:
        assert_invalid(post(http, path, body), field, "NUL")
    # Nothing was written.
    assert http.get(f"{API}/experiments/get-by-name", params={"experiment_name": "ab"}).status_code == 404
    tags = http.get(f"{API}/runs/get", params={"run_id": run}).json()["run"]["data"].get("tags", [])
    assert not any(t["key"].startswith("k") for t in tags)


# --- item 5: page tokens -----------------------------------------------------------------------


def _token(data: object) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_forged_page_tokens_are_refused_on_every_paged_endpoint(http: httpx.Client, objects: dict[str, str]) -> None:
    exp, run = objects["experiment_id"], objects["run_id"]
    for token in (_token({"offset": 2**63}), _token({"offset": 2**64}), _token({"offset": "x"}), _token([1])):
        assert_invalid(post(http, f"{API}/runs/search", {"experiment_ids": [exp], "page_token": token}), "page token")
        assert_invalid(post(http, f"{API}/experiments/search", {"page_token": token}), "page token")
        assert_invalid(http.get(f"{API}/experiments/search", params={"page_token": token}), "page token")
        assert_invalid(
            post(http, f"{API}/logged-models/search", {"experiment_ids": [exp], "page_token": token}), "page token"
        )
        assert_invalid(http.get(f"{API}/registered-models/search", params={"page_token": token}), "page token")
        assert_invalid(http.get(f"{API}/model-versions/search", params={"page_token": token}), "page token")
        history = {"run_id": run, "metric_key": "m", "page_token": token}
        assert_invalid(http.get(f"{API}/metrics/get-history", params=history), "page token")


@pytest.mark.parametrize(
    "after",
    [
        "[9223372036854775808, 0, 1.0, false]",
        "[0, 0, " + "9" * 400 + ", false]",
        '[0, 0, 1.0, "x"]',
        '{"a": [[[]]]}',
    ],
)
def test_forged_history_positions_are_refused(http: httpx.Client, objects: dict[str, str], after: str) -> None:
    token = base64.b64encode(f'{{"offset": 0, "after": {after}}}'.encode()).decode()
    params = {"run_id": objects["run_id"], "metric_key": "m", "page_token": token, "max_results": "1"}
    assert_invalid(http.get(f"{API}/metrics/get-history", params=params), "page token")


def test_history_position_with_1e400_reads_as_infinity(http: httpx.Client, objects: dict[str, str]) -> None:
    """`1e400` decodes to infinity, a value a position may hold (metrics may be infinite): a page."""
    token = base64.b64encode(b'{"offset": 0, "after": [0, 0, 1e400, false]}').decode()
    params = {"run_id": objects["run_id"], "metric_key": "m", "page_token": token, "max_results": "1"}
    resp = http.get(f"{API}/metrics/get-history", params=params)
    assert resp.status_code == 200, resp.text
    assert resp.json()["metrics"][0]["timestamp"] == 1


# --- item 6: deep nesting ----------------------------------------------------------------------


@pytest.mark.parametrize("route", ["log-metric", "log-batch", "set-tag", "log-parameter"])
def test_deeply_nested_json_is_a_400(http: httpx.Client, objects: dict[str, str], route: str) -> None:
    deep = "[" * 1000 + "]" * 1000
    run = objects["run_id"]
    for body in (
        f'{{"run_id": "{run}", "key": {deep}, "value": 1, "timestamp": 1}}',
        f'{{"run_id": "{run}", "metrics": [{{"key": "m", "value": {deep}, "timestamp": 1}}]}}',
        f'{{"run_id": "{run}", "junk": {deep}}}',
        '{"a":' * 1000 + "1" + "}" * 1000,
    ):
        assert_invalid(post(http, f"{API}/runs/{route}", body.encode()))


# --- item 7: ASCII integers --------------------------------------------------------------------


def test_ids_and_versions_are_ascii_and_bounded(http: httpx.Client, objects: dict[str, str]) -> None:
    assert_invalid(http.get(f"{API}/experiments/get", params={"experiment_id": FULLWIDTH_ONE}), "Experiment ID")
    assert_invalid(post(http, f"{API}/runs/search", {"experiment_ids": [FULLWIDTH_ONE]}))
    assert_invalid(post(http, f"{API}/experiments/search", {"filter": f"attribute.experiment_id = '{FULLWIDTH_ONE}'"}))
    name, run = objects["model_name"], objects["run_id"]
    created = post(http, f"{API}/model-versions/create", {"name": name, "source": f"runs:/{run}/m", "run_id": run})
    assert created.status_code == 200, created.text
    for source in (f"models:/{name}/\u00b2", f"models:/{name}/18446744073709551616", f"models:/{name}/\u0661"):
        assert_invalid(post(http, f"{API}/model-versions/create", {"name": name, "source": source}))
    for version in ("\u00b2", FULLWIDTH_ONE, "18446744073709551616", " 1"):
        resp = http.get(f"{API}/model-versions/get", params={"name": name, "version": version})
        assert_invalid(resp, "version")
    assert http.get(f"{API}/model-versions/get", params={"name": name, "version": "1"}).status_code == 200


# --- item 8: search sizes ----------------------------------------------------------------------


def test_order_by_and_filter_sizes_are_capped(http: httpx.Client, objects: dict[str, str]) -> None:
    exp, run = objects["experiment_id"], objects["run_id"]
    metrics = [{"key": f"k{i}", "value": i, "timestamp": 1} for i in range(16)]
    assert post(http, f"{API}/runs/log-batch", {"run_id": run, "metrics": metrics}).status_code == 200
    many = [f"metrics.k{i}" for i in range(200)]
    assert_invalid(post(http, f"{API}/runs/search", {"experiment_ids": [exp], "order_by": many}), "at most 16")
    # The most the cap allows, with the largest filter, still answers.
    filter_ = " AND ".join(f"metrics.k{i % 16} >= 0" for i in range(100))
    for kind in ("metrics", "params", "tags"):
        body = {"experiment_ids": [exp], "order_by": [f"{kind}.k{i}" for i in range(16)], "filter": filter_}
        resp = post(http, f"{API}/runs/search", body)
        assert resp.status_code == 200, resp.text
        assert [r["info"]["run_id"] for r in resp.json()["runs"]] == [run]
    too_many = " AND ".join(f"params.p{i} = 'x'" for i in range(101))
    assert_invalid(post(http, f"{API}/runs/search", {"experiment_ids": [exp], "filter": too_many}), "at most 100")
    tags = " AND ".join(f"tags.t{i} = 'x'" for i in range(600))
    assert_invalid(post(http, f"{API}/experiments/search", {"filter": tags}), "at most 100")
    assert_invalid(http.get(f"{API}/registered-models/search", params={"filter": tags}), "at most 100")
    assert_invalid(http.get(f"{API}/model-versions/search", params={"filter": tags}), "at most 100")
    lm_order = [{"field_name": f"metrics.k{i}"} for i in range(17)]
    assert_invalid(post(http, f"{API}/logged-models/search", {"experiment_ids": [exp], "order_by": lm_order}), "16")
    assert_invalid(post(http, f"{API}/experiments/search", {"order_by": ["name"] * 17}), "at most 16")
    params: QueryPairs = [("order_by", "name")] * 17
    assert_invalid(http.get(f"{API}/registered-models/search", params=params), "at most 16")
    assert_invalid(http.get(f"{API}/model-versions/search", params=params), "at most 16")


# --- item 13: references across workspaces -----------------------------------------------------


def test_references_to_another_workspace_are_refused(http: httpx.Client, unique: str) -> None:
    ws_a, ws_b = f"refa-{unique}", f"refb-{unique}"
    for ws in (ws_a, ws_b):
        assert post(http, WS_API, {"name": ws}).status_code == 201
    a, b = {"X-MLFLOW-WORKSPACE": ws_a}, {"X-MLFLOW-WORKSPACE": ws_b}

    def setup(headers: dict[str, str]) -> tuple[str, str, str]:
        exp = post(http, f"{API}/experiments/create", {"name": "e"}, headers=headers).json()["experiment_id"]
        run = post(http, f"{API}/runs/create", {"experiment_id": exp}, headers=headers).json()["run"]["info"]["run_id"]
        model = post(http, f"{API}/logged-models", {"experiment_id": exp, "source_run_id": run}, headers=headers)
        assert model.status_code == 200, model.text
        return exp, run, model.json()["model"]["info"]["model_id"]

    _, run_a, model_a = setup(a)
    exp_b, run_b, model_b = setup(b)

    def refused(resp: httpx.Response) -> None:
        assert resp.status_code in (400, 404), resp.text
        assert resp.json()["error_code"] in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")

    refused(post(http, f"{API}/runs/outputs", {"run_id": run_b, "models": [{"model_id": model_a}]}, headers=b))
    refused(post(http, f"{API}/runs/log-inputs", {"run_id": run_b, "models": [{"model_id": model_a}]}, headers=b))
    refused(post(http, f"{API}/logged-models", {"experiment_id": exp_b, "source_run_id": run_a}, headers=b))
    refused(
        post(
            http,
            f"{API}/runs/log-metric",
            {"run_id": run_b, "key": "m", "value": 1, "timestamp": 1, "model_id": model_a},
            headers=b,
        )
    )
    refused(post(http, f"{API}/runs/outputs", {"run_id": run_b, "models": [{"model_id": "m-missing"}]}, headers=b))
    assert post(http, f"{API}/registered-models/create", {"name": "rm"}, headers=b).status_code == 200
    for version in (
        {"name": "rm", "source": f"runs:/{run_a}/model", "run_id": run_a},
        {"name": "rm", "source": f"models:/{model_a}", "model_id": model_a},
        {"name": "rm", "source": f"runs:/{run_b}/model", "run_id": run_a},
    ):
        refused(post(http, f"{API}/model-versions/create", version, headers=b))
    # Nothing of A's was linked into B; B's own references still work.
    run = http.get(f"{API}/runs/get", params={"run_id": run_b}, headers=b).json()["run"]
    assert "outputs" not in run or not run["outputs"].get("model_outputs")
    own = post(http, f"{API}/runs/outputs", {"run_id": run_b, "models": [{"model_id": model_b}]}, headers=b)
    assert own.status_code == 200, own.text
    ok = post(http, f"{API}/runs/log-inputs", {"run_id": run_b, "models": [{"model_id": model_b}]}, headers=b)
    assert ok.status_code == 200, ok.text
    version = {"name": "rm", "source": f"runs:/{run_b}/model", "run_id": run_b}
    assert post(http, f"{API}/model-versions/create", version, headers=b).status_code == 200
