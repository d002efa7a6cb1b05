"""The one protocol every source is read through (an MLflow server over REST, an MLflow database and
artifact root, an export folder, a Runyard workspace), and the errors a source raises.

A source yields everything it holds, deleted objects included (their lifecycle says so), in a
stable order: experiments by id, a run's parents before the children that name them. Reads are
bounded: metric points and file bytes come in pages and chunks, never a whole run's worth at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from runyard.transfer.records import (
    ExperimentRecord,
    FileRecord,
    LoggedModelRecord,
    MetricPoint,
    ModelVersionRecord,
    Owner,
    RegisteredModelRecord,
    RunRecord,
)

CHUNK_SIZE = 1024 * 1024


class SourceError(Exception):
    """The source cannot be read (unreachable, refused, not what it claims to be): one clear line."""


class Source(Protocol):
    def describe(self) -> str:
        """A short, stable, secret-free name for messages and for the import journal (e.g. the URL
        without credentials, or the database URI with its password masked)."""
        ...

    def experiments(self) -> Iterator[ExperimentRecord]:
        """Every experiment, active and deleted, by ascending id."""
        ...

    def runs(self, experiment_id: str) -> Iterator[RunRecord]:
        """Every run of the experiment, active and deleted, parents before children (by start time,
        then id)."""
        ...

    def metric_points(self, run: RunRecord, key: str) -> Iterator[Sequence[MetricPoint]]:
        """Every point of one key of one run, in pages of bounded size, ordered by (step, timestamp,
        value)."""
        ...

    def logged_models(self, experiment_id: str) -> Iterator[LoggedModelRecord]:
        """Every logged model of the experiment (MLflow 3), deleted ones included where the source
        keeps them; none for sources that have no logged models."""
        ...

    def files(self, owner: Owner) -> Iterator[FileRecord]:
        """Every file below the owner's artifact root, recursively, directories left out."""
        ...

    def read_file(self, owner: Owner, path: str) -> Iterator[bytes]:
        """The bytes of one file, in chunks of at most `CHUNK_SIZE`."""
        ...

    def registered_models(self) -> Iterator[RegisteredModelRecord]:
        """Every registered model, with its tags and aliases, by name."""
        ...

    def model_versions(self, name: str) -> Iterator[ModelVersionRecord]:
        """Every version of one registered model, by ascending version number."""
        ...

    def close(self) -> None: ...
