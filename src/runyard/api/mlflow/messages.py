"""Request messages of the MLflow tracking API, as pydantic models (proto field names, proto-JSON types)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

from runyard.api.mlflow.fields import Double, Int64

ViewType = Literal["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]
RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]


class Message(BaseModel):
    # Unknown fields are ignored, as the protobuf JSON parser of the reference server does.
    model_config = ConfigDict(extra="ignore", frozen=True)


class KeyValue(Message):
    key: str
    value: str = ""


# --- experiments ------------------------------------------------------------------------------


class CreateExperiment(Message):
    name: str
    artifact_location: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class ExperimentId(Message):
    experiment_id: str


class GetExperimentByName(Message):
    experiment_name: str


class SearchDatasets(Message):
    experiment_ids: list[str] = Field(default_factory=list)


class SearchExperiments(Message):
    max_results: Int64 | None = None
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] = Field(default_factory=list)
    view_type: ViewType = "ACTIVE_ONLY"


class UpdateExperiment(Message):
    experiment_id: str
    new_name: str


class SetExperimentTag(Message):
    experiment_id: str
    key: str
    value: str = ""


class DeleteExperimentTag(Message):
    experiment_id: str
    key: str


# --- runs -------------------------------------------------------------------------------------


class RunRef(Message):
    """Every run call names its run as `run_id` (and legacy `run_uuid`)."""

    # A refused message without a run names the run as missing first (see `http.parse_json`).
    REQUIRED_FIRST: ClassVar[tuple[str, ...]] = ("run_id", "run_uuid")

    run_id: str | None = None
    run_uuid: str | None = None

    @property
    def target(self) -> str:
        return self.run_id or self.run_uuid or ""


class LogModel(RunRef):
    model_json: str | None = None


class CreateRun(Message):
    experiment_id: str | None = None
    user_id: str | None = None
    run_name: str | None = None
    start_time: Int64 | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class UpdateRun(RunRef):
    status: RunStatus | None = None
    end_time: Int64 | None = None
    run_name: str | None = None


class SetTag(RunRef):
    key: str
    value: str = ""


class DeleteTag(RunRef):
    key: str


class LogParam(RunRef):
    key: str
    value: str = ""


class MetricMessage(TypedDict):
    """One entry of log-batch `metrics[]`: a TypedDict, which pydantic-core validates several times
    faster than a model (a batch carries up to 1,000 of them). Unknown keys are ignored."""

    key: str
    value: Double
    timestamp: Int64
    step: NotRequired[Int64]
    model_id: NotRequired[str | None]
    dataset_name: NotRequired[str | None]
    dataset_digest: NotRequired[str | None]


class LogMetric(RunRef):
    key: str
    value: Double
    timestamp: Int64
    step: Int64 = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LogBatch(RunRef):
    metrics: list[MetricMessage] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class DatasetMessage(Message):
    # Absent fields are "" (proto-JSON's default), as the reference stores them.
    name: str = ""
    digest: str = ""
    source_type: str = ""
    source: str = ""
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None


class DatasetInputMessage(Message):
    tags: list[KeyValue] = Field(default_factory=list)
    dataset: DatasetMessage


class ModelInputMessage(Message):
    model_id: str


class ModelOutputMessage(Message):
    model_id: str
    step: Int64 = 0


class LogInputs(RunRef):
    datasets: list[DatasetInputMessage] = Field(default_factory=list)
    models: list[ModelInputMessage] = Field(default_factory=list)


class LogOutputs(RunRef):
    models: list[ModelOutputMessage] = Field(default_factory=list)


class SearchRuns(Message):
    experiment_ids: list[str] = Field(default_factory=list)
    filter: str | None = None
    run_view_type: ViewType = "ACTIVE_ONLY"
    max_results: Int64 | None = None
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


# --- metrics ----------------------------------------------------------------------------------


class GetMetricHistory(RunRef):
    metric_key: str
    page_token: str | None = None
    max_results: Int64 | None = None


class GetMetricHistoryBulkInterval(Message):
    run_ids: list[str] = Field(default_factory=list)
    metric_key: str
    start_step: Int64 | None = None
    end_step: Int64 | None = None
    max_results: Int64 | None = None
