"""The download headers and the legacy log-model history entry, as the reference server writes them
(values observed on mlflow server 3.17.2)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from runyard.api.mlflow.downloads import content_disposition, served_content_type
from runyard.domain.errors import MlflowError
from runyard.domain.model_history import append_entry, history_entry


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("plot.png", "attachment; filename=plot.png"),
        ("MLmodel", "attachment; filename=MLmodel"),
        ("with space.txt", 'attachment; filename="with space.txt"'),
        ('quote".txt', 'attachment; filename="quote\\".txt"'),
        ("back\\slash", 'attachment; filename="back\\\\slash"'),
        ("a,b;c.txt", 'attachment; filename="a,b;c.txt"'),
        ("résumé.txt", "attachment; filename=resume.txt; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"),
        ("日本語", "attachment; filename=download; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E"),
        ("日本 x.txt", "attachment; filename=\" x.txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%20x.txt"),
    ],
)
def test_content_disposition(name: str, header: str) -> None:
    assert content_disposition(name) == header


def test_active_content_is_text() -> None:
    assert served_content_type("text/html") == "text/plain"
    assert served_content_type("image/svg+xml") == "text/plain"
    assert served_content_type("image/png") == "image/png"


def test_history_entry_shape_and_order() -> None:
    model = {
        "mlflow_version": "2.9.0",
        "flavors": {"sk": {"config": {"x": 1}, "v": 1}, "s": "plain"},
        "utc_time_created": "t",
        "artifact_path": "m",
        "run_id": "r",
        "signature": {"inputs": "[]"},
    }
    entry = history_entry(json.dumps(model))
    assert json.dumps(entry) == (
        '{"run_id": "r", "artifact_path": "m", "utc_time_created": "t", "model_uuid": null, '
        '"flavors": {"sk": {"v": 1}, "s": "plain"}}'
    )
    empty = {"artifact_path": None, "flavors": None, "utc_time_created": None, "run_id": None}
    now = datetime(2026, 12, 2, 6, 9, 32, 246156)
    assert history_entry(json.dumps(empty), now) == {
        "utc_time_created": "2026-12-02 06:09:32.246156",
        "model_uuid": None,
        "flavors": {},
    }
    assert history_entry(json.dumps({**model, "utc_time_created": True}))["utc_time_created"] == "True"


def test_history_refusals() -> None:
    with pytest.raises(MlflowError, match="is not a valid JSON"):
        history_entry("{")
    with pytest.raises(MlflowError, match=r"missing mandatory fields: \{'artifact_path', 'run_id'\}"):
        history_entry(json.dumps({"flavors": {}, "utc_time_created": "t"}))
    with pytest.raises(MlflowError, match="does not hold a JSON list"):
        append_entry('{"a": 1}', {})
    assert append_entry(None, {"a": 1}) == '[{"a": 1}]'
    assert append_entry('[{"a": 1}]', {"b": 2}) == '[{"a": 1}, {"b": 2}]'
