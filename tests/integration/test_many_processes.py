"""Many stateless processes: three `runyard server` processes (as three hosts would run them: each its
own data folder) on one PostgreSQL database and one artifact store, behind a round-robin proxy
(`benchmarks.round_robin`) that sends each request to the next process in turn. The real client's
calls go through the proxy, so consecutive calls of one workflow land on different processes; the
checks that a deletion is seen everywhere talk to each process directly.

The artifact store is a parameter of the `cluster` fixture (`ARTIFACT_STORES`): a shared local folder,
and a bucket of a moto server process (S3).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
import psycopg
import pytest
from benchmarks.round_robin import RoundRobinProxy
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from tests.conftest import MOTO_SERVER_ENV, ServerProcess
from tests.moto_server import MotoServer

PROCESSES = 3
WS = "/api/3.0/mlflow/workspaces"
ART = "/api/2.0/mlflow-artifacts/artifacts"

# An artifact store the processes share: a context manager yielding (the servers' extra arguments,
# extra environment), given a scratch folder.
ArtifactStore = Callable[[Path], AbstractContextManager[tuple[list[str], dict[str, str]]]]


@contextmanager
def _shared_folder(tmp: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    folder = tmp / "shared-artifacts"
    folder.mkdir()
    yield ["--artifacts-destination", str(folder)], {}


@contextmanager
def _shared_bucket(tmp: Path) -> Iterator[tuple[list[str], dict[str, str]]]:
    """A bucket of a moto server process of its own (S3 through boto3, nothing patched)."""
    moto = MotoServer(log_path=tmp / "moto.log").start()
    try:
        bucket = moto.new_bucket("cluster")
        yield ["--artifacts-destination", f"s3://{bucket}/runyard"], {**moto.env, **MOTO_SERVER_ENV}
    finally:
        moto.stop()


ARTIFACT_STORES: dict[str, ArtifactStore] = {"local": _shared_folder, "s3": _shared_bucket}


@dataclass
class Cluster:
    servers: list[ServerProcess]
    proxy: RoundRobinProxy

    @property
    def url(self) -> str:
        return self.proxy.url


@pytest.fixture(scope="module", params=sorted(ARTIFACT_STORES))
def cluster(
    request: pytest.FixtureRequest,
    postgres_database_factory: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp(f"cluster-{request.param}")
    store_uri = postgres_database_factory()
    with ARTIFACT_STORES[request.param](tmp) as (args, env):
        servers = [
            ServerProcess(data_dir=tmp / f"host-{i}", backend_store_uri=store_uri, extra_args=args, extra_env=env)
            for i in range(PROCESSES)
        ]
        started: list[ServerProcess] = []
        proxy: RoundRobinProxy | None = None
        try:
            for server in servers:  # one after the other: the first one migrates the database
                started.append(server.start())
            proxy = RoundRobinProxy([s.url for s in servers]).start()
            yield Cluster(servers, proxy)
        finally:
            if proxy is not None:
                proxy.stop()
            codes = [s.stop() for s in started]
            assert codes == [0] * len(started), "\n".join(s.log()[-3000:] for s in started)


@pytest.fixture
def client(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowClient]:
    """The real client, through the round-robin proxy."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", cluster.url)
    mlflow.set_tracking_uri(cluster.url)
    yield MlflowClient(cluster.url, cluster.url)
    mlflow.set_workspace(None)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out


def _spread(cluster: Cluster, before: list[int]) -> list[int]:
    return [after - was for after, was in zip(cluster.proxy.forwarded, before, strict=True)]


def test_tracking_workflow_across_processes(cluster: Cluster, client: MlflowClient) -> None:
    before = list(cluster.proxy.forwarded)
    name = f"many-{secrets.token_hex(4)}"
    experiment_id = client.create_experiment(name, tags={"team": "a"})
    assert client.get_experiment_by_name(name).experiment_id == experiment_id  # type: ignore[union-attr]
    run = client.create_run(experiment_id, run_name="r")
    run_id = run.info.run_id
    for step in range(12):  # consecutive points land on every process in turn
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step, timestamp=1000 + step)
    client.log_param(run_id, "lr", "0.1")
    client.set_tag(run_id, "phase", "train")
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.5 + i / 100, 2000 + i, i) for i in range(30)],
        params=[Param(f"p{i}", str(i)) for i in range(5)],
        tags=[RunTag("batch", "yes")],
    )
    for i in range(6):  # metrics-only batches: the point writer of each process
        client.log_batch(run_id, metrics=[Metric("acc2", float(i), 3000 + i, i)])
    client.set_terminated(run_id)
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(12)]
    assert [m.step for m in client.get_metric_history(run_id, "acc2")] == list(range(6))
    got = client.get_run(run_id)
    assert got.data.params == {"lr": "0.1", **{f"p{i}": str(i) for i in range(5)}}
    assert got.data.tags["phase"] == "train" and got.data.tags["batch"] == "yes"
    assert got.data.metrics == {"loss": 1.0 / 12, "acc": 0.79, "acc2": 5.0}
    assert got.info.status == "FINISHED"
    for _ in range(PROCESSES):  # the same answer from every process
        found = client.search_runs([experiment_id], "metrics.loss < 0.5 and params.lr = '0.1'")
        assert [r.info.run_id for r in found] == [run_id]
    # Every process read from the shared database directly, too.
    for server in cluster.servers:
        direct = MlflowClient(server.url)
        assert direct.get_run(run_id).data.metrics["loss"] == 1.0 / 12
        assert len(direct.get_metric_history(run_id, "acc")) == 30
    assert all(n >= 10 for n in _spread(cluster, before)), cluster.proxy.forwarded


def test_registry_across_processes(cluster: Cluster, client: MlflowClient) -> None:
    name = f"model-{secrets.token_hex(4)}"
    experiment_id = client.create_experiment(f"reg-{name}")
    run_id = client.create_run(experiment_id).info.run_id
    client.create_registered_model(name, tags={"owner": "me"}, description="d")
    versions = [client.create_model_version(name, f"runs:/{run_id}/model", run_id) for _ in range(4)]
    assert [v.version for v in versions] == ["1", "2", "3", "4"]  # numbered without a gap or a repeat
    client.set_registered_model_alias(name, "champion", "3")
    client.set_model_version_tag(name, "3", "stage", "blue")
    for _ in range(PROCESSES):
        by_alias = client.get_model_version_by_alias(name, "champion")
        assert by_alias.version == "3" and by_alias.tags == {"stage": "blue"}
        assert client.get_registered_model(name).aliases == {"champion": "3"}
        assert sorted(v.version for v in client.search_model_versions(f"name = '{name}'")) == ["1", "2", "3", "4"]
    client.delete_registered_model_alias(name, "champion")
    client.delete_model_version(name, "4")
    for _ in range(PROCESSES):
        with pytest.raises(MlflowException):
            client.get_model_version_by_alias(name, "champion")
        assert sorted(v.version for v in client.search_model_versions(f"name = '{name}'")) == ["1", "2", "3"]
    assert client.create_model_version(name, f"runs:/{run_id}/model", run_id).version == "5"


def test_artifacts_written_by_one_process_are_read_by_the_others(
    cluster: Cluster, client: MlflowClient, tmp_path: Path
) -> None:
    experiment_id = client.create_experiment(f"art-{secrets.token_hex(4)}")
    run_id = client.create_run(experiment_id).info.run_id
    payload = secrets.token_bytes(3 * 1024 * 1024 + 17)  # several chunks through the proxy
    (tmp_path / "big.bin").write_bytes(payload)
    (tmp_path / "small.txt").write_text("hello")
    client.log_artifact(run_id, str(tmp_path / "big.bin"))
    client.log_artifact(run_id, str(tmp_path / "small.txt"), "sub")
    for i in range(PROCESSES):
        out = Path(client.download_artifacts(run_id, "", str(tmp_path / f"out-{i}")))
        assert (out / "big.bin").read_bytes() == payload
        assert (out / "sub" / "small.txt").read_text() == "hello"
    # Uploaded to one process, listed and read by each of the others directly.
    path = f"{experiment_id}/{run_id}/artifacts/direct.txt"
    with httpx.Client(base_url=cluster.servers[0].url) as http:
        assert http.put(f"{ART}/{path}", content=b"from host 0").status_code == 200
    for server in cluster.servers[1:]:
        with httpx.Client(base_url=server.url) as http:
            assert http.get(f"{ART}/{path}").content == b"from host 0"
            listed = http.get(ART, params={"path": f"{experiment_id}/{run_id}/artifacts"}).json()["files"]
            assert {f["path"] for f in listed} == {"big.bin", "sub", "direct.txt"}


def _ws(name: str) -> dict[str, str]:
    return {"X-MLFLOW-WORKSPACE": name}


def _calls_into(http: httpx.Client, workspace: str, experiment_id: str, run_id: str) -> list[httpx.Response]:
    """Calls into `workspace` naming nothing in it, and calls naming what it held."""
    h = _ws(workspace)
    tag = secrets.token_hex(3)
    return [
        http.post("/api/2.0/mlflow/experiments/create", json={"name": f"late-{tag}"}, headers=h),
        http.post("/api/2.0/mlflow/experiments/search", json={"max_results": 10}, headers=h),
        http.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment_id}, headers=h),
        http.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id}, headers=h),
        http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}, headers=h),
        http.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [experiment_id]}, headers=h),
        http.post(
            "/api/2.0/mlflow/runs/log-metric",
            json={"run_id": run_id, "key": "m", "value": 1, "timestamp": 1, "step": 0},
            headers=h,
        ),
        http.post(
            "/api/2.0/mlflow/runs/log-batch", json={"run_id": run_id, "params": [{"key": "k", "value": "v"}]}, headers=h
        ),
        http.post("/api/2.0/mlflow/registered-models/create", json={"name": f"late-{tag}"}, headers=h),
        http.get("/api/2.0/mlflow/registered-models/get", params={"name": "kept"}, headers=h),
        http.get("/api/2.0/mlflow/registered-models/search", headers=h),
        http.put(f"{ART}/{experiment_id}/{run_id}/artifacts/late.txt", content=b"late", headers=h),
        http.get(f"{ART}/{experiment_id}/{run_id}/artifacts/kept.txt", headers=h),
        http.get(ART, params={"path": f"{experiment_id}/{run_id}/artifacts"}, headers=h),
    ]


def _populated(client: MlflowClient, cluster: Cluster, name: str) -> tuple[str, str]:
    """A workspace holding an experiment, a run with a metric, a registered model and an artifact,
    known to every process's cache; (experiment id, run id)."""
    mlflow.create_workspace(name)
    mlflow.set_workspace(name)
    try:
        experiment_id = client.create_experiment("held")
        run_id = client.create_run(experiment_id).info.run_id
        client.log_metric(run_id, "m", 1.0)
        client.create_registered_model("kept")
    finally:
        mlflow.set_workspace(None)
    for server in cluster.servers:
        with httpx.Client(base_url=server.url) as http:
            assert all(r.status_code == 200 for r in _calls_into(http, name, experiment_id, run_id)[1:3])
            put = http.put(f"{ART}/{experiment_id}/{run_id}/artifacts/kept.txt", content=b"old", headers=_ws(name))
            assert put.status_code == 200
    return experiment_id, run_id


def test_a_deleted_workspace_is_gone_on_every_process(cluster: Cluster, client: MlflowClient) -> None:
    name = f"gone-{secrets.token_hex(4)}"
    experiment_id, run_id = _populated(client, cluster, name)
    with httpx.Client(base_url=cluster.servers[0].url) as http:
        assert http.delete(f"{WS}/{name}", params={"mode": "CASCADE"}).status_code == 204
    for server in cluster.servers:
        with httpx.Client(base_url=server.url) as http:
            for resp in _calls_into(http, name, experiment_id, run_id):
                assert resp.status_code == 404, (server.url, resp.request.method, resp.request.url, resp.text)
                assert resp.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", resp.text
    # The real client, through the proxy: 404 RESOURCE_DOES_NOT_EXIST on every process in turn.
    mlflow.set_workspace(name)
    for _ in range(PROCESSES):
        with pytest.raises(MlflowException) as err:
            client.create_experiment(f"late-{secrets.token_hex(3)}")
        assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        with pytest.raises(MlflowException) as err:
            client.log_metric(run_id, "m", 2.0)
        assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_workspace_created_again_under_its_name_is_new_on_every_process(
    cluster: Cluster, client: MlflowClient
) -> None:
    name = f"again-{secrets.token_hex(4)}"
    experiment_id, run_id = _populated(client, cluster, name)
    # Deleted by one process and created again by another, while processes 0 and 2 still have the
    # old workspace in their caches.
    with httpx.Client(base_url=cluster.servers[0].url) as http:
        assert http.delete(f"{WS}/{name}", params={"mode": "CASCADE"}).status_code == 204
    with httpx.Client(base_url=cluster.servers[1].url) as http:
        assert http.post(WS, json={"name": name}).status_code == 201
        made = http.post("/api/2.0/mlflow/experiments/create", json={"name": "fresh"}, headers=_ws(name))
        assert made.status_code == 200, made.text
        fresh_id = made.json()["experiment_id"]
    assert fresh_id != experiment_id
    for server in (cluster.servers[2], cluster.servers[0], cluster.servers[1]):
        with httpx.Client(base_url=server.url) as http:
            h = _ws(name)
            got = http.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": fresh_id}, headers=h)
            assert got.status_code == 200, (server.url, got.text)
            assert got.json()["experiment"]["name"] == "fresh"
            searched = http.post("/api/2.0/mlflow/experiments/search", json={}, headers=h).json()["experiments"]
            assert [e["name"] for e in searched] == ["fresh"]
            assert http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}, headers=h).status_code == 404
            kept = http.get("/api/2.0/mlflow/registered-models/get", params={"name": "kept"}, headers=h)
            assert kept.status_code == 404
            old = http.get(f"{ART}/{experiment_id}/{run_id}/artifacts/kept.txt", headers=h)
            assert old.status_code == 404, old.text  # nothing of the old workspace's artifacts
    mlflow.set_workspace(name)
    new_run = client.create_run(fresh_id)
    for step in range(PROCESSES * 2):
        client.log_metric(new_run.info.run_id, "m", float(step), step=step)
    assert [m.step for m in client.get_metric_history(new_run.info.run_id, "m")] == list(range(PROCESSES * 2))


ORPHANS = {
    # child table: its column naming a parent, and the parent's key
    "metrics": ("run_id", "runs", "id"),
    "latest_metrics": ("run_id", "runs", "id"),
    "params": ("run_id", "runs", "id"),
    "run_tags": ("run_id", "runs", "id"),
    "runs": ("experiment_id", "experiments", "experiment_id"),
    "experiments": ("workspace_id", "workspaces", "id"),
    "registered_models": ("workspace_id", "workspaces", "id"),
    "model_versions": ("model_pk", "registered_models", "id"),
}


def test_writes_racing_a_deletion_get_404_and_leave_no_orphan_rows(cluster: Cluster) -> None:
    """Every process writes into a workspace while one of them deletes it: each write either lands
    before the deletion (and is deleted with it) or answers 404; none fails otherwise (no 500, no
    RESOURCE_ALREADY_EXISTS), and no row is left that names a deleted parent."""
    name = f"race-{secrets.token_hex(4)}"
    h = _ws(name)
    with httpx.Client(base_url=cluster.servers[0].url) as http:
        assert http.post(WS, json={"name": name}).status_code == 201
        experiment_id = http.post("/api/2.0/mlflow/experiments/create", json={"name": "e"}, headers=h).json()[
            "experiment_id"
        ]
        runs = [
            http.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id}, headers=h).json()["run"][
                "info"
            ]["run_id"]
            for _ in range(PROCESSES)
        ]
    answers: list[tuple[str, int, str]] = []
    stop = threading.Event()

    def write(server: ServerProcess, run_id: str) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            i = 0
            while not stop.is_set():
                i += 1
                for path, body in (
                    (
                        "runs/log-batch",
                        {"run_id": run_id, "metrics": [{"key": "m", "value": i, "timestamp": i, "step": i}]},
                    ),
                    ("runs/log-batch", {"run_id": run_id, "params": [{"key": f"p{i}", "value": "v"}]}),
                    ("runs/set-tag", {"run_id": run_id, "key": f"t{i}", "value": "v"}),
                    ("runs/create", {"experiment_id": experiment_id}),
                    ("experiments/create", {"name": f"e-{server.port}-{i}"}),
                    ("registered-models/create", {"name": f"m-{server.port}-{i}"}),
                ):
                    try:
                        resp = http.post(f"/api/2.0/mlflow/{path}", json=body, headers=h)
                    except httpx.HTTPError as e:  # shown by the assertion below, not lost in a thread
                        answers.append((path, -1, f"{type(e).__name__}: {e}"))
                        continue
                    answers.append((path, resp.status_code, resp.text[:200]))

    threads = [threading.Thread(target=write, args=(s, r)) for s, r in zip(cluster.servers, runs, strict=True)]
    for t in threads:
        t.start()
    try:
        deadline = 0
        while len(answers) < 60 and deadline < 600:  # some writes landed before the deletion
            threading.Event().wait(0.01)
            deadline += 1
        with httpx.Client(base_url=cluster.servers[0].url, timeout=60) as http:
            deleted = http.delete(f"{WS}/{name}", params={"mode": "CASCADE"})
        assert deleted.status_code == 204, deleted.text
        n = len(answers)
        while len(answers) < n + 60 and deadline < 1200:  # and some after it
            threading.Event().wait(0.01)
            deadline += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    odd = [a for a in answers if a[1] not in (200, 404) or (a[1] == 404 and "RESOURCE_DOES_NOT_EXIST" not in a[2])]
    assert not odd, odd[:10]
    assert {code for _, code, _ in answers} == {200, 404}
    url = cluster.servers[0].backend_store_uri
    assert url is not None
    with psycopg.connect(url) as conn:
        for child, (column, parent, key) in ORPHANS.items():
            query = (
                f"SELECT count(*) FROM {child} c WHERE NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})"
            )
            row = conn.execute(query).fetchone()
            assert row is not None and row[0] == 0, f"{row[0] if row else '?'} orphan rows in {child}"
