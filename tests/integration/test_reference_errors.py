"""Protocol fidelity (issue 11): error codes, statuses and messages as `mlflow server` 3.17.2 answers.

Every expected value here was read from a live reference server (SQLite store, `--enable-workspaces`
for the workspace cases) with the same requests; the tests run against Runyard only, on both stores.
Where Runyard deliberately answers otherwise the test says so and the README's differs list says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess

API = "/api/2.0/mlflow"
HINT = "See the API docs for more information about request parameters."
JSON = {"Content-Type": "application/json"}


def missing(field: str) -> str:
    return f"Missing value for required parameter '{field}'. {HINT}"


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture
def experiment_id(http: httpx.Client, unique: str) -> str:
    resp = http.post(f"{API}/experiments/create", json={"name": f"ref-errors-{unique}"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["experiment_id"])


@pytest.fixture
def run_id(http: httpx.Client, experiment_id: str) -> str:
    return str(http.post(f"{API}/runs/create", json={"experiment_id": experiment_id}).json()["run"]["info"]["run_id"])


def assert_error(resp: httpx.Response, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["error_code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    return body


# --- 1. experiment names ---------------------------------------------------------------------


def test_rename_onto_a_taken_name_is_bad_request(http: httpx.Client, unique: str) -> None:
    first = http.post(f"{API}/experiments/create", json={"name": f"taken-{unique}"}).json()["experiment_id"]
    second = http.post(f"{API}/experiments/create", json={"name": f"other-{unique}"}).json()["experiment_id"]
    # Creating a duplicate stays RESOURCE_ALREADY_EXISTS (as the reference), renaming onto one is BAD_REQUEST.
    assert_error(
        http.post(f"{API}/experiments/create", json={"name": f"taken-{unique}"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
        f"Experiment(name=taken-{unique}) already exists.",
    )
    assert_error(
        http.post(f"{API}/experiments/update", json={"experiment_id": second, "new_name": f"taken-{unique}"}),
        400,
        "BAD_REQUEST",
        f"Experiment(name=taken-{unique}) already exists.",
    )
    # A deleted experiment keeps its name: renaming onto it is the same BAD_REQUEST.
    assert http.post(f"{API}/experiments/delete", json={"experiment_id": first}).status_code == 200
    assert_error(
        http.post(f"{API}/experiments/update", json={"experiment_id": second, "new_name": f"taken-{unique}"}),
        400,
        "BAD_REQUEST",
    )
    # Renaming to its own name is a no-op.
    ok = http.post(f"{API}/experiments/update", json={"experiment_id": second, "new_name": f"other-{unique}"})
    assert ok.status_code == 200 and ok.json() == {}


# --- 2. whitespace-only filters ----------------------------------------------------------------


_PARSE = "Invalid filter '{f}'. Could not be parsed."


@pytest.mark.parametrize("text", [" ", "   ", "\t\n"])
def test_a_whitespace_only_filter_is_refused(http: httpx.Client, experiment_id: str, text: str) -> None:
    calls = [
        (http.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id], "filter": text}), _PARSE),
        (http.post(f"{API}/experiments/search", json={"filter": text, "max_results": 10}), _PARSE),
        (http.get(f"{API}/experiments/search", params={"filter": text, "max_results": 10}), _PARSE),
        (http.get(f"{API}/registered-models/search", params={"filter": text}), _PARSE),
        (http.get(f"{API}/model-versions/search", params={"filter": text}), _PARSE),
        (
            http.post(f"{API}/logged-models/search", json={"experiment_ids": [experiment_id], "filter": text}),
            "Invalid filter string: '{f}'. Expected a single SQL expression.",
        ),
    ]
    for resp, message in calls:
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", message.format(f=text))


def test_an_empty_filter_is_no_filter(http: httpx.Client, experiment_id: str, run_id: str) -> None:
    found = http.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id], "filter": ""})
    assert found.status_code == 200 and [r["info"]["run_id"] for r in found.json()["runs"]] == [run_id]
    assert http.get(f"{API}/registered-models/search", params={"filter": ""}).status_code == 200
    assert http.post(f"{API}/experiments/search", json={"filter": "", "max_results": 5}).status_code == 200


# --- 3. ids that name nothing, and malformed ids -------------------------------------------------


@pytest.mark.parametrize("raw", ["-1", "-5", "999999999"])
def test_a_well_formed_unknown_experiment_id_is_not_found(http: httpx.Client, raw: str) -> None:
    message = f"No Experiment with id={raw} exists"
    assert_error(
        http.get(f"{API}/experiments/get", params={"experiment_id": raw}), 404, "RESOURCE_DOES_NOT_EXIST", message
    )
    assert_error(http.post(f"{API}/runs/create", json={"experiment_id": raw}), 404, "RESOURCE_DOES_NOT_EXIST", message)
    assert_error(
        http.post(f"{API}/experiments/delete", json={"experiment_id": raw}), 404, "RESOURCE_DOES_NOT_EXIST", message
    )
    # Searching an experiment that does not exist finds nothing.
    found = http.post(f"{API}/runs/search", json={"experiment_ids": [raw]})
    assert found.status_code == 200 and found.json() == {}


@pytest.mark.parametrize("raw", ["abc", "1.5", "0x1"])
def test_a_malformed_experiment_id_is_invalid(http: httpx.Client, raw: str) -> None:
    message = f"Invalid experiment ID '{raw}'. Experiment ID must be a valid integer."
    assert_error(
        http.get(f"{API}/experiments/get", params={"experiment_id": raw}), 400, "INVALID_PARAMETER_VALUE", message
    )
    assert_error(
        http.post(f"{API}/runs/search", json={"experiment_ids": [raw]}), 400, "INVALID_PARAMETER_VALUE", message
    )


def test_missing_ids(http: httpx.Client) -> None:
    for params in ({}, {"experiment_id": ""}):
        assert_error(
            http.get(f"{API}/experiments/get", params=params), 400, "INVALID_PARAMETER_VALUE", missing("experiment_id")
        )
    for params in ({}, {"run_id": ""}):
        assert_error(http.get(f"{API}/runs/get", params=params), 400, "INVALID_PARAMETER_VALUE", missing("run_id"))


@pytest.mark.parametrize("raw", ["abc", "-1", "0123456789abcdef0123456789abcdef"])
def test_an_unknown_run_id_is_not_found(http: httpx.Client, raw: str) -> None:
    assert_error(
        http.get(f"{API}/runs/get", params={"run_id": raw}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"Run with id={raw} not found",
    )


# --- 4. bodies that are not a JSON object ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("experiments/create", "name"),
        ("runs/log-metric", "run_id"),
        ("runs/log-batch", "run_id"),
        ("runs/log-parameter", "run_id"),
    ],
)
def test_a_null_body_is_an_empty_message(http: httpx.Client, path: str, field: str) -> None:
    # The reference reads `null` (like an empty body) as `{}` and names the first missing field.
    for body in (b"null", b"", b" null "):
        assert_error(
            http.post(f"{API}/{path}", content=body, headers=JSON), 400, "INVALID_PARAMETER_VALUE", missing(field)
        )


def test_a_double_encoded_body_is_decoded_again(http: httpx.Client, unique: str) -> None:
    # Older clients post the JSON object as a JSON string; the reference decodes it a second time.
    inner = f'{{"name": "double-{unique}"}}'
    resp = http.post(f"{API}/experiments/create", json=inner)
    assert resp.status_code == 200, resp.text
    got = http.get(f"{API}/experiments/get-by-name", params={"experiment_name": f"double-{unique}"})
    assert got.json()["experiment"]["experiment_id"] == resp.json()["experiment_id"]


@pytest.mark.parametrize("path", ["experiments/create", "runs/log-metric", "runs/log-batch", "runs/search"])
@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "Malformed JSON in request body"),
        (b'{"name": "\xff\xfe"}', "Malformed JSON in request body"),
        (b"[1, 2]", "Request body must be a JSON object."),
        (b"17", "Request body must be a JSON object."),
        (b'"text"', "Request body must be a JSON object."),
    ],
)
def test_a_body_that_is_not_an_object_is_refused(http: httpx.Client, path: str, body: bytes, needle: str) -> None:
    # Deliberate (README): the reference reads invalid JSON as `{}` and answers arrays with an HTML 500.
    error = assert_error(http.post(f"{API}/{path}", content=body, headers=JSON), 400, "INVALID_PARAMETER_VALUE")
    assert needle in error["message"]


@pytest.mark.parametrize("path", ["runs/log-batch", "runs/log-metric"])
def test_the_fast_decoder_refuses_non_utf8_as_the_reference_decoder_does(
    http: httpx.Client, run_id: str, path: str
) -> None:
    # Invalid UTF-8 in a field the fast decoder skips must not slip through it.
    if path == "runs/log-batch":
        body = b'{"run_id": "%s", "comment": "\xff", "metrics": []}' % run_id.encode()
    else:
        body = b'{"run_id": "%s", "comment": "\xff", "key": "k", "value": 1, "timestamp": 1}' % run_id.encode()
    error = assert_error(http.post(f"{API}/{path}", content=body, headers=JSON), 400, "INVALID_PARAMETER_VALUE")
    assert error["message"].startswith("Malformed JSON in request body"), error
    history = http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "k"})
    assert history.json() == {}


# --- 5. dataset inputs -------------------------------------------------------------------------


def _inputs(http: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    run = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    inputs: list[dict[str, Any]] = run["inputs"].get("dataset_inputs", [])
    return inputs


def test_dataset_inputs_without_name_or_digest_are_stored_as_empty(http: httpx.Client, run_id: str) -> None:
    for dataset in (
        {"digest": "d1", "source_type": "local", "source": "s"},
        {"name": "n2", "source_type": "local", "source": "s"},
        {"name": "n3", "digest": "d3", "source": "s"},
        {"name": "n4", "digest": "d4", "source_type": "local"},
    ):
        resp = http.post(f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": [{"dataset": dataset}]})
        assert resp.status_code == 200, resp.text
    assert [d["dataset"] for d in _inputs(http, run_id)] == [
        {"name": "", "digest": "d1", "source_type": "local", "source": "s"},
        {"name": "n2", "digest": "", "source_type": "local", "source": "s"},
        {"name": "n3", "digest": "d3", "source_type": "", "source": "s"},
        {"name": "n4", "digest": "d4", "source_type": "local", "source": ""},
    ]


def test_a_dataset_logged_again_keeps_its_first_context(http: httpx.Client, experiment_id: str, run_id: str) -> None:
    def log(name: str, tags: list[dict[str, str]]) -> None:
        dataset = {"name": name, "digest": name.lower(), "source_type": "local", "source": "s"}
        resp = http.post(
            f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": [{"dataset": dataset, "tags": tags}]}
        )
        assert resp.status_code == 200, resp.text

    def context(value: str) -> dict[str, str]:
        return {"key": "mlflow.data.context", "value": value}

    log("A", [context("train")])
    log("B", [context("train")])
    log("A", [context("eval")])
    log("A", [])
    log("D", [context("eval"), {"key": "extra", "value": "1"}])
    log("D", [{"key": "extra", "value": "2"}])
    expected = [
        ("A", [context("train")]),
        ("B", [context("train")]),
        # Tags come back sorted by key, as the reference answers them.
        ("D", [{"key": "extra", "value": "1"}, context("eval")]),
    ]
    assert [(d["dataset"]["name"], d["tags"]) for d in _inputs(http, run_id)] == expected
    found = http.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id]}).json()["runs"][0]
    assert [(d["dataset"]["name"], d["tags"]) for d in found["inputs"]["dataset_inputs"]] == expected


def test_the_client_logs_a_dataset_without_name_or_digest(tracking: ServerProcess, unique: str) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Dataset, DatasetInput, InputTag

    client = MlflowClient()
    experiment = client.create_experiment(f"client-datasets-{unique}")
    run = client.create_run(experiment)
    dataset = Dataset(name="", digest="", source_type="local", source="s")
    client.log_inputs(run.info.run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", "train")])])
    inputs = client.get_run(run.info.run_id).inputs
    assert inputs is not None
    got = inputs.dataset_inputs
    assert [(d.dataset.name, d.dataset.digest, d.dataset.source) for d in got] == [("", "", "s")]


# --- 6. workspaces ---------------------------------------------------------------------------


_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ (lowercase alphanumeric with optional internal hyphens)."


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad name!", f"Workspace name 'bad name!' must match the pattern {_PATTERN}"),
        ("UPPER", f"Workspace name 'UPPER' must match the pattern {_PATTERN}"),
        ("has_underscore", f"Workspace name 'has_underscore' must match the pattern {_PATTERN}"),
        ("trail-", f"Workspace name 'trail-' must match the pattern {_PATTERN}"),
        ("a" * 64, f"Workspace name '{'a' * 64}' must be between 2 and 63 characters."),
        ("a", "Workspace name 'a' must be between 2 and 63 characters."),
    ],
)
def test_an_invalid_workspace_header_is_a_bad_parameter(http: httpx.Client, name: str, message: str) -> None:
    header = {"X-MLFLOW-WORKSPACE": name}
    for resp in (
        http.post(f"{API}/experiments/search", json={"max_results": 5}, headers=header),
        http.post(f"{API}/experiments/create", json={"name": "never"}, headers=header),
        http.get(f"{API}/runs/get", params={"run_id": "0" * 32}, headers=header),
        http.get(f"{API}/registered-models/search", headers=header),
    ):
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", message)


def test_an_unknown_well_formed_workspace_is_not_found(http: httpx.Client, unique: str) -> None:
    header = {"X-MLFLOW-WORKSPACE": f"ghost-{unique}"}
    message = f"Workspace 'ghost-{unique}' not found"
    assert_error(
        http.post(f"{API}/experiments/search", json={}, headers=header), 404, "RESOURCE_DOES_NOT_EXIST", message
    )
    assert_error(http.get(f"/api/3.0/mlflow/workspaces/ghost-{unique}"), 404, "RESOURCE_DOES_NOT_EXIST", message)
    assert_error(
        http.get("/api/3.0/mlflow/workspaces/bad%20name!"),
        400,
        "INVALID_PARAMETER_VALUE",
        f"Workspace name 'bad name!' must match the pattern {_PATTERN}",
    )


# --- 7. required parameters and their messages ------------------------------------------------


def test_log_metric_missing_or_null_fields(http: httpx.Client, run_id: str) -> None:
    base: dict[str, Any] = {"run_id": run_id, "key": "k", "value": 1, "timestamp": 1}
    for field in ("key", "value", "timestamp", "run_id"):
        for body in ({**base, field: None}, {k: v for k, v in base.items() if k != field}):
            assert_error(http.post(f"{API}/runs/log-metric", json=body), 400, "INVALID_PARAMETER_VALUE", missing(field))
    assert_error(
        http.post(f"{API}/runs/log-metric", json={**base, "key": ""}), 400, "INVALID_PARAMETER_VALUE", missing("key")
    )
    # An optional field sent as null takes its default.
    assert http.post(f"{API}/runs/log-metric", json={**base, "key": "stepless", "step": None}).status_code == 200
    history = http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "stepless"}).json()
    assert [(m["value"], m["step"]) for m in history["metrics"]] == [(1.0, 0)]


def test_log_batch_missing_or_null_fields(http: httpx.Client, run_id: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metrics": [{"value": 1, "timestamp": 1}]}, "metrics[0].key"),
        ({"metrics": [{"key": None, "value": 1, "timestamp": 1}]}, "metrics[0].key"),
        ({"metrics": [{"key": "", "value": 1, "timestamp": 1}]}, "metrics[0].key"),
        ({"metrics": [{"key": "k", "timestamp": 1}]}, "metrics[0].value"),
        ({"metrics": [{"key": "k", "value": 1}]}, "metrics[0].timestamp"),
        ({"params": [{"value": "v"}]}, "params[0].key"),
        ({"params": [{"key": "", "value": "v"}]}, "params[0].key"),
        ({"tags": [{"value": "v"}]}, "tags[0].key"),
    ]
    for body, field in cases:
        resp = http.post(f"{API}/runs/log-batch", json={"run_id": run_id, **body})
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing(field))
    assert_error(
        http.post(f"{API}/runs/log-batch", json={"metrics": []}), 400, "INVALID_PARAMETER_VALUE", missing("run_id")
    )


def test_search_max_results_messages(http: httpx.Client, experiment_id: str) -> None:
    big = http.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id], "max_results": 123456789})
    body = assert_error(big, 400, "INVALID_PARAMETER_VALUE")
    assert body["message"].startswith("Invalid value 123456789 for parameter 'max_results' supplied"), body
    assert_error(
        http.post(f"{API}/runs/search", json={"experiment_ids": [experiment_id], "max_results": 0}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer",
    )
    assert_error(
        http.post(f"{API}/experiments/search", json={"max_results": 50001}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000",
    )


def test_metric_history_requires_a_metric_key(http: httpx.Client, run_id: str) -> None:
    for params in ({"run_ids": run_id, "metric_key": ""}, {"run_ids": run_id}):
        resp = http.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params=params)
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing("metric_key"))
    resp = http.get("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params={"metric_key": "k"})
    assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing("run_ids"))
    for params in ({"run_id": run_id, "metric_key": ""}, {"run_id": run_id}):
        resp = http.get(f"{API}/metrics/get-history", params=params)
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing("metric_key"))


def test_experiment_names_missing_null_or_empty(http: httpx.Client, experiment_id: str) -> None:
    for body in ({}, {"name": None}, {"name": ""}):
        assert_error(http.post(f"{API}/experiments/create", json=body), 400, "INVALID_PARAMETER_VALUE", missing("name"))
    for params in ({}, {"experiment_name": ""}):
        resp = http.get(f"{API}/experiments/get-by-name", params=params)
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing("experiment_name"))
    for update in (
        {"experiment_id": experiment_id},
        {"experiment_id": experiment_id, "new_name": None},
        {"experiment_id": experiment_id, "new_name": ""},
    ):
        assert_error(
            http.post(f"{API}/experiments/update", json=update), 400, "INVALID_PARAMETER_VALUE", missing("new_name")
        )
    for key in ("", None):
        resp = http.post(
            f"{API}/experiments/set-experiment-tag", json={"experiment_id": experiment_id, "key": key, "value": "v"}
        )
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing("key"))


def test_run_calls_name_a_missing_run_first(http: httpx.Client) -> None:
    for path in ("runs/log-parameter", "runs/set-tag", "runs/log-metric", "runs/update", "runs/delete-tag"):
        assert_error(http.post(f"{API}/{path}", json={}), 400, "INVALID_PARAMETER_VALUE", missing("run_id"))


def test_param_and_tag_values_may_be_absent_or_null(http: httpx.Client, run_id: str) -> None:
    for i, body in enumerate(({}, {"value": None})):
        assert (
            http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": f"p{i}", **body}).status_code == 200
        )
        assert http.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": f"t{i}", **body}).status_code == 200
    for key in ("", None):
        resp = http.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": key, "value": "v"})
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing("key"))
    data = http.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    assert sorted((p["key"], p["value"]) for p in data["params"]) == [("p0", ""), ("p1", "")]
    assert {t["key"]: t["value"] for t in data["tags"] if t["key"] in ("t0", "t1")} == {"t0": "", "t1": ""}


def test_registered_model_names(http: httpx.Client) -> None:
    for body in ({}, {"name": None}, {"name": ""}):
        resp = http.post(f"{API}/registered-models/create", json=body)
        assert_error(resp, 400, "INVALID_PARAMETER_VALUE", missing("name"))
    # Whitespace only: the reference's store check, worded without the hint.
    assert_error(
        http.post(f"{API}/registered-models/create", json={"name": "  "}),
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'name'.",
    )
    for params in ({}, {"name": ""}):
        assert_error(
            http.get(f"{API}/registered-models/get", params=params), 400, "INVALID_PARAMETER_VALUE", missing("name")
        )


# --- 8. artifact locations -----------------------------------------------------------------------


@pytest.mark.parametrize("location", ["relative/dir", "./x", "../escape", "/tmp/elsewhere", "file:///tmp/x"])
def test_an_artifact_location_outside_the_root_is_a_clear_bad_parameter(
    http: httpx.Client, unique: str, location: str
) -> None:
    # Deliberate (README): the reference stores a relative location resolved against its own cwd.
    resp = http.post(f"{API}/experiments/create", json={"name": f"loc-{unique}", "artifact_location": location})
    body = assert_error(resp, 400, "INVALID_PARAMETER_VALUE")
    assert body["message"].startswith(f"artifact_location '{location}' is not allowed"), body
    assert "relative paths" in body["message"], body
    assert http.get(f"{API}/experiments/get-by-name", params={"experiment_name": f"loc-{unique}"}).status_code == 404


def test_error_bodies_carry_the_reference_classification(http: httpx.Client, experiment_id: str) -> None:
    """mlflow 3.x servers add `sqlstate` and `error_class` to every error body, derived from the code;
    bodies observed on the reference with the same requests."""
    unknown = http.get(f"{API}/experiments/get", params={"experiment_id": "999999999"})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "No Experiment with id=999999999 exists",
        "sqlstate": "KAM00",
        "error_class": "RESOURCE_NOT_FOUND",
    }
    no_run = http.post(f"{API}/runs/log-parameter", json={"key": "k", "value": "v"}, headers=JSON)
    assert no_run.status_code == 400
    assert no_run.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": missing("run_id"),
        "sqlstate": "KAM00",
        "error_class": "INVALID_PARAMETER_VALUE",
    }
    name = http.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}).json()["experiment"]["name"]
    taken = http.post(f"{API}/experiments/create", json={"name": name})
    assert taken.status_code == 400
    assert {k: taken.json()[k] for k in ("error_code", "sqlstate", "error_class")} == {
        "error_code": "RESOURCE_ALREADY_EXISTS",
        "sqlstate": "KAM00",
        "error_class": "RESOURCE_ALREADY_EXISTS",
    }


def test_the_history_of_a_run_that_does_not_exist_is_empty(
    http: httpx.Client, tracking: ServerProcess, unique: str
) -> None:
    """As the reference: `get-history` and `get-history-bulk-interval` answer 200 `{}` for a run id
    that names no run (here, also one of another workspace: the two are not told apart)."""
    import mlflow
    from mlflow import MlflowClient

    workspace = f"hist-{unique}"
    mlflow.create_workspace(workspace)
    try:
        mlflow.set_workspace(workspace)
        client = MlflowClient()
        foreign = client.create_run(client.create_experiment("elsewhere")).info.run_id
        client.log_metric(foreign, "k", 1.0, step=0)
    finally:
        mlflow.set_workspace(None)
    for run_id in ("f" * 32, foreign):
        history = http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "k"})
        assert history.status_code == 200 and history.json() == {}, history.text
        sampled = http.get(
            "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval", params={"run_ids": run_id, "metric_key": "k"}
        )
        assert sampled.status_code == 200 and sampled.json() == {}, sampled.text
    assert MlflowClient().get_metric_history("f" * 32, "k") == []
