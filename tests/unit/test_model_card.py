"""MLmodel parsing into the `runyard.` card tags."""

from __future__ import annotations

from runyard.domain.model_card import parse_mlmodel
from runyard.services.artifacts import artifact_path_of

MLMODEL = b"""
artifact_path: model
flavors:
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.5.0
  python_function:
    loader_module: mlflow.sklearn
model_id: m-123
saved_input_example_info:
  artifact_path: input_example.json
signature:
  inputs: '[{"type": "double"}]'
"""


def test_card_of_a_full_mlmodel() -> None:
    card = parse_mlmodel(MLMODEL, 4096)
    assert card is not None
    assert dict(card.tags()) == {
        "runyard.flavors": "python_function,sklearn",
        "runyard.has_signature": "true",
        "runyard.has_input_example": "true",
        "runyard.size_bytes": "4096",
    }


def test_card_without_signature_or_example() -> None:
    card = parse_mlmodel(b"flavors:\n  python_function: {}\n", 10)
    assert card is not None
    assert dict(card.tags())["runyard.has_signature"] == "false"
    assert dict(card.tags())["runyard.has_input_example"] == "false"


def test_not_an_mlmodel() -> None:
    assert parse_mlmodel(b"- a list\n", 1) is None
    assert parse_mlmodel(b"{unclosed", 1) is None
    card = parse_mlmodel(b"just: text\n", 1)
    assert card is not None and card.flavors == ()


def test_artifact_path_of() -> None:
    assert artifact_path_of("mlflow-artifacts:/1/models/m-1/artifacts") == "1/models/m-1/artifacts"
    assert artifact_path_of("mlflow-artifacts://host:5000/1/x") == "1/x"
    assert artifact_path_of("s3://bucket/x") is None
