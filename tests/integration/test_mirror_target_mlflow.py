"""The mirror target client against real servers: a plain `mlflow server` 3.17.2 (SQLite, proxied
artifacts) and a Runyard server, every helper against both, plus the client-credentials grant
against a Runyard `--auth on`. Where the two servers differ the test says so (±inf read back)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from runyard.domain.mirror import TargetCredentials
from runyard.domain.permissions import EDIT
from runyard.mirror.target import MIRROR_INFO_PATH, Target, TargetError
from runyard.services.identity.audit import Actor
from tests.conftest import ServerProcess, auth_server
from tests.mlflow_server import MlflowServer

ADMIN_PASSWORD = "admin-pw-for-mirror-target"
FLOAT_MAX = 1.7976931348623157e308


@dataclass
class Servers:
    mlflow: str
    runyard: str
    auth: str  # Runyard --auth on
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    reference = MlflowServer(tmp_path_factory.mktemp("mlflow-target")).start()
    with ExitStack() as stack:
        stack.callback(reference.stop)
        runyard = ServerProcess(data_dir=tmp_path_factory.mktemp("runyard-target")).start()
        stack.callback(runyard.stop)
        proc, services = stack.enter_context(auth_server(tmp_path_factory.mktemp("runyard-auth"), ADMIN_PASSWORD))
        issued = services.identity.accounts.create_service_principal(Actor.cli(), "mirror-bot")
        services.identity.grants.put(Actor.cli(), "mirror-bot", "default", "workspace", "*", EDIT)
        reference.wait()
        yield Servers(reference.url, runyard.url, proc.url, issued.client_id, issued.client_secret)


@pytest.fixture(scope="module", params=["mlflow", "runyard"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def target(servers: Servers, kind: str) -> Iterator[Target]:
    t = Target(servers.mlflow if kind == "mlflow" else servers.runyard, None, TargetCredentials())
    yield t
    t.close()


@pytest.fixture
def experiment(target: Target, unique: str) -> str:
    return target.create_experiment(f"mirror-target-{unique}", [("team", "ml")])


def tags_of(obj: dict[str, object]) -> dict[str, str]:
    tags = obj.get("tags")
    assert isinstance(tags, list)
    return {str(t["key"]): str(t["value"]) for t in tags}


def test_kind(target: Target, kind: str) -> None:
    if kind == "mlflow":
        assert target.kind() == "mlflow"
        assert target.mirror_info() is None
    else:  # "runyard" once this server answers the mirror-info probe
        answers = httpx.get(target.url + MIRROR_INFO_PATH, timeout=30).status_code == 200
        assert target.kind() == ("runyard" if answers else "mlflow")


def test_experiment_helpers(target: Target, unique: str) -> None:
    name = f"exp-{unique}"
    assert target.experiment_by_name(name) is None
    experiment_id = target.create_experiment(name, [("a", "1"), ("b", "2")])
    found = target.experiment_by_name(name)
    assert found is not None and found["experiment_id"] == experiment_id
    assert str(found["artifact_location"]).startswith("mlflow-artifacts:")
    target.set_experiment_tag(experiment_id, "c", "it's")
    target.delete_experiment_tag(experiment_id, "a")
    got = target.experiment(experiment_id)
    assert got is not None and tags_of(got) == {"b": "2", "c": "it's"}
    target.rename_experiment(experiment_id, f"{name}-renamed")
    assert target.experiment_by_name(name) is None
    target.delete_experiment(experiment_id)
    got = target.experiment(experiment_id)
    assert got is not None and got["lifecycle_stage"] == "deleted"
    target.restore_experiment(experiment_id)
    got = target.experiment(experiment_id)
    assert got is not None and got["lifecycle_stage"] == "active" and got["name"] == f"{name}-renamed"
    assert target.experiment("987654321") is None
    with pytest.raises(TargetError) as caught:
        target.create_experiment(f"{name}-renamed", [])
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS" and not caught.value.transient


def test_run_helpers_and_metric_round_trip(target: Target, experiment: str, kind: str) -> None:
    info = target.create_run(
        experiment, run_name="r1", user_id="alice", start_time=1700000000123, tags=[("x", "1"), ("drop", "me")]
    )
    run_id = str(info["run_id"])
    assert info["run_name"] == "r1" and info["user_id"] == "alice" and info["start_time"] == 1700000000123
    values = [float("nan"), float("inf"), float("-inf"), 0.1, -2.5e-300, 3.0]
    steps = [0, 1, 2**40, -5, 7, 7]
    stamps = [1700000000000, 1700000000001, 1700000000002, 1, 2**42, 1700000000005]
    metrics = [
        {"key": "m", "value": v, "step": s, "timestamp": ts} for v, s, ts in zip(values, steps, stamps, strict=True)
    ]
    target.log_batch(run_id, metrics=metrics, params=[("lr", "0.01"), ("opt", "it's")], tags=[("t", "v")])
    history = target.call("GET", "/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    points = sorted((int(p["step"]), int(p["timestamp"]), float(p["value"])) for p in history["metrics"])
    expected = sorted(zip(steps, stamps, values, strict=True))
    assert [(s, ts) for s, ts, _ in points] == [(s, ts) for s, ts, _ in expected]
    by_step = {(s, ts): v for s, ts, v in points}
    assert math.isnan(by_step[(0, 1700000000000)])
    # The one difference: MLflow's SQL store keeps ±inf as ±DBL_MAX, Runyard keeps ±inf.
    big = FLOAT_MAX if kind == "mlflow" else math.inf
    assert by_step[(1, 1700000000001)] == big and by_step[(2**40, 1700000000002)] == -big
    assert by_step[(-5, 1)] == 0.1 and by_step[(7, 2**42)] == -2.5e-300
    target.delete_run_tag(run_id, "drop")
    target.update_run(run_id, status="FINISHED", end_time=1700000009999, run_name="r2")
    run = target.run(run_id)
    assert run is not None
    assert {k: run["info"][k] for k in ("status", "end_time", "run_name")} == {
        "status": "FINISHED",
        "end_time": 1700000009999,
        "run_name": "r2",
    }
    data = run["data"]
    assert {p["key"]: p["value"] for p in data["params"]} == {"lr": "0.01", "opt": "it's"}
    assert {"x": "1", "t": "v"}.items() <= tags_of(data).items() and "drop" not in tags_of(data)
    target.delete_run(run_id)
    deleted = target.run(run_id)
    assert deleted is not None and deleted["info"]["lifecycle_stage"] == "deleted"
    target.restore_run(run_id)
    assert target.run("0" * 32) is None


def test_find_runs_by_tag_with_quotes(target: Target, experiment: str) -> None:
    key = "runyard.source.run_id"
    values = ["plain-1", "it's", 'say "hi"', 'it\'s "both" \\ %', "50%_off"]
    ids = {}
    for value in values:
        ids[value] = target.create_run(experiment, run_name=None, user_id=None, start_time=None, tags=[(key, value)])[
            "run_id"
        ]
    # Decoys a LIKE pattern or a sloppy comparison would also match.
    for decoy in ["it_s _both_ _ %", "its", "plain-10", "50%Xoff"]:
        target.create_run(experiment, run_name=None, user_id=None, start_time=None, tags=[(key, decoy)])
    target.delete_run(ids["it's"])
    for value in values:
        found = target.find_runs_by_tag(experiment, key, value)
        assert [r["info"]["run_id"] for r in found] == [ids[value]], value
    assert target.find_runs_by_tag(experiment, key, "absent") == []


def test_inputs_and_outputs(target: Target, experiment: str) -> None:
    run_id = str(target.create_run(experiment, run_name=None, user_id=None, start_time=None, tags=[])["run_id"])
    model = target.create_logged_model(experiment, name="m", source_run_id=run_id, model_type=None, params=[], tags=[])
    model_id = str(model["info"]["model_id"])
    dataset = {"name": "train", "digest": "abc123", "source_type": "local", "source": '{"uri": "/d"}', "schema": "{}"}
    target.log_inputs(
        run_id,
        [{"dataset": dataset, "tags": [{"key": "mlflow.data.context", "value": "training"}]}],
        models=[{"model_id": model_id}],
    )
    target.log_outputs(run_id, [{"model_id": model_id, "step": 4}])
    run = target.run(run_id)
    assert run is not None
    (dataset_input,) = run["inputs"]["dataset_inputs"]
    assert dataset_input["dataset"]["name"] == "train" and dataset_input["dataset"]["digest"] == "abc123"
    assert tags_of(dataset_input) == {"mlflow.data.context": "training"}
    assert run["inputs"]["model_inputs"] == [{"model_id": model_id}]
    assert [(o["model_id"], int(o["step"])) for o in run["outputs"]["model_outputs"]] == [(model_id, 4)]


def test_logged_model_helpers(target: Target, experiment: str) -> None:
    key = "runyard.source.model_id"
    run_id = str(target.create_run(experiment, run_name=None, user_id=None, start_time=None, tags=[])["run_id"])
    made = {}
    for value in ("m-src-1", "it's", "it_s"):
        model = target.create_logged_model(
            experiment,
            name="clf",
            source_run_id=run_id,
            model_type="sklearn",
            params=[("alpha", "0.5")],
            tags=[(key, value), ("keep", "1"), ("gone", "x")],
        )
        assert model["info"]["status"] == "LOGGED_MODEL_PENDING"
        assert str(model["info"]["artifact_uri"]).startswith("mlflow-artifacts:")
        made[value] = str(model["info"]["model_id"])
    for value, model_id in made.items():
        assert [m["info"]["model_id"] for m in target.find_logged_models_by_tag(experiment, key, value)] == [model_id]
    assert target.find_logged_models_by_tag(experiment, key, "nothing") == []
    model_id = made["m-src-1"]
    target.finalize_logged_model(model_id, "LOGGED_MODEL_READY")
    target.set_logged_model_tags(model_id, [("keep", "2"), ("new", "it's")])
    target.delete_logged_model_tag(model_id, "gone")
    target.log_logged_model_params(model_id, [("beta", "3")])
    got = target.logged_model(model_id)
    assert got is not None
    assert got["info"]["status"] == "LOGGED_MODEL_READY" and got["info"]["source_run_id"] == run_id
    assert got["info"]["model_type"] == "sklearn"
    assert tags_of(got["info"]) == {key: "m-src-1", "keep": "2", "new": "it's"}
    assert {p["key"]: p["value"] for p in got["data"]["params"]} == {"alpha": "0.5", "beta": "3"}
    target.delete_logged_model(model_id)
    assert target.logged_model(model_id) is None
    assert target.logged_model("m-" + "0" * 32) is None


def test_artifacts_stream_both_ways(target: Target, experiment: str) -> None:
    info = target.create_run(experiment, run_name=None, user_id=None, start_time=None, tags=[])
    root = str(info["artifact_uri"])
    size = 5 * 1024 * 1024 + 17
    block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB

    def generate() -> Iterator[bytes]:
        sent = 0
        while sent < size:
            chunk = block[: min(len(block), size - sent)]
            sent += len(chunk)
            yield chunk

    expected = hashlib.sha256(b"".join(generate())).hexdigest()
    name = "model/weights (v1)+ü%.bin"
    target.upload_artifact(root, name, generate(), size=size)
    target.upload_artifact(root, "notes/chunked.txt", iter([b"no ", b"length"]))
    target.upload_artifact(root, "top.txt", iter([b"top"]), size=3)
    assert sorted(target.list_artifacts(root)) == [("model", True, None), ("notes", True, None), ("top.txt", False, 3)]
    assert target.list_artifacts(root, "model") == [(name, False, size)]
    assert target.list_artifacts(root, "missing") == []
    digest = hashlib.sha256()
    for chunk in target.download_artifact(root, name):
        digest.update(chunk)
    assert digest.hexdigest() == expected
    assert b"".join(target.download_artifact(root, "notes/chunked.txt")) == b"no length"
    with pytest.raises(TargetError) as caught:
        b"".join(target.download_artifact(root, "notes/absent.txt"))
    assert caught.value.not_found and not caught.value.transient


def test_unknown_endpoints_are_told_apart_from_missing_objects(target: Target) -> None:
    with pytest.raises(TargetError) as caught:
        target.call("GET", "/api/2.0/mlflow/no-such-endpoint")
    assert caught.value.status == 404 and caught.value.endpoint_missing and not caught.value.not_found


def test_workspace_header_on_runyard(servers: Servers, unique: str) -> None:
    workspace = f"mirror-{unique}"
    created = httpx.post(f"{servers.runyard}/api/3.0/mlflow/workspaces", json={"name": workspace}, timeout=30)
    assert created.is_success, created.text
    with (
        Target(servers.runyard, workspace, TargetCredentials()) as inside,
        Target(servers.runyard, None, TargetCredentials()) as default,
    ):
        experiment_id = inside.create_experiment(f"ws-exp-{unique}", [])
        found = inside.experiment_by_name(f"ws-exp-{unique}")
        assert found is not None and found["experiment_id"] == experiment_id
        assert default.experiment_by_name(f"ws-exp-{unique}") is None


def test_client_credentials_against_runyard(servers: Servers, unique: str) -> None:
    good = TargetCredentials(
        kind="client_credentials", client_id=servers.client_id, client_secret=servers.client_secret
    )
    with Target(servers.auth, None, good) as t:
        experiment_id = t.create_experiment(f"cc-{unique}", [])
        assert t.experiment(experiment_id) is not None
        t._auth.refresh(None)  # a renewed token works as well
        assert t.experiment_by_name(f"cc-{unique}") is not None
    bad = TargetCredentials(kind="client_credentials", client_id=servers.client_id, client_secret="wrong-secret-xyz")
    with Target(servers.auth, None, bad) as t, pytest.raises(TargetError) as caught:
        t.experiment(experiment_id)
    assert caught.value.status in (400, 401) and not caught.value.transient
    assert "wrong-secret-xyz" not in str(caught.value) and servers.client_secret not in str(caught.value)
    with Target(servers.auth, None, TargetCredentials()) as anonymous, pytest.raises(TargetError) as caught:
        anonymous.experiment(experiment_id)
    assert caught.value.status == 401 and not caught.value.transient
