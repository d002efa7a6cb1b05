"""The transactional outbox's writer: what a linked workspace's writes leave for the replicator.

Every service write that a mirror must repeat calls one of these methods inside its own write
transaction, so the outbox entry commits (or rolls back) with the write itself: there is no dual
write from the request handler, and nothing acknowledged can be missed. A workspace without links
pays one index probe per write (`store.mirror.linked`).

Entries say which object changed — the replicator sends that object's state as it is when it is
sent (so entries coalesce, and order between them does not matter) — except metric points, whose
entries carry the points themselves (`pack_points`): points only ever accumulate.
"""

from __future__ import annotations

import json
import re
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from sqlalchemy import Connection

from runyard.services.context import now_ms
from runyard.store import mirror as mirror_store
from runyard.store.database import Database
from runyard.store.runs import PreparedPoints

# Entry kinds.
EXPERIMENT: Final = "experiment"
EXPERIMENT_TAG_DELETED: Final = "exp_tag_del"
RUN: Final = "run"
RUN_TAG_DELETED: Final = "run_tag_del"
POINTS: Final = "points"
POINTS_JSON: Final = "points_json"
MODEL: Final = "model"
MODEL_TAG_DELETED: Final = "model_tag_del"
ARTIFACT: Final = "artifact"
ARTIFACT_DELETED: Final = "artifact_del"

_POINT_COLUMNS = 6
_HEADER = struct.Struct("<I")

# Where the server puts run and logged-model artifacts inside a workspace's namespace.
_RUN_PATH = re.compile(r"^[^/]+/(?P<id>[0-9a-f]{32})/artifacts(?:/(?P<rel>.+))?$")
_MODEL_PATH = re.compile(r"^[^/]+/models/(?P<id>m-[0-9a-f]{32})/artifacts(?:/(?P<rel>.+))?$")


@dataclass(frozen=True)
class Point:
    key_id: int
    step: int
    timestamp: int
    value: float
    is_nan: bool


def pack_points(prepared: PreparedPoints) -> bytes:
    """The points of a prepared batch as columns of fixed-width numbers (≈ 29 bytes a point)."""
    flat = prepared.points
    count = len(flat) // _POINT_COLUMNS
    return b"".join(
        (
            _HEADER.pack(count),
            array("q", flat[1::_POINT_COLUMNS]).tobytes(),
            array("q", flat[2::_POINT_COLUMNS]).tobytes(),
            array("q", flat[3::_POINT_COLUMNS]).tobytes(),
            array("d", flat[4::_POINT_COLUMNS]).tobytes(),
            bytes(bool(b) for b in flat[5::_POINT_COLUMNS]),
        )
    )


class PointColumns(NamedTuple):
    """The points of one entry, column by column (the replicator's hot path reads these)."""

    key_ids: list[int]
    steps: list[int]
    timestamps: list[int]
    values: list[float]
    is_nan: list[bool]


def unpack_columns(payload: bytes) -> PointColumns:
    (count,) = _HEADER.unpack_from(payload)
    offset = _HEADER.size
    keys, steps, stamps = array("q"), array("q"), array("q")
    values = array("d")
    for column in (keys, steps, stamps, values):
        column.frombytes(payload[offset : offset + 8 * count])
        offset += 8 * count
    flags = [bool(b) for b in payload[offset : offset + count]]
    return PointColumns(keys.tolist(), steps.tolist(), stamps.tolist(), values.tolist(), flags)


def unpack_points(payload: bytes) -> list[Point]:
    return [Point(*point) for point in zip(*unpack_columns(payload), strict=True)]


def artifact_owner(path: str) -> tuple[str, str, str] | None:
    """(kind, id, path inside the owner's artifacts) of a workspace-relative artifact path, or None
    for a path that is not under a run's or a logged model's artifact location."""
    for kind, pattern in ((RUN, _RUN_PATH), (MODEL, _MODEL_PATH)):
        match = pattern.match(path)
        if match:
            return kind, match["id"], match["rel"] or ""
    return None


class MirrorJournal:
    """Records outbox entries for linked workspaces, inside the caller's transaction."""

    def _record(self, conn: Connection, workspace_id: int, kind: str, entity: str, detail: str | None = None) -> None:
        if mirror_store.linked(conn, workspace_id):
            mirror_store.append(conn, [(workspace_id, kind, entity, detail, None, now_ms())])

    def experiment_changed(self, conn: Connection, workspace_id: int, experiment_id: int | str) -> None:
        self._record(conn, workspace_id, EXPERIMENT, str(experiment_id))

    def experiment_tag_deleted(self, conn: Connection, workspace_id: int, experiment_id: int | str, key: str) -> None:
        self._record(conn, workspace_id, EXPERIMENT_TAG_DELETED, str(experiment_id), key)

    def run_changed(self, conn: Connection, workspace_id: int, run_uuid: str) -> None:
        self._record(conn, workspace_id, RUN, run_uuid)

    def run_tag_deleted(self, conn: Connection, workspace_id: int, run_uuid: str, key: str) -> None:
        self._record(conn, workspace_id, RUN_TAG_DELETED, run_uuid, key)

    def model_changed(self, conn: Connection, workspace_id: int, model_id: str) -> None:
        self._record(conn, workspace_id, MODEL, model_id)

    def model_tag_deleted(self, conn: Connection, workspace_id: int, model_id: str, key: str) -> None:
        self._record(conn, workspace_id, MODEL_TAG_DELETED, model_id, key)

    def artifact_written(self, conn: Connection, workspace_id: int, path: str, *, deleted: bool = False) -> None:
        owner = artifact_owner(path)
        if owner is not None:
            kind = ARTIFACT_DELETED if deleted else ARTIFACT
            self._record(conn, workspace_id, kind, owner[1], path)

    def points_written(self, conn: Connection, batches: Sequence[tuple[int, str, PreparedPoints]]) -> None:
        """Metric points just inserted: (workspace id, run uuid, points) per request."""
        linked: dict[int, bool] = {}
        rows = []
        now = now_ms()
        for workspace_id, run_uuid, prepared in batches:
            if workspace_id not in linked:
                linked[workspace_id] = mirror_store.linked(conn, workspace_id)
            if linked[workspace_id] and prepared.points:
                rows.append((workspace_id, POINTS, run_uuid, None, pack_points(prepared), now))
        mirror_store.append(conn, rows)

    def model_points_written(
        self, conn: Connection, workspace_id: int, run_uuid: str, metrics: Sequence[dict[str, object]]
    ) -> None:
        """Points that also belong to logged models (rare): sent as MLflow metric objects."""
        if metrics and mirror_store.linked(conn, workspace_id):
            payload = json.dumps(list(metrics), allow_nan=True).encode()
            mirror_store.append(conn, [(workspace_id, POINTS_JSON, run_uuid, None, payload, now_ms())])


class ArtifactJournal:
    """Records artifact writes of linked workspaces. The bytes are stored (and visible) before the
    entry is written, and the upload is acknowledged only after it committed: a crash in between
    leaves the client without an answer, so it uploads again and the entry is written then."""

    def __init__(self, db: Database, journal: MirrorJournal) -> None:
        self._db = db
        self._journal = journal

    def written(self, workspace_id: int, path: str, *, deleted: bool = False) -> None:
        if artifact_owner(path) is None:
            return
        with self._db.read() as conn:
            if not mirror_store.linked(conn, workspace_id):
                return
        with self._db.write() as conn:
            self._journal.artifact_written(conn, workspace_id, path, deleted=deleted)
