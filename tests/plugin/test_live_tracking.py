"""The unmodified mlflow client through the plugin against a live `--auth on` server whose access
tokens live 5 seconds: a service principal logging for 20 s (tokens renewed before expiry, and
after a refused one), a personal access token in a clean subprocess logging an sklearn model with
`registered_model_name` and loading `models:/<name>/1` in workspace `team`, and
`MLFLOW_TRACKING_AUTH=runyard` with plain http(s) URIs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from runyard.plugin import chain
from tests.conftest import ServerProcess
from tests.plugin.live_server import TOKEN_TTL, Live
from tests.plugin.sign_in import plugin_env

LOG_SECONDS = 20.0


def test_a_service_principal_keeps_logging_past_many_token_lifetimes(
    live: Live, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_id, secret = live.service_principal("trainer-bot", "team")
    monkeypatch.setenv("RUNYARD_CLIENT_ID", client_id)
    monkeypatch.setenv("RUNYARD_CLIENT_SECRET", secret)
    mlflow.set_tracking_uri(live.uri("team"))
    credentials = chain.for_server(live.url)
    refused: list[str] = []
    invalidate = credentials.invalidate

    def counting_invalidate(token: str) -> bool:
        refused.append(token)
        return invalidate(token)

    monkeypatch.setattr(credentials, "invalidate", counting_invalidate)
    mlflow.set_experiment("sp-long-job")
    tokens: set[str] = set()
    artifact = tmp_path / "notes.txt"
    with mlflow.start_run() as run:
        mlflow.log_param("lr", "0.1")
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < LOG_SECONDS:
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 10 == 0:
                artifact.write_text(f"step {step}\n")
                mlflow.log_artifact(str(artifact), artifact_path=f"notes/{step}")
            tokens.add(credentials.credential().access_token)
            step += 1
            time.sleep(0.25)
        # A token the server refuses (as after a key rotation): the 401 is answered by renewing once.
        credentials.credential().access_token = "not-a-token"
        mlflow.log_param("after_refusal", "yes")
    assert len(tokens) >= LOG_SECONDS / TOKEN_TTL  # renewed again and again...
    assert refused == ["not-a-token"]  # ...before expiry: the server refused only the planted token
    client = MlflowClient()
    finished = client.get_run(run.info.run_id)
    assert finished.data.params == {"lr": "0.1", "after_refusal": "yes"}
    assert finished.info.status == "FINISHED"
    assert len(client.get_metric_history(run.info.run_id, "loss")) == step
    logged = {f.path for f in client.list_artifacts(run.info.run_id, "notes")}
    assert logged == {f"notes/{n}" for n in range(0, step, 10)}
    assert credentials.credential().method.startswith("service principal")
    with live.admin("default") as admin:  # the workspace in the URI was sent: nothing landed in default
        answer = admin.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "sp-long-job"})
        assert answer.status_code == 404, answer.text


PAT_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    name = sys.argv[1]
    mlflow.set_experiment("pat-exp")
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    with open("data.txt", "w") as f:
        f.write("rows: 4\\n")
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("acc", 1.0)
        mlflow.log_artifact("data.txt")
        model = LogisticRegression().fit(X, y)
        mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/1")
    files = [f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id)]
    print(json.dumps({
        "run_id": run.info.run_id,
        "artifact_uri": run.info.artifact_uri,
        "tracking_uri": mlflow.get_tracking_uri(),
        "predictions": [int(p) for p in loaded.predict(X)],
        "files": files,
    }))
    """
)


def test_a_personal_token_logs_registers_and_loads_a_model(live: Live, tmp_path: Path) -> None:
    live.user("pat-user", "team")
    script = tmp_path / "train.py"
    script.write_text(PAT_SCRIPT)
    env = plugin_env(tmp_path / "config", MLFLOW_TRACKING_URI=live.uri("team"), RUNYARD_TOKEN=live.token("pat-user"))
    done = subprocess.run(
        [sys.executable, str(script), "pat-model"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["tracking_uri"] == live.uri("team")
    assert result["artifact_uri"].startswith("mlflow-artifacts:")
    assert result["predictions"] == [0, 0, 1, 1]
    assert set(result["files"]) == {"data.txt"}
    with live.admin("team") as admin:
        version = admin.get("/api/2.0/mlflow/model-versions/get", params={"name": "pat-model", "version": "1"})
        assert version.status_code == 200, version.text
        assert version.json()["model_version"]["run_id"] == result["run_id"]
    with live.admin("default") as admin:
        assert admin.get("/api/2.0/mlflow/registered-models/get", params={"name": "pat-model"}).status_code == 404


@pytest.mark.parametrize("workspace_in_url", [True, False])
def test_mlflow_tracking_auth_runyard_with_a_plain_http_uri(
    live: Live, clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, workspace_in_url: bool
) -> None:
    user = live.user(f"plain-{workspace_in_url}", "team", "default")
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "runyard")
    monkeypatch.setenv("RUNYARD_TOKEN", live.token(user))
    uri = live.url + ("/w/team" if workspace_in_url else "")
    mlflow.set_tracking_uri(uri)
    experiment = f"plain-http-{workspace_in_url}"
    mlflow.set_experiment(experiment)
    artifact = tmp_path / "plain.txt"
    artifact.write_text("plain http\n")
    with mlflow.start_run() as run:
        mlflow.log_param("via", "MLFLOW_TRACKING_AUTH")
        mlflow.log_artifact(str(artifact))
    client = MlflowClient()
    assert client.get_run(run.info.run_id).data.params == {"via": "MLFLOW_TRACKING_AUTH"}
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["plain.txt"]
    downloaded = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="plain.txt", dst_path=str(tmp_path / "d")
    )
    assert Path(downloaded).read_text() == "plain http\n"
    with live.admin("team" if workspace_in_url else "default") as admin:
        found = admin.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": experiment})
        assert found.status_code == 200, found.text


def test_without_the_auth_provider_a_plain_uri_is_refused(live: Live, clean_env: Path) -> None:
    """The control for the test above: the same calls without MLFLOW_TRACKING_AUTH are unauthenticated."""
    mlflow.set_tracking_uri(live.url)
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"401|UNAUTHENTICATED|nauthenticated"):
        MlflowClient().search_experiments()


def test_a_server_with_authentication_off_needs_no_sign_in(server: ServerProcess, tmp_path: Path) -> None:
    """`--auth off`: the plugin asks the server, sends no credentials and never prompts."""
    script = (
        "import mlflow\nmlflow.set_experiment('no-auth-plugin')\n"
        "with mlflow.start_run():\n    mlflow.log_param('a', 1)\n"
    )
    env = plugin_env(
        tmp_path / "config",
        MLFLOW_TRACKING_URI=f"runyard+http://127.0.0.1:{server.port}/default",
        RUNYARD_INTERACTIVE="1",
        BROWSER="false",
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sign in" not in done.stderr.lower()
