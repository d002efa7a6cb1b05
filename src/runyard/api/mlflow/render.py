"""Entities → MLflow proto-JSON dicts (empty repeated fields and unset fields are omitted)."""

from __future__ import annotations

import math
from typing import Any

from runyard.artifacts.base import FileInfo
from runyard.domain.entities import Experiment, Metric, Run, RunInfo, SeriesPoint


def tags(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs]


def number(value: float) -> float | str:
    """Doubles the way protobuf JSON writes them: NaN and infinities as strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def file_info(f: FileInfo, path: str | None = None) -> dict[str, Any]:
    """One artifact listing entry: `path` (default: the entry's own), `is_dir`, and `file_size` for
    non-empty files only: as in `mlflow server`'s listings, directories carry none, and neither does
    an empty file (MLflow's `FileInfo.to_proto` leaves a size of 0 unset)."""
    out: dict[str, Any] = {"path": f.path if path is None else path, "is_dir": f.is_dir}
    if not f.is_dir and f.file_size:
        out["file_size"] = f.file_size
    return out


def experiment(e: Experiment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "experiment_id": str(e.experiment_id),
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage,
        "last_update_time": e.last_update_time,
        "creation_time": e.creation_time,
    }
    if e.tags:
        out["tags"] = tags(e.tags)
    out["workspace"] = e.workspace
    return out


def run_info(i: RunInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"run_uuid": i.run_uuid, "experiment_id": str(i.experiment_id)}
    if i.run_name is not None:
        out["run_name"] = i.run_name
    if i.user_id is not None:
        out["user_id"] = i.user_id
    out["status"] = i.status
    if i.start_time is not None:
        out["start_time"] = i.start_time
    if i.end_time is not None:
        out["end_time"] = i.end_time
    out["artifact_uri"] = i.artifact_uri
    out["lifecycle_stage"] = i.lifecycle_stage
    out["run_id"] = i.run_uuid
    return out


def metric(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": number(m.value), "timestamp": m.timestamp, "step": m.step}


def series_points(key: str, points: list[SeriesPoint]) -> list[dict[str, Any]]:
    """Points of one series as metrics; one pass, as many points as a history page holds."""
    # `v - v == 0` is false exactly for NaN and the infinities, which `number` spells as strings.
    return [
        {"key": key, "value": v if v - v == 0 else number(v), "timestamp": ts, "step": step}
        for v, ts, step, _ in points
    ]


def run(r: Run) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if r.metrics:
        data["metrics"] = [metric(m) for m in r.metrics]
    if r.params:
        data["params"] = tags(r.params)
    if r.tags:
        data["tags"] = tags(r.tags)
    inputs: dict[str, Any] = {}
    if r.dataset_inputs:
        inputs["dataset_inputs"] = [
            {
                **({"tags": tags(d.tags)} if d.tags else {}),
                "dataset": d.dataset.fields(),
            }
            for d in r.dataset_inputs
        ]
    if r.model_inputs:
        inputs["model_inputs"] = [{"model_id": m.model_id} for m in r.model_inputs]
    outputs: dict[str, Any] = {}
    if r.model_outputs:
        outputs["model_outputs"] = [{"model_id": m.model_id, "step": m.step} for m in r.model_outputs]
    return {"info": run_info(r.info), "data": data, "inputs": inputs, "outputs": outputs}
