"""Entities → GraphQL result objects, shaped as the reference's resolvers produce them.

The reference resolves GraphQL fields on its protobuf messages, so a field never logged reads as its
protobuf default: an unset string is `""`, an unset 64-bit integer `0` (written `"0"`), an unset list
`[]`, an unset message an object of such defaults. The objects built here hold those defaults, keyed
by the schema's (camelCase) field names, so the default field resolver reads them. Lazily resolved
fields (a run's `experiment` and `modelVersions`) are left out here: see `resolvers`.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from runyard.artifacts.base import FileInfo
from runyard.domain.entities import Dataset, DatasetInput, Experiment, Metric, ModelIO, Run, RunInfo
from runyard.store.dataset_summaries import DatasetSummary
from runyard.store.registry import ModelVersion

Obj = dict[str, Any]

# What the reference's SQL store turns ±Infinity into (so its UI shows these numbers): GraphQL's
# Float cannot carry an infinity, and an error in the answer would fail the whole UI query.
_DOUBLE_MAX = sys.float_info.max


def key_values(pairs: list[tuple[str, str]]) -> list[Obj]:
    return [{"key": k, "value": v} for k, v in pairs]


def graphql_float(value: float) -> float:
    """±Infinity as the largest finite doubles; NaN stays NaN (see `run_metric`, `sampled_metric`)."""
    if math.isinf(value):
        return _DOUBLE_MAX if value > 0 else -_DOUBLE_MAX
    return value


def experiment(e: Experiment) -> Obj:
    return {
        "experimentId": str(e.experiment_id),
        "name": e.name,
        "artifactLocation": e.artifact_location,
        "lifecycleStage": e.lifecycle_stage,
        "lastUpdateTime": e.last_update_time,
        "creationTime": e.creation_time,
        "tags": key_values(e.tags),
        "effectiveTraceArchivalRetention": "",  # no trace archival in Runyard
        "workspace": e.workspace,
    }


def run_info(i: RunInfo) -> Obj:
    return {
        "runId": i.run_uuid,
        "runUuid": i.run_uuid,
        "runName": i.run_name or "",
        "experimentId": str(i.experiment_id),
        "userId": i.user_id or "",
        "status": i.status,
        "startTime": i.start_time or 0,
        "endTime": i.end_time or 0,
        "artifactUri": i.artifact_uri,
        "lifecycleStage": i.lifecycle_stage,
    }


def run_metric(m: Metric) -> Obj:
    """A run's latest value of one metric. NaN reads as null, as in the reference (its
    `MlflowMetricExtension`); the latest values carry no dataset, model or run id."""
    value = None if math.isnan(m.value) else graphql_float(m.value)
    return {
        "key": m.key,
        "value": value,
        "timestamp": m.timestamp,
        "step": m.step,
        "datasetName": "",
        "datasetDigest": "",
        "modelId": "",
        "runId": "",
    }


def sampled_metric(run_id: str, m: Metric) -> Obj:
    """One point of a sampled history. The reference's type here is the plain `Float`, so a NaN
    point is an error in the answer (and its value null) there too: it is left to GraphQL's Float."""
    return {"key": m.key, "value": graphql_float(m.value), "timestamp": m.timestamp, "step": m.step, "runId": run_id}


def dataset(d: Dataset) -> Obj:
    return {
        "name": d.name,
        "digest": d.digest,
        "sourceType": d.source_type,
        "source": d.source,
        "schema": d.schema or "",
        "profile": d.profile or "",
    }


def dataset_input(d: DatasetInput) -> Obj:
    return {"tags": key_values(d.tags), "dataset": dataset(d.dataset)}


def dataset_summary(d: DatasetSummary) -> Obj:
    return {"experimentId": str(d.experiment_id), "name": d.name, "digest": d.digest, "context": d.context or ""}


def file_info(f: FileInfo) -> Obj:
    """A directory's size is the protobuf default, `"0"`, as in the reference."""
    return {"path": f.path, "isDir": f.is_dir, "fileSize": f.file_size or 0}


def model_input(m: ModelIO) -> Obj:
    return {"modelId": m.model_id}


def model_output(m: ModelIO) -> Obj:
    return {"modelId": m.model_id, "step": m.step}


def run(r: Run) -> Obj:
    """A run without its lazily resolved fields; `_run` keeps the entity for their resolvers."""
    return {
        "info": run_info(r.info),
        "data": {
            "metrics": [run_metric(m) for m in r.metrics],
            "params": key_values(r.params),
            "tags": key_values(r.tags),
        },
        "inputs": {
            "datasetInputs": [dataset_input(d) for d in r.dataset_inputs],
            "modelInputs": [model_input(m) for m in r.model_inputs],
        },
        "outputs": {"modelOutputs": [model_output(m) for m in r.model_outputs]},
        "_run": r,
    }


# A model version's deployment job state is never set in Runyard. (The reference answers its enum
# fields with an error, as it cannot name the protobuf default; null here.)
_NO_DEPLOYMENT_JOB: Obj = {"jobId": "", "runId": "", "jobState": None, "runState": None, "currentTaskName": ""}


def model_version(v: ModelVersion) -> Obj:
    r = v.row
    return {
        "name": r.name,
        "version": str(r.version),
        "creationTimestamp": r.creation_time,
        "lastUpdatedTimestamp": r.last_updated_time,
        "userId": r.user_id or "",
        "currentStage": r.current_stage,
        "description": r.description or "",
        "source": r.source,
        "runId": r.run_id or "",
        "status": r.status,
        "statusMessage": r.status_message or "",
        "tags": key_values(v.tags),
        "runLink": r.run_link or "",
        "aliases": list(v.aliases),
        "modelId": r.model_id or "",
        "modelParams": [],
        "modelMetrics": [],
        "deploymentJobState": dict(_NO_DEPLOYMENT_JOB),
    }
