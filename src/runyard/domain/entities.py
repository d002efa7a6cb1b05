"""The objects services hand to the API layer: workspaces, experiments, runs and their data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Generic, NamedTuple, TypeVar

T = TypeVar("T")

ACTIVE: Final = "active"
DELETED: Final = "deleted"

RUN_STATUSES: Final = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
VIEW_TYPES: Final = {"ACTIVE_ONLY": (ACTIVE,), "DELETED_ONLY": (DELETED,), "ALL": (ACTIVE, DELETED)}

# Tags with meaning to MLflow that the server keeps in step with run attributes.
RUN_NAME_TAG: Final = "mlflow.runName"
USER_TAG: Final = "mlflow.user"
DATASET_CONTEXT_TAG: Final = "mlflow.data.context"


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    description: str | None
    naming: str
    artifact_root: str | None
    creation_time: int
    last_update_time: int
    path_roots: tuple[str, ...] = ()


@dataclass(frozen=True)
class Experiment:
    experiment_id: int
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    workspace: str
    tags: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class RunInfo:
    run_uuid: str
    experiment_id: int
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str


class Metric(NamedTuple):
    """One metric point. A named tuple: histories hold 100,000 of them, and a tuple is built
    several times faster than a frozen dataclass."""

    key: str
    value: float
    timestamp: int
    step: int


# One point of a metric series without its key, as read: (value, timestamp, step, is_nan), the
# value already NaN where is_nan is set. A bare tuple: full histories are read 25,000 at a time.
SeriesPoint = tuple[float, int, int, bool]


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def fields(self) -> dict[str, str]:
        """The set fields, named as MLflow's `Dataset` message names them."""
        values = {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: list[tuple[str, str]]


@dataclass(frozen=True)
class ModelIO:
    model_id: str
    step: int = 0


@dataclass
class Run:
    info: RunInfo
    metrics: list[Metric] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[ModelIO] = field(default_factory=list)
    model_outputs: list[ModelIO] = field(default_factory=list)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the token for the next (None on the last page)."""

    items: list[T]
    next_page_token: str | None
