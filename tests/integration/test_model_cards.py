"""A finalized logged model carries `runyard.` tags read from its MLmodel (flavors, signature, size)."""

from __future__ import annotations

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression


def test_sklearn_model_card_tags(tracking: object, unique: str) -> None:
    mlflow.set_experiment(f"cards-{unique}")
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    model = LogisticRegression().fit(X, y)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
    tags = MlflowClient().get_logged_model(info.model_id).tags
    assert tags["runyard.flavors"] == "python_function,sklearn"
    assert tags["runyard.has_signature"] == "true"
    assert tags["runyard.has_input_example"] == "true"
    assert int(tags["runyard.size_bytes"]) > 500
    found = mlflow.search_logged_models(filter_string="tags.`runyard.flavors` LIKE '%sklearn%'", output_format="list")
    assert info.model_id in [m.model_id for m in found]


def test_model_without_mlmodel_gets_no_card(tracking: object, unique: str) -> None:
    mlflow.set_experiment(f"cards-bare-{unique}")
    model = mlflow.initialize_logged_model(name="bare")
    mlflow.finalize_logged_model(model.model_id, "READY")
    assert "runyard.flavors" not in MlflowClient().get_logged_model(model.model_id).tags
