"""End to end with scikit-learn: `log_model(registered_model_name=...)`, aliases, stages, and loading
through every model URI form. MLflow 3 `log_model` needs logged models, so these tests skip while
`POST /api/2.0/mlflow/logged-models` is not served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from tests.conftest import ServerProcess

pytest.importorskip("sklearn")

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

# Also run against PostgreSQL with artifacts in S3 (a moto server process; see tests/conftest.py).
ALSO_ON_S3 = True


@pytest.fixture
def models_served(tracking: ServerProcess) -> Iterator[ServerProcess]:
    if httpx.post(f"{tracking.url}/api/2.0/mlflow/logged-models", json={}).status_code == 404:
        pytest.skip("logged models (needed by MLflow 3 log_model) are not served yet")
    yield tracking


def _iris() -> tuple[np.ndarray, np.ndarray]:
    data = load_iris()
    return data.data, data.target


def test_log_model_twice_alias_and_load_every_way(models_served: ServerProcess, unique: str) -> None:
    client = MlflowClient()
    name = f"iris-classifier-{unique}"
    x, y = _iris()
    mlflow.set_experiment(f"iris-{unique}")
    infos = []
    for c in (0.5, 1.0):
        with mlflow.start_run() as run:
            model = LogisticRegression(C=c, max_iter=300).fit(x, y)
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, input_example=x[:2])
            infos.append((run.info.run_id, info, model))
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["2", "1"]
    v1 = client.get_model_version(name, "1")
    assert v1.run_id == infos[0][0] and v1.source == f"models:/{infos[0][1].model_id}"
    assert (
        client.get_model_version_download_uri(name, "1")
        == client.get_logged_model(infos[0][1].model_id).artifact_location
    )

    # The logged model's server-set card tags are copied to its versions.
    assert v1.tags["runyard.flavors"] == "python_function,sklearn"
    sklearn_versions = client.search_model_versions(f"name = '{name}' AND tags.`runyard.flavors` LIKE '%sklearn%'")
    assert sorted(v.version for v in sklearn_versions) == ["1", "2"]

    client.set_registered_model_alias(name, "champion", "1")
    expected_1 = infos[0][2].predict(x)
    expected_2 = infos[1][2].predict(x)
    for uri, expected in (
        (f"models:/{name}/1", expected_1),
        (f"models:/{name}@champion", expected_1),
        (f"models:/{name}/latest", expected_2),
        (f"runs:/{infos[1][0]}/model", expected_2),
        (infos[0][1].model_uri, expected_1),
    ):
        loaded = mlflow.pyfunc.load_model(uri)
        assert np.array_equal(np.asarray(loaded.predict(x)), expected), uri
    assert np.array_equal(mlflow.sklearn.load_model(f"models:/{name}/2").predict(x), expected_2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.transition_model_version_stage(name, "1", "Production")
        client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
        assert [v.version for v in client.get_latest_versions(name, ["Production"])] == ["2"]
        assert client.get_model_version(name, "1").current_stage == "Archived"
        loaded = mlflow.pyfunc.load_model(f"models:/{name}/Production")
        assert np.array_equal(np.asarray(loaded.predict(x)), expected_2)

    client.rename_registered_model(name, f"{name}-renamed")
    loaded = mlflow.pyfunc.load_model(f"models:/{name}-renamed@champion")
    assert np.array_equal(np.asarray(loaded.predict(x)), expected_1)
    client.delete_registered_model(f"{name}-renamed")
    assert client.search_registered_models(f"name = '{name}-renamed'") == []


def test_autolog_registers_one_fit(models_served: ServerProcess, unique: str) -> None:
    name = f"iris-autolog-{unique}"
    x, y = _iris()
    mlflow.set_experiment(f"iris-autolog-{unique}")
    mlflow.sklearn.autolog(registered_model_name=name)
    try:
        with mlflow.start_run():
            LogisticRegression(max_iter=300).fit(x, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    versions = MlflowClient().search_model_versions(f"name = '{name}'")
    assert [v.version for v in versions] == ["1"]
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert len(loaded.predict(x)) == len(y)


# Four jobs: each is a Python process importing mlflow and scikit-learn (seconds of CPU apiece).
LOG_MODEL_JOBS = 4
# One job: fit, report ready, wait for the common start signal, then `log_model` with the name. Its
# requirements are given, so `log_model` starts no inference subprocess: the jobs reach the server
# together instead of one inference (seconds, varying) apart.
JOB = r"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

url, experiment, name, barrier = sys.argv[1:5]
mlflow.set_tracking_uri(url)
mlflow.set_experiment(experiment)
x, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=300).fit(x, y)
open(os.path.join(barrier, f"ready-{os.getpid()}"), "w").close()
while not os.path.exists(os.path.join(barrier, "go")):
    time.sleep(0.001)
with mlflow.start_run():
    info = mlflow.sklearn.log_model(
        model, name="model", registered_model_name=name, pip_requirements=["mlflow", "scikit-learn"]
    )
print(json.dumps({"version": str(info.registered_model_version)}))
"""


def test_concurrent_log_model_jobs_register_one_new_name(
    models_served: ServerProcess, unique: str, tmp_path: Path
) -> None:
    """`log_model(registered_model_name=...)` from LOG_MODEL_JOBS processes at once: versions 1-N, no
    error. (test_registry_concurrency races eight registrations, on both stores and behind four
    workers; this one races the whole `log_model` path: logged model, artifacts, then the name.)"""
    name = f"iris-race-{unique}"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    args = [sys.executable, "-c", JOB, models_served.url, f"race-{unique}", name, str(barrier)]
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(LOG_MODEL_JOBS)
    ]
    try:
        deadline = time.monotonic() + 300
        while len(list(barrier.glob("ready-*"))) < LOG_MODEL_JOBS:
            failed = [p for p in procs if p.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "jobs did not start"
            time.sleep(0.05)
        (barrier / "go").touch()
        versions = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err.decode()[-3000:]
            versions.append(int(json.loads(out.decode().strip().splitlines()[-1])["version"]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert sorted(versions) == list(range(1, LOG_MODEL_JOBS + 1))
    stored = MlflowClient().search_model_versions(f"name = '{name}'")
    assert sorted(int(v.version) for v in stored) == list(range(1, LOG_MODEL_JOBS + 1))
