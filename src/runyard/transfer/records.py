"""What a source hands over, in MLflow's terms and with the source's own ids (strings, as on the
wire): experiments, runs, metric points, logged models, registered models and versions, and files.

Plain values with no I/O. Times are milliseconds since the epoch; a metric value that is NaN is the
float NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ExperimentRecord:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str  # "active" or "deleted"
    creation_time: int | None
    last_update_time: int | None
    tags: Pairs = ()


@dataclass(frozen=True)
class DatasetRecord:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class DatasetInputRecord:
    dataset: DatasetRecord
    tags: Pairs = ()


class ModelIORecord(NamedTuple):
    """A logged model a run used (`inputs.model_inputs`) or produced (`outputs.model_outputs`)."""

    model_id: str
    step: int = 0


class LatestMetric(NamedTuple):
    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    experiment_id: str
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    deleted_time: int | None = None
    params: Pairs = ()
    tags: Pairs = ()
    # The newest point of every key the run has points for (MLflow's `run.data.metrics`).
    latest_metrics: tuple[LatestMetric, ...] = ()
    datasets: tuple[DatasetInputRecord, ...] = ()
    model_inputs: tuple[ModelIORecord, ...] = ()
    model_outputs: tuple[ModelIORecord, ...] = ()


class MetricPoint(NamedTuple):
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class ModelMetricRecord:
    """A point recorded on a logged model (`LoggedModel.data.metrics`)."""

    key: str
    value: float
    timestamp: int
    step: int
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True)
class LoggedModelRecord:
    model_id: str
    experiment_id: str
    name: str
    artifact_uri: str
    status: str  # PENDING, READY, FAILED, UNSPECIFIED
    status_message: str | None
    model_type: str
    source_run_id: str
    lifecycle_stage: str
    creation_time: int
    last_updated_time: int
    tags: Pairs = ()
    params: Pairs = ()
    metrics: tuple[ModelMetricRecord, ...] = ()


@dataclass(frozen=True)
class RegisteredModelRecord:
    name: str
    description: str | None
    creation_time: int | None
    last_updated_time: int | None
    tags: Pairs = ()
    aliases: tuple[tuple[str, int], ...] = ()  # (alias, version)


@dataclass(frozen=True)
class ModelVersionRecord:
    name: str
    version: int
    creation_time: int | None
    last_updated_time: int | None
    description: str | None
    user_id: str | None
    current_stage: str  # None, Staging, Production, Archived
    source: str
    run_id: str | None
    model_id: str | None
    run_link: str | None
    status: str  # READY, PENDING_REGISTRATION, FAILED_REGISTRATION
    status_message: str | None
    storage_location: str | None = None
    tags: Pairs = ()


@dataclass(frozen=True)
class FileRecord:
    """A file below a run's or a logged model's artifact root: its relative path and size in bytes."""

    path: str
    size: int


Owner = RunRecord | LoggedModelRecord
"""What artifact files belong to."""
