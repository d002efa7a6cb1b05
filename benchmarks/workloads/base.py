"""What a workload is: quantities it measures, how it seeds a target and how it measures one."""

from __future__ import annotations

import statistics
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from benchmarks.api import Api
from benchmarks.config import Sizes
from benchmarks.servers import ManagedServer

if TYPE_CHECKING:
    from mlflow import MlflowClient

STUB = "floor"


@dataclass
class Target:
    """A server under test ("mlflow", "runyard", with `--auth-compare` also "runyard-auth") or the
    client-floor stub ("floor"). `authorization`: the header raw-HTTP calls send (the real client
    sends MLFLOW_TRACKING_USERNAME/PASSWORD from the environment, to every target alike)."""

    name: str
    url: str
    server: ManagedServer | None = None
    authorization: str | None = None
    state: dict[str, Any] = field(default_factory=dict)  # data seeded by one workload, reused by others
    _api: Api | None = field(default=None, init=False, repr=False)
    _client: MlflowClient | None = field(default=None, init=False, repr=False)

    @property
    def is_stub(self) -> bool:
        return self.server is None

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.url, authorization=self.authorization)
        return self._api

    @property
    def client(self) -> MlflowClient:
        """The real `mlflow` client, pointed at this target."""
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.url, registry_uri=self.url)
        return self._client

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


@dataclass(frozen=True)
class Quantity:
    """One figure a workload reports, e.g. the latency of `log_metric`."""

    key: str
    label: str
    unit: str
    better: str  # "lower" or "higher"


@dataclass
class Figure:
    """A quantity measured on one target: the median of `samples`, or a note saying why not."""

    value: float | None
    samples: list[float] = field(default_factory=list)
    note: str = ""

    @classmethod
    def missing(cls, note: str) -> Figure:
        return cls(None, [], note)


def median_of(reps: int, one: Callable[[], float], warmup: int = 1) -> Figure:
    """Run `one` (which returns the measured value of a repetition) warm-up + `reps` times."""
    for _ in range(warmup):
        one()
    samples = [one() for _ in range(reps)]
    return Figure(statistics.median(samples), samples)


def per_call_ms(calls: int, fn: Callable[[int], object]) -> Callable[[], float]:
    """A repetition that calls `fn(i)` `calls` times and returns the mean milliseconds per call."""

    def one() -> float:
        began = time.perf_counter()
        for i in range(calls):
            fn(i)
        return (time.perf_counter() - began) * 1000 / calls

    return one


class Workload(ABC):
    """One numbered workload of issue 5."""

    id: ClassVar[str]
    title: ClassVar[str]
    quantities: ClassVar[list[Quantity]]
    has_floor: ClassVar[bool] = True  # also timed against the client-floor stub
    # FastTrackML serves MLflow's tracking API only: no registry, no logged models, no proxied
    # artifacts, no bulk-interval history. Workloads within that API say so.
    tracking_api_only: ClassVar[bool] = False
    # Runyard with its artifacts in S3 (`--s3-compare`) only runs the workloads that move artifacts.
    moves_artifacts: ClassVar[bool] = False

    def __init__(self, sizes: Sizes, scratch: Path) -> None:
        self.sizes = sizes
        self.scratch = scratch

    def runs_on(self, server: str) -> bool:
        """Whether the server named `server` serves what this workload uses."""
        if server == "runyard-s3":
            return self.moves_artifacts
        return server != "fasttrackml" or self.tracking_api_only

    def seed(self, target: Target) -> None:  # noqa: B027 - most workloads need no seeding
        """Load the data the workload reads (not timed; never called for the stub)."""

    def close(self) -> None:  # noqa: B027 - most workloads start nothing of their own
        """Stop whatever the workload started itself (called once it has run, also on failure)."""

    @abstractmethod
    def measure(self, target: Target) -> dict[str, Figure]:
        """Figures keyed by `Quantity.key`."""

    def experiment(self, target: Target, name: str) -> str:
        """An experiment for runs this workload creates (the stub accepts any id)."""
        if target.is_stub:
            return "1"
        key = f"experiment:{name}"
        if key not in target.state:
            target.state[key] = target.api.experiment(name)
        return str(target.state[key])
