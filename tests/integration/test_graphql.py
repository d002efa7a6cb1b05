"""`POST /graphql` against a live server, with the documents the MLflow 3.17.2 web UI sends
(copied from its built bundle, `mlflow/server/js/build/static/js`) and the answers `mlflow server`
3.17.2 gave for the same runs (recorded by hand; shapes, nulls, enum spellings and string-typed
64-bit integers as the reference writes them; only ids and timestamps are the server's own).

Where Runyard answers differently on purpose (bodies that are not one GraphQL request get a 400
instead of the reference's 500; the cap messages omit the reference's environment-variable hint),
the test says so.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import Dataset as MlflowDataset
from mlflow.entities import DatasetInput, InputTag, LoggedModelInput, LoggedModelOutput, Metric, Param, RunTag

from tests.conftest import ServerProcess

API = "/api/2.0/mlflow"

# --- the UI's documents, verbatim -------------------------------------------------------------

UI_GET_EXPERIMENT = """
  query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!) @component(name: "MLflow.ExperimentRunTracking") {
    mlflowGetExperiment(input: $input) {
      apiError {
        code
        message
      }
      experiment {
        artifactLocation
        creationTime
        effectiveTraceArchivalRetention
        experimentId
        lastUpdateTime
        lifecycleStage
        name
        tags {
          key
          value
        }
      }
    }
  }
"""

UI_GET_RUN = """
  query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
    mlflowGetRun(input: $data) {
      apiError {
        helpUrl
        code
        message
      }
      run {
        info {
          runName
          status
          runUuid
          experimentId
          artifactUri
          endTime
          lifecycleStage
          startTime
          userId
        }
        experiment {
          experimentId
          name
          tags {
            key
            value
          }
          artifactLocation
          lifecycleStage
          lastUpdateTime
        }
        modelVersions {
          status
          version
          name
          source
        }
        data {
          metrics {
            key
            value
            step
            timestamp
          }
          params {
            key
            value
          }
          tags {
            key
            value
          }
        }
        inputs {
          datasetInputs {
            dataset {
              digest
              name
              profile
              schema
              source
              sourceType
            }
            tags {
              key
              value
            }
          }
          modelInputs {
            modelId
          }
        }
        outputs {
          modelOutputs {
            modelId
            step
          }
        }
      }
    }
  }
"""

UI_SEARCH_RUNS = """
  query SearchRuns($data: MlflowSearchRunsInput!) {
    mlflowSearchRuns(input: $data) {
      apiError {
        helpUrl
        code
        message
      }
      runs {
        info {
          runName
          status
          runUuid
          experimentId
          artifactUri
          endTime
          lifecycleStage
          startTime
          userId
        }
        experiment {
          experimentId
          name
          tags {
            key
            value
          }
          artifactLocation
          lifecycleStage
          lastUpdateTime
        }
        data {
          metrics {
            key
            value
            step
            timestamp
          }
          params {
            key
            value
          }
          tags {
            key
            value
          }
        }
        inputs {
          datasetInputs {
            dataset {
              digest
              name
              profile
              schema
              source
              sourceType
            }
            tags {
              key
              value
            }
          }
          modelInputs {
            modelId
          }
        }
        outputs {
          modelOutputs {
            modelId
            step
          }
        }
        modelVersions {
          version
          name
          creationTimestamp
          status
          source
        }
      }
    }
  }
"""

UI_SAMPLED_METRICS = """
  query GetMetricHistoryBulkInterval($data: MlflowGetMetricHistoryBulkIntervalInput!)
  @component(name: "MLflow.ExperimentRunTracking") {
    mlflowGetMetricHistoryBulkInterval(input: $data) {
      __typename
      metrics {
        timestamp
        step
        runId
        key
        value
      }
      apiError {
        code
        message
      }
    }
  }
"""

DATASET_SCHEMA = (
    '{"mlflow_colspec": [{"type": "long", "name": "a", "required": true}, '
    '{"type": "double", "name": "b", "required": true}]}'
)
DATASET_PROFILE = '{"num_rows": 2, "num_elements": 4}'
DATASET_SOURCE = '{"uri": "s3://bucket/data.csv"}'


@dataclass
class Logged:
    experiment_id: str
    run_id: str
    model_id: str
    model_name: str


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def _log_run(client: MlflowClient, unique: str) -> Logged:
    """A run with what the UI's run page shows: params, tags, metrics (NaN, a 2**40 step), a dataset
    input with tags, a model input and output, and a registered version."""
    experiment_id = client.create_experiment(f"gql-{unique}", tags={"team": "vision"})
    run = client.create_run(experiment_id, run_name="gql-run", tags={"owner": "alice"})
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[
            Metric("loss", 0.5, 1700000000123, 3),
            Metric("nanm", math.nan, 1700000000000, 1),
            Metric("big", 2.0, 1700000000001, 2**40),
        ],
        params=[Param("alpha", "0.5")],
        tags=[RunTag("mlflow.user", "alice")],
    )
    dataset = MlflowDataset("train", "83a1fa01", "s3", DATASET_SOURCE, DATASET_SCHEMA, DATASET_PROFILE)
    tags = [InputTag("mlflow.data.context", "training"), InputTag("split", "train")]
    client.log_inputs(run_id, [DatasetInput(dataset, tags)])
    model = client.create_logged_model(experiment_id, name="m1", source_run_id=run_id)
    client.log_inputs(run_id, models=[LoggedModelInput(model.model_id)])
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 7)])
    model_name = f"rm-{unique}"
    client.create_registered_model(model_name)
    client.create_model_version(model_name, f"runs:/{run_id}/model", run_id=run_id)
    client.set_terminated(run_id)
    return Logged(experiment_id, run_id, model.model_id, model_name)


@pytest.fixture
def logged(tracking: ServerProcess, unique: str) -> Logged:
    return _log_run(MlflowClient(), unique)


def post(http: httpx.Client, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    body.update(kwargs)
    return http.post("/graphql", json=body)


def answer(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    return resp.json()


def canonical(value: Any) -> Any:
    """Lists of key/value objects in key order (the reference's own order varies between calls)."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        if items and all(isinstance(i, dict) and "key" in i for i in items):
            items.sort(key=lambda i: i["key"])
        return items
    return value


def _rest(http: httpx.Client, logged: Logged) -> tuple[dict[str, Any], dict[str, Any]]:
    run = http.get(f"{API}/runs/get", params={"run_id": logged.run_id}).json()["run"]
    experiment = http.get(f"{API}/experiments/get", params={"experiment_id": logged.experiment_id}).json()
    return run, experiment["experiment"]


def _expected_experiment(experiment: dict[str, Any]) -> dict[str, Any]:
    return {
        "experimentId": experiment["experiment_id"],
        "name": experiment["name"],
        "tags": [{"key": "team", "value": "vision"}],
        "artifactLocation": experiment["artifact_location"],
        "lifecycleStage": "active",
        "lastUpdateTime": str(experiment["last_update_time"]),
    }


def _expected_run(logged: Logged, run: dict[str, Any], experiment: dict[str, Any]) -> dict[str, Any]:
    info = run["info"]
    return {
        "info": {
            "runName": "gql-run",
            "status": "FINISHED",
            "runUuid": logged.run_id,
            "experimentId": logged.experiment_id,
            "artifactUri": info["artifact_uri"],
            "endTime": str(info["end_time"]),
            "lifecycleStage": "active",
            "startTime": str(info["start_time"]),
            "userId": info.get("user_id", ""),
        },
        "experiment": _expected_experiment(experiment),
        "modelVersions": [
            {"status": "READY", "version": "1", "name": logged.model_name, "source": f"runs:/{logged.run_id}/model"}
        ],
        "data": {
            "metrics": [
                {"key": "big", "value": 2.0, "step": "1099511627776", "timestamp": "1700000000001"},
                {"key": "loss", "value": 0.5, "step": "3", "timestamp": "1700000000123"},
                {"key": "nanm", "value": None, "step": "1", "timestamp": "1700000000000"},  # NaN reads as null
            ],
            "params": [{"key": "alpha", "value": "0.5"}],
            "tags": canonical(run["data"]["tags"]),
        },
        "inputs": {
            "datasetInputs": [
                {
                    "dataset": {
                        "digest": "83a1fa01",
                        "name": "train",
                        "profile": DATASET_PROFILE,
                        "schema": DATASET_SCHEMA,
                        "source": DATASET_SOURCE,
                        "sourceType": "s3",
                    },
                    "tags": [{"key": "mlflow.data.context", "value": "training"}, {"key": "split", "value": "train"}],
                }
            ],
            "modelInputs": [{"modelId": logged.model_id}],
        },
        "outputs": {"modelOutputs": [{"modelId": logged.model_id, "step": "7"}]},
    }


# --- the UI's documents -----------------------------------------------------------------------


def test_ui_experiment_query(http: httpx.Client, logged: Logged) -> None:
    _, experiment = _rest(http, logged)
    got = answer(
        post(
            http,
            UI_GET_EXPERIMENT,
            {"input": {"experimentId": logged.experiment_id}},
            operationName="MlflowGetExperimentQuery",
        )
    )
    assert canonical(got) == {
        "data": {
            "mlflowGetExperiment": {
                "apiError": None,
                "experiment": {
                    "artifactLocation": experiment["artifact_location"],
                    "creationTime": str(experiment["creation_time"]),
                    "effectiveTraceArchivalRetention": "",
                    "experimentId": logged.experiment_id,
                    "lastUpdateTime": str(experiment["last_update_time"]),
                    "lifecycleStage": "active",
                    "name": experiment["name"],
                    "tags": [{"key": "team", "value": "vision"}],
                },
            }
        },
        "errors": None,
    }


def test_ui_run_query(http: httpx.Client, logged: Logged) -> None:
    run, experiment = _rest(http, logged)
    assert {"key": "owner", "value": "alice"} in run["data"]["tags"]
    got = answer(post(http, UI_GET_RUN, {"data": {"runId": logged.run_id}}, operationName="GetRun"))
    expected = {"apiError": None, "run": _expected_run(logged, run, experiment)}
    assert canonical(got) == {"data": {"mlflowGetRun": expected}, "errors": None}
    # The legacy id field works as well.
    again = answer(post(http, UI_GET_RUN, {"data": {"runUuid": logged.run_id}}, operationName="GetRun"))
    assert canonical(again) == canonical(got)


def test_ui_search_runs_query(http: httpx.Client, logged: Logged) -> None:
    run, experiment = _rest(http, logged)
    variables = {"data": {"filter": f"attributes.run_id = '{logged.run_id}'", "experimentIds": [logged.experiment_id]}}
    got = answer(post(http, UI_SEARCH_RUNS, variables, operationName="SearchRuns"))
    expected_run = _expected_run(logged, run, experiment)
    version = http.get(f"{API}/model-versions/get", params={"name": logged.model_name, "version": "1"}).json()
    expected_run["modelVersions"] = [
        {
            "version": "1",
            "name": logged.model_name,
            "creationTimestamp": str(version["model_version"]["creation_timestamp"]),
            "status": "READY",
            "source": f"runs:/{logged.run_id}/model",
        }
    ]
    assert canonical(got) == {"data": {"mlflowSearchRuns": {"apiError": None, "runs": [expected_run]}}, "errors": None}


def test_ui_sampled_metrics_query(http: httpx.Client, logged: Logged) -> None:
    variables = {
        "data": {"runIds": [logged.run_id], "metricKey": "loss", "startStep": None, "endStep": None, "maxResults": 320}
    }
    got = answer(post(http, UI_SAMPLED_METRICS, variables, operationName="GetMetricHistoryBulkInterval"))
    assert got == {
        "data": {
            "mlflowGetMetricHistoryBulkInterval": {
                "__typename": "MlflowGetMetricHistoryBulkIntervalResponse",
                "metrics": [
                    {"timestamp": "1700000000123", "step": "3", "runId": logged.run_id, "key": "loss", "value": 0.5}
                ],
                "apiError": None,
            }
        },
        "errors": None,
    }
    # The reference's type for these points is the plain Float: a NaN point is an error there too.
    variables["data"]["metricKey"] = "nanm"
    got = answer(post(http, UI_SAMPLED_METRICS, variables))
    assert got["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"][0]["value"] is None
    assert got["errors"] == ["Float cannot represent non numeric value: nan"]


def test_every_field_a_run_has_with_the_reference_defaults(http: httpx.Client, logged: Logged) -> None:
    """Fields never logged read as the reference's protobuf defaults: "" for strings, "0" for 64-bit
    integers, [] for lists."""
    query = """query Q($i: MlflowGetRunInput!) { mlflowGetRun(input: $i) { run {
      info { runId runUuid endTime }
      data { metrics { key datasetName datasetDigest modelId runId } }
      modelVersions { userId description runId statusMessage runLink aliases tags { key } modelId currentStage
        modelParams { name } modelMetrics { key }
        deploymentJobState { jobId runId jobState runState currentTaskName } } } } }"""
    got = answer(post(http, query, {"i": {"runId": logged.run_id}}))
    assert got["errors"] is None
    run = got["data"]["mlflowGetRun"]["run"]
    assert run["info"]["runId"] == run["info"]["runUuid"] == logged.run_id
    assert {
        m["key"]: (m["datasetName"], m["datasetDigest"], m["modelId"], m["runId"]) for m in run["data"]["metrics"]
    } == {k: ("", "", "", "") for k in ("big", "loss", "nanm")}
    [version] = run["modelVersions"]
    assert version == {
        "userId": "",
        "description": "",
        "runId": logged.run_id,
        "statusMessage": "",
        "runLink": "",
        "aliases": [],
        "tags": [],
        "modelId": "",
        "currentStage": "None",
        "modelParams": [],
        "modelMetrics": [],
        # The reference answers the two enums with errors (it cannot name the protobuf default): null here.
        "deploymentJobState": {"jobId": "", "runId": "", "jobState": None, "runState": None, "currentTaskName": ""},
    }
    running = MlflowClient().create_run(logged.experiment_id).info.run_id
    query = """query Q($i: MlflowGetRunInput!) { mlflowGetRun(input: $i) { run {
      info { status endTime }
      inputs { datasetInputs { tags { key } } modelInputs { modelId } }
      outputs { modelOutputs { modelId } }
      modelVersions { name }
      data { metrics { key } params { key } } } } }"""
    got = answer(post(http, query, {"i": {"runId": running}}))
    assert got == {
        "data": {
            "mlflowGetRun": {
                "run": {
                    "info": {"status": "RUNNING", "endTime": "0"},
                    "inputs": {"datasetInputs": [], "modelInputs": []},
                    "outputs": {"modelOutputs": []},
                    "modelVersions": [],
                    "data": {"metrics": [], "params": []},
                }
            }
        },
        "errors": None,
    }


def test_infinite_metrics_read_as_the_largest_doubles(http: httpx.Client, logged: Logged) -> None:
    """GraphQL's Float has no infinity; the reference's store keeps ±1.7976931348623157e308 instead,
    and that is what its UI shows."""
    client = MlflowClient()
    client.log_metric(logged.run_id, "up", math.inf, timestamp=1, step=0)
    client.log_metric(logged.run_id, "down", -math.inf, timestamp=1, step=0)
    query = "query Q($i: MlflowGetRunInput!) { mlflowGetRun(input: $i) { run { data { metrics { key value } } } } }"
    got = answer(post(http, query, {"i": {"runId": logged.run_id}}))
    assert got["errors"] is None
    values = {m["key"]: m["value"] for m in got["data"]["mlflowGetRun"]["run"]["data"]["metrics"]}
    assert values["up"] == sys.float_info.max and values["down"] == -sys.float_info.max


def test_search_runs_through_the_mutation_and_model_versions(http: httpx.Client, logged: Logged) -> None:
    query = """mutation M($d: MlflowSearchRunsInput!) {
      mlflowSearchRuns(input: $d) { nextPageToken runs { info { runId } } } }"""
    got = answer(post(http, query, {"d": {"experimentIds": [logged.experiment_id], "runViewType": "ALL"}}))
    assert got == {
        "data": {"mlflowSearchRuns": {"nextPageToken": "", "runs": [{"info": {"runId": logged.run_id}}]}},
        "errors": None,
    }
    query = """query Q($d: MlflowSearchModelVersionsInput) { mlflowSearchModelVersions(input: $d) {
      nextPageToken apiError { code } modelVersions { name version runId status } } }"""
    got = answer(post(http, query, {"d": {"filter": f"name='{logged.model_name}'", "maxResults": "5"}}))
    assert got == {
        "data": {
            "mlflowSearchModelVersions": {
                "nextPageToken": "",
                "apiError": None,
                "modelVersions": [
                    {"name": logged.model_name, "version": "1", "runId": logged.run_id, "status": "READY"}
                ],
            }
        },
        "errors": None,
    }
    assert answer(post(http, '{ test(inputString: "x") { output } }')) == {
        "data": {"test": {"output": "x"}},
        "errors": None,
    }
    # The reference's testMutation answers null (its resolver is never found).
    assert answer(post(http, 'mutation { testMutation(inputString: "y") { output } }')) == {
        "data": {"testMutation": None},
        "errors": None,
    }


# --- workspaces and missing objects -----------------------------------------------------------


def test_a_run_in_another_workspace_is_not_visible(http: httpx.Client, tracking: ServerProcess, unique: str) -> None:
    import mlflow

    workspace = f"gql-{unique}"
    mlflow.create_workspace(workspace)
    try:
        mlflow.set_workspace(workspace)
        elsewhere = _log_run(MlflowClient(), unique)
    finally:
        mlflow.set_workspace(None)
    variables = {"data": {"runId": elsewhere.run_id}}
    assert answer(post(http, UI_GET_RUN, variables)) == {
        "data": {"mlflowGetRun": None},
        "errors": [f"Run with id={elsewhere.run_id} not found"],
    }
    experiment = answer(post(http, UI_GET_EXPERIMENT, {"input": {"experimentId": elsewhere.experiment_id}}))
    assert experiment["data"] == {"mlflowGetExperiment": None} and len(experiment["errors"]) == 1
    searched = answer(post(http, UI_SEARCH_RUNS, {"data": {"filter": f"attributes.run_id = '{elsewhere.run_id}'"}}))
    assert searched == {"data": {"mlflowSearchRuns": {"apiError": None, "runs": []}}, "errors": None}
    # In its own workspace, by header and by URL, it is there.
    body = {"query": UI_GET_RUN, "variables": variables}
    by_header = http.post("/graphql", json=body, headers={"X-MLFLOW-WORKSPACE": workspace}).json()
    by_url = http.post(f"/w/{workspace}/graphql", json=body).json()
    assert by_header == by_url
    assert (
        by_header["errors"] is None and by_header["data"]["mlflowGetRun"]["run"]["info"]["runUuid"] == elsewhere.run_id
    )
    assert by_header["data"]["mlflowGetRun"]["run"]["experiment"]["experimentId"] == elsewhere.experiment_id
    unknown = http.post("/graphql", json=body, headers={"X-MLFLOW-WORKSPACE": f"ghost-{unique}"})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_unknown_ids_answer_as_the_reference(http: httpx.Client) -> None:
    assert answer(post(http, UI_GET_RUN, {"data": {"runId": "0" * 32}})) == {
        "data": {"mlflowGetRun": None},
        "errors": ["Run with id=00000000000000000000000000000000 not found"],
    }
    assert answer(post(http, UI_GET_EXPERIMENT, {"input": {"experimentId": "987654"}})) == {
        "data": {"mlflowGetExperiment": None},
        "errors": ["No Experiment with id=987654 exists"],
    }


# --- validation errors: the reference's status and messages -----------------------------------


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"query": "query Q { mlflowNope { x } }"}, ["Cannot query field 'mlflowNope' on type 'Query'."]),
        (
            {"query": 'query { mlflowGetRun(input: {runId: "x"}) { run { info { nope } } } }'},
            ["Cannot query field 'nope' on type 'MlflowRunInfo'."],
        ),
        (
            {"query": '{ mlflowSearchDatasets(input: {experimentIds: ["0"]}) { datasetSummaries { name } } }'},
            ["Cannot query field 'mlflowSearchDatasets' on type 'Query'. Did you mean 'mlflowSearchRuns'?"],
        ),
        ({"query": UI_GET_RUN, "operationName": "Nope"}, ["Unknown operation named 'Nope'."]),
        (
            {"query": UI_GET_RUN, "operationName": "GetRun"},
            ["Variable '$data' of required type 'MlflowGetRunInput!' was not provided."],
        ),
        (
            {"query": 'query A { test(inputString: "a") { output } } query B { test(inputString: "b") { output } }'},
            ["Must provide operation name if query contains multiple operations."],
        ),
        (
            {"query": "{ mlflowGetRun(input: {runId: 5}) { run { info { runId } } } }"},
            ["String cannot represent a non string value: 5"],
        ),
        ({"query": "subscription { x }"}, ["Schema is not configured to execute subscription operation."]),
        # The reference answers a syntax error with a bare 500; Runyard in GraphQL's error shape.
        ({"query": "query {"}, ["Syntax Error: Expected Name, found <EOF>."]),
    ],
)
def test_validation_errors(http: httpx.Client, body: dict[str, Any], errors: list[str]) -> None:
    assert answer(http.post("/graphql", json=body)) == {"data": None, "errors": errors}


def test_the_operation_named_is_the_one_run(http: httpx.Client) -> None:
    query = 'query A { test(inputString: "a") { output } } query B { test(inputString: "b") { output } }'
    assert answer(post(http, query, operationName="B")) == {"data": {"test": {"output": "b"}}, "errors": None}


# --- caps (CVE-2025-0453) ---------------------------------------------------------------------


def _nested(levels: int) -> str:
    return "query { " + "a { " * (levels - 1) + "b" + " }" * (levels - 1) + " }"


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (_nested(11), "Query exceeds maximum depth of 10"),
        (
            '{ mlflowGetRun(input: {runId: "x"}) { run { info { ' + " ".join(["runId"] * 1001) + " } } } }",
            "Query exceeds maximum total selections of 1000",
        ),
        # The reference's messages go on "To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_...
        # environment variable.": Runyard's limits are fixed.
        (
            "query { " + " ".join(f'a{i}: test(inputString: "x") {{ output }}' for i in range(11)) + " }",
            "GraphQL queries should have at most 10 root fields, got 11 root fields.",
        ),
        (
            '{ mlflowGetRun(input: {runId: "x"}) { '
            + " ".join(f"a{i}: apiError {{ code }}" for i in range(11))
            + " } }",
            "GraphQL queries should have at most 10 aliases, got 11 aliases.",
        ),
        # Aliases spread over fragments at one level count together.
        (
            '{ mlflowGetRun(input: {runId: "x"}) { ...F ...G } } '
            "fragment F on MlflowGetRunResponse { " + " ".join(f"f{i}: apiError {{ code }}" for i in range(6)) + " } "
            "fragment G on MlflowGetRunResponse { " + " ".join(f"g{i}: apiError {{ code }}" for i in range(5)) + " }",
            "GraphQL queries should have at most 10 aliases, got 11 aliases.",
        ),
        # Runyard's own: documents over 64 KiB (the reference has no size limit).
        ("{ __typename }" + " " * 65536, "Query exceeds maximum size of 65536 bytes, got 65550 bytes"),
        (
            "{ test(inputString: " + "[" * 5000 + "]" * 5000 + ") { output } }",
            "Syntax Error: Document is nested too deeply. Parsing aborted.",
        ),
    ],
)
def test_caps(http: httpx.Client, query: str, error: str) -> None:
    assert answer(post(http, query)) == {"data": None, "errors": [error]}


def test_ten_levels_ten_aliases_and_ten_root_fields_are_allowed(http: httpx.Client) -> None:
    got = answer(post(http, _nested(10)))
    assert got["errors"] == ["Cannot query field 'a' on type 'Query'."]  # past the caps, to validation
    query = "query { " + " ".join(f'a{i}: test(inputString: "{i}") {{ output }}' for i in range(10)) + " }"
    got = answer(post(http, query))
    assert got == {"data": {f"a{i}": {"output": str(i)} for i in range(10)}, "errors": None}


# --- bodies that are not one GraphQL request --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        # A batch: the reference fails with a bare 500 (it cannot read it); Runyard refuses it plainly.
        (b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]', "Batched GraphQL requests"),
        (b"[]", "Batched GraphQL requests"),
        (b"{not json", "Malformed JSON in request body"),
        (b"", "Request body must be a JSON object"),
        (b"null", "Request body must be a JSON object"),
        (b'"{ __typename }"', "Request body must be a JSON object"),
        (b'{"foo": 1}', "Missing value for required parameter 'query'."),
        (b'{"query": 5}', "Invalid value 5 for parameter 'query'"),
        (b'{"query": "{ __typename }", "variables": "x"}', "for parameter 'variables'"),
        (b'{"query": "{ __typename }", "operationName": 1}', "for parameter 'operationName'"),
        (b'{"query": "{ test(inputString: \\"\\u0000\\") { output } }"}', "NUL"),
    ],
)
def test_bodies_that_are_not_one_request_are_400(http: httpx.Client, body: bytes, needle: str) -> None:
    resp = http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    error = resp.json()
    assert error["error_code"] == "INVALID_PARAMETER_VALUE" and needle in error["message"], error


def test_content_type_method_size_and_path(http: httpx.Client) -> None:
    resp = http.post("/graphql", content=b'{"query": "{ __typename }"}', headers={"Content-Type": "text/plain"})
    assert resp.status_code == 400 and "Content-Type must be one of ['application/json']" in resp.json()["message"]
    # The reference routes GET too, but fails every GET with a bare 500.
    resp = http.get("/graphql", params={"query": "{ __typename }"})
    assert resp.status_code == 405 and resp.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    big = b'{"query": "{ __typename }", "variables": {"x": "' + b"y" * (1024 * 1024) + b'"}}'
    resp = http.post("/graphql", content=big, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and "at most 1048576 bytes" in resp.json()["message"]
    # Like the reference, GraphQL is at the root only.
    resp = http.post("/ajax-api/graphql", json={"query": "{ __typename }"})
    assert resp.status_code == 404
    assert answer(post(http, "{ __typename }")) == {"data": {"__typename": "Query"}, "errors": None}


def test_each_searched_run_gets_its_own_model_versions(
    http: httpx.Client, tracking: ServerProcess, unique: str
) -> None:
    """The versions of a page's runs are read together; each run still gets exactly its own."""
    client = MlflowClient()
    experiment_id = client.create_experiment(f"gql-versions-{unique}")
    runs = [client.create_run(experiment_id).info.run_id for _ in range(3)]
    name = f"rm-many-{unique}"
    client.create_registered_model(name)
    for run_id in (runs[0], runs[1], runs[0]):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    query = """query Q($d: MlflowSearchRunsInput!) { mlflowSearchRuns(input: $d) {
      runs { info { runUuid } modelVersions { version runId } } } }"""
    got = answer(post(http, query, {"d": {"experimentIds": [experiment_id]}}))
    assert got["errors"] is None
    versions = {
        r["info"]["runUuid"]: sorted(v["version"] for v in r["modelVersions"])
        for r in got["data"]["mlflowSearchRuns"]["runs"]
    }
    assert versions == {runs[0]: ["1", "3"], runs[1]: ["2"], runs[2]: []}
