"""What MLflow's own live-server suite (`tests/tracking/test_rest_tracking.py`) found against
Runyard, fixed and pinned here: the sampled history's points, the GraphQL fields
`mlflowListArtifacts` and `mlflowSearchDatasets`, and paths with repeated leading slashes.

The expected values are what `mlflow server` 3.17.2 (SQLite store) answered for the same calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag

from tests.conftest import ServerProcess

INTERVAL = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval"


@pytest.fixture
def http(tracking: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tracking.url, timeout=60) as client:
        yield client


def _steps(http: httpx.Client, **params: Any) -> list[tuple[str, int]]:
    resp = http.get(INTERVAL, params=params)
    assert resp.status_code == 200, resp.text
    return [(m["run_id"], int(m["step"])) for m in resp.json()["metrics"]]


def test_sampled_history_takes_the_reference_points(http: httpx.Client, unique: str) -> None:
    """The reference splits a series into `max_results` equal buckets, keeps each bucket's first
    point and puts the last point in place of the last sample."""
    client = MlflowClient()
    exp = client.create_experiment(f"sampling-{unique}")
    ten, twenty, gaps = (client.create_run(exp).info.run_id for _ in range(3))
    for i in range(10):
        client.log_metric(ten, "m", 10.0, timestamp=1, step=i)
    for i in range(20):
        client.log_metric(twenty, "m", 10.0, timestamp=1, step=i)
    for s in [0, 1, 5, 6, 7, 20, 21, 50]:
        client.log_metric(gaps, "g", 1.0, timestamp=1, step=s)

    assert _steps(http, run_ids=[ten], metric_key="m", max_results=5) == [(ten, s) for s in [0, 2, 4, 6, 9]]
    assert _steps(http, run_ids=[ten, twenty], metric_key="m", max_results=5) == [
        *[(ten, s) for s in [0, 2, 4, 6, 9]],
        *[(twenty, s) for s in [0, 4, 8, 12, 19]],
    ]
    assert _steps(http, run_ids=[ten], metric_key="m", max_results=1) == [(ten, 9)]
    window = _steps(http, run_ids=[ten], metric_key="m", max_results=3, start_step=2, end_step=8)
    assert window == [(ten, s) for s in [2, 5, 8]]
    assert _steps(http, run_ids=[gaps], metric_key="g", max_results=4) == [(gaps, s) for s in [0, 5, 7, 50]]

    # Two points per step: positions in (step, timestamp) order, the very last point kept.
    for i in range(10):
        client.log_metric(ten, "m", 10.0, timestamp=2, step=i)
    points = http.get(INTERVAL, params={"run_ids": [ten], "metric_key": "m", "max_results": 5}).json()["metrics"]
    assert [(int(p["step"]), int(p["timestamp"])) for p in points] == [(0, 1), (2, 1), (4, 1), (6, 1), (9, 2)]


def _graphql(http: httpx.Client, query: str) -> Any:
    resp = http.post("/graphql", json={"query": query, "operationName": "q"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_graphql_list_artifacts(http: httpx.Client, unique: str, tmp_path: Path) -> None:
    client = MlflowClient()
    run_id = client.create_run(client.create_experiment(f"gql-artifacts-{unique}")).info.run_id
    file = tmp_path / "test.txt"
    file.write_text("hello world")
    client.log_artifact(run_id, str(file))
    client.log_artifact(run_id, str(file), "testDir")
    root_uri = client.get_run(run_id).info.artifact_uri

    fields = "rootUri files { path isDir fileSize } nextPageToken apiError { code }"
    top = _graphql(http, f'query q {{ f: mlflowListArtifacts(input: {{runId: "{run_id}"}}) {{ {fields} }} }}')
    assert top == {
        "data": {
            "f": {
                "rootUri": root_uri,
                "files": [
                    {"path": "test.txt", "isDir": False, "fileSize": "11"},
                    {"path": "testDir", "isDir": True, "fileSize": "0"},
                ],
                "nextPageToken": "",
                "apiError": None,
            }
        },
        "errors": None,
    }
    sub_input = f'runUuid: "{run_id}", path: "testDir"'
    sub = _graphql(http, f"query q {{ mlflowListArtifacts(input: {{{sub_input}}}) {{ files {{ path }} }} }}")
    assert sub["data"]["mlflowListArtifacts"]["files"] == [{"path": "testDir/test.txt"}]
    empty = _graphql(
        http, f'query q {{ mlflowListArtifacts(input: {{runId: "{run_id}", path: "nothing"}}) {{ files {{ path }} }} }}'
    )
    assert empty == {"data": {"mlflowListArtifacts": {"files": []}}, "errors": None}
    missing = _graphql(http, 'query q { mlflowListArtifacts(input: {runId: "nope"}) { files { path } } }')
    assert missing == {"data": {"mlflowListArtifacts": None}, "errors": ["Run with id=nope not found"]}


def test_graphql_search_datasets(http: httpx.Client, unique: str) -> None:
    client = MlflowClient()
    exp = client.create_experiment(f"gql-datasets-{unique}")
    run_id = client.create_run(exp).info.run_id
    client.log_inputs(
        run_id,
        [
            DatasetInput(Dataset("d1", "12345", "script", "test"), []),
            DatasetInput(Dataset("d2", "12346", "script", "test"), [InputTag("mlflow.data.context", "training")]),
        ],
    )
    fields = "datasetSummaries { experimentId name digest context } apiError { code }"
    found = _graphql(http, f'mutation q {{ mlflowSearchDatasets(input: {{experimentIds: ["{exp}"]}}) {{ {fields} }} }}')
    summaries = sorted(found["data"]["mlflowSearchDatasets"]["datasetSummaries"], key=lambda d: d["digest"])
    assert summaries == [
        {"experimentId": exp, "name": "d1", "digest": "12345", "context": ""},
        {"experimentId": exp, "name": "d2", "digest": "12346", "context": "training"},
    ]
    assert found["data"]["mlflowSearchDatasets"]["apiError"] is None
    none = _graphql(http, "mutation q { mlflowSearchDatasets(input: {experimentIds: []}) { datasetSummaries { name }}}")
    assert none == {
        "data": {"mlflowSearchDatasets": None},
        "errors": ["SearchDatasets request must specify at least one experiment_id."],
    }


def test_repeated_leading_slashes_read_as_one(tracking: ServerProcess, unique: str) -> None:
    """MLflow's suite calls `{tracking_uri}//model-versions/get-artifact`: `mlflow server` 3.17.2
    serves a path with repeated leading slashes as if it had one."""
    with httpx.Client(timeout=60) as http:
        resp = http.get(
            f"{tracking.url}//model-versions/get-artifact", params={"name": "model", "version": 1, "path": "../x"}
        )
        assert resp.status_code == 400 and resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        created = http.post(f"{tracking.url}///api/2.0/mlflow/experiments/create", json={"name": f"slashes-{unique}"})
        assert created.status_code == 200 and created.json()["experiment_id"]
        assert http.get(f"{tracking.url}//health").text == "OK"
