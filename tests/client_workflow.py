"""A training workflow through the public `mlflow` API only, run by `tests/integration/test_client_versions.py`
in a virtual environment of some other MLflow client version against a live Runyard server.

    python tests/client_workflow.py <tracking-uri> <name> <result.json>

Experiment, run, params, metrics with steps, tags, artifacts (a file, a folder, a dict), an sklearn
model logged with `registered_model_name`, loaded back through `models:/<name>/1`, `search_runs`,
and a download that 3.18 first tries through the presigned endpoint. Every check is an `assert`
here (a failure exits non-zero with its message); what the caller checks itself is written to
`result.json`. Works with MLflow 2.x and 3.x clients; imports nothing from Runyard.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def main(tracking_uri: str, name: str, result_path: str) -> None:
    # 3.18 then tries `GET /mlflow-artifacts/presigned/...` first and must fall back on the answer.
    os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] = "true"
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    version = mlflow.__version__
    major = int(version.split(".")[0])
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.set_experiment(f"workflow-{name}")
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=200).fit(X, y)
    registered = f"iris-{name}"

    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(run_name="train") as run:
        run_id = run.info.run_id
        mlflow.log_param("C", 1.0)
        mlflow.log_params({"max_iter": 200, "solver": "lbfgs"})
        for step, loss in enumerate([0.9, 0.5, 0.25]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"accuracy": float(model.score(X, y))}, step=3)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "client": version})
        notes = Path(tmp, "notes.txt")
        notes.write_text("first try\n")
        mlflow.log_artifact(str(notes))
        folder = Path(tmp, "plots")
        (folder / "nested").mkdir(parents=True)
        (folder / "a.csv").write_text("x,y\n1,2\n")
        (folder / "nested" / "b.txt").write_text("deep")
        Path(tmp, "empty.txt").write_bytes(b"")
        mlflow.log_artifact(str(Path(tmp, "empty.txt")), "misc")
        mlflow.log_artifacts(str(folder), "plots")
        mlflow.log_dict({"classes": 3}, "meta/info.json")
        kwargs = {"artifact_path": "model"} if major < 3 else {"name": "model"}
        info = mlflow.sklearn.log_model(model, registered_model_name=registered, **kwargs)

    client = MlflowClient()
    # Reads back: the run, its metric history, its artifacts.
    got = client.get_run(run_id)
    assert got.data.params == {"C": "1.0", "max_iter": "200", "solver": "lbfgs"}, got.data.params
    assert got.data.metrics["loss"] == 0.25 and got.data.metrics["accuracy"] > 0.9, got.data.metrics
    assert got.data.tags["team"] == "vision" and got.data.tags["client"] == version, got.data.tags
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.25)], history
    top = {f.path: f for f in client.list_artifacts(run_id)}
    assert {"notes.txt", "plots", "meta", "misc"} <= set(top), sorted(top)
    assert top["plots"].is_dir and top["plots"].file_size is None and top["notes.txt"].file_size == 10
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "misc")] == [("misc/empty.txt", None)]
    with tempfile.TemporaryDirectory() as dl:
        local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="plots", dst_path=dl))
        assert (local / "a.csv").read_text() == "x,y\n1,2\n" and (local / "nested" / "b.txt").read_text() == "deep"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/meta/info.json") == {"classes": 3}
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes.txt") == "first try\n"

    # The registered model: version 1, loadable through models:/ and predicting as the original.
    version_1 = client.get_model_version(registered, "1")
    assert version_1.run_id == run_id, version_1
    loaded = mlflow.pyfunc.load_model(f"models:/{registered}/1")
    assert np.array_equal(loaded.predict(X[:10]), model.predict(X[:10]))
    sk = mlflow.sklearn.load_model(info.model_uri)
    assert np.array_equal(sk.predict(X[:10]), model.predict(X[:10]))

    # Search.
    found = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id], filter_string="params.solver = 'lbfgs' and metrics.loss < 0.3"
    )
    assert list(found["run_id"]) == [run_id], found
    runs = client.search_runs([experiment.experiment_id], order_by=["metrics.accuracy DESC"], max_results=5)
    assert [r.info.run_id for r in runs] == [run_id]

    Path(result_path).write_text(
        json.dumps(
            {
                "client_version": version,
                "run_id": run_id,
                "experiment_id": experiment.experiment_id,
                "registered_model": registered,
                "model_uri": info.model_uri,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
