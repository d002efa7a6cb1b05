"""Applying one source object to one target: experiments, runs, metric points, logged models, files.

Every operation is idempotent, so an entry sent twice (a crash between sending and recording, a
retry after a timeout) changes nothing the second time:

- an object is looked up by its back-pointer tag (`runyard.source.run_id`, …) before it is
  created, and into a Runyard target it is imported with its source id (`/api/2.0/runyard/mirror`);
- state (tags, params, status, lifecycle, inputs) is sent as it is now, and only what changed
  since the last send (a digest per key in `mirror_objects.sent_state`);
- metric points are sets on both sides (an identical point is stored once);
- a file is uploaded again only if its size or modification time changed.

Permanent refusals raise `TargetError` with `transient` False; the worker parks the entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runyard.domain.entities import ACTIVE, DELETED, Experiment, Run, Workspace
from runyard.domain.mirror import (
    SOURCE_EXPERIMENT_TAG,
    SOURCE_MODEL_TAG,
    SOURCE_RUN_TAG,
    SOURCE_URL_TAG,
    UNMIRRORED_RUN_TAGS,
    collision_name,
    mapped_experiment_name,
)
from runyard.domain.workspaces import NAMING_FLAT
from runyard.mirror.target import Target, TargetError
from runyard.services.artifacts import ArtifactService, artifact_path_of
from runyard.services.mirror.journal import unpack_columns
from runyard.store import experiments as exp_store
from runyard.store import logged_models as lm_store
from runyard.store import mirror as mirror_store
from runyard.store import mirror_source
from runyard.store import runs as run_store
from runyard.store.database import Database
from runyard.store.logged_models import LoggedModel

log = logging.getLogger(__name__)

PARENT_RUN_TAG = "mlflow.parentRunId"
DEFAULT_EXPERIMENT = "Default"
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
POINTS_PAGE = 10_000

EXPERIMENT = "experiment"
RUN = "run"
MODEL = "model"
FILE = "file"


def _digest(value: object) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _metric_value(value: float, is_nan: bool) -> float:
    return float("nan") if is_nan else value


@dataclass
class Sent:
    """What one send moved, for the link's counters."""

    runs: int = 0
    points: int = 0
    bytes: int = 0

    def add(self, other: Sent) -> None:
        self.runs += other.runs
        self.points += other.points
        self.bytes += other.bytes


@dataclass
class _State:
    target_id: str
    uri: str | None = None
    digests: dict[str, str] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"uri": self.uri, "d": self.digests}, separators=(",", ":"))

    @classmethod
    def load(cls, target_id: str, text: str | None) -> _State:
        data = json.loads(text) if text else {}
        return cls(target_id, data.get("uri"), dict(data.get("d") or {}))


class LinkSync:
    """Sends a source workspace's objects to one link's target."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactService,
        link_id: int,
        workspace: Workspace,
        target: Target,
        *,
        source_url: str,
        target_naming: str = NAMING_FLAT,
        select_experiments: Callable[[], set[int]] | None = None,
    ) -> None:
        self._db = db
        self._artifacts = artifacts
        self._link = link_id
        self._workspace = workspace
        self._target = target
        self._source_url = source_url.rstrip("/")
        self._target_naming = target_naming
        self._runyard = target.kind() == "runyard"
        workspace_part = f"/w/{target.workspace}/" if target.workspace else "/"
        self._target_base = target.url.rstrip("/") + workspace_part
        # The link's experiment filter, evaluated again when an experiment it has not seen comes up.
        self._select = select_experiments
        self._selected: set[int] = select_experiments() if select_experiments else set()
        self._seen: set[int] = set(self._selected)

    # --- bookkeeping ----------------------------------------------------------------------------

    def _mapped(self, kind: str, source_id: str) -> _State | None:
        with self._db.read() as conn:
            found = mirror_store.target_of(conn, self._link, kind, source_id)
        return _State.load(*found) if found is not None else None

    def _remember(self, kind: str, source_id: str, state: _State) -> None:
        with self._db.write() as conn:
            mirror_store.remember(conn, self._link, kind, source_id, state.target_id, state.dump())

    def _base(self) -> str:
        return f"{self._source_url}/w/{self._workspace.name}"

    def run_url(self, experiment_id: int, run_uuid: str) -> str:
        return f"{self._base()}/#/experiments/{experiment_id}/runs/{run_uuid}"

    def _from_target(self, tags: Sequence[tuple[str, str]]) -> bool:
        """Whether the object is itself a mirror of one on this link's target (A → B → A would
        otherwise send it back as a new object, and again, without end)."""
        source = next((v for k, v in tags if k == SOURCE_URL_TAG), None)
        return source is not None and source.startswith(self._target_base)

    def included(self, experiment_id: int) -> bool:
        if self._select is None:
            return True
        if experiment_id not in self._seen:
            self._selected = self._select()
            self._seen = self._selected | {experiment_id}
        return experiment_id in self._selected

    # --- experiments ----------------------------------------------------------------------------

    def _experiment(self, experiment_id: int) -> Experiment | None:
        with self._db.read() as conn:
            return exp_store.get(conn, self._workspace.id, experiment_id)

    def _target_name(self, experiment: Experiment) -> str:
        # The source's Default experiment is the target's own (MLflow's id 0) where the target
        # names flat; a path workspace has no such name: Default is mapped like any experiment.
        if experiment.name == DEFAULT_EXPERIMENT and self._target_naming == NAMING_FLAT:
            return DEFAULT_EXPERIMENT
        return mapped_experiment_name(
            experiment.name, self._workspace.naming, self._target_naming, self._workspace.name
        )

    def _ours(self, found: dict[str, Any], experiment: Experiment) -> bool:
        tags = {t.get("key"): t.get("value") for t in found.get("tags") or []}
        return tags.get(SOURCE_EXPERIMENT_TAG) == str(experiment.experiment_id) and tags.get(SOURCE_URL_TAG) == (
            f"{self._base()}/#/experiments/{experiment.experiment_id}"
        )

    def _find_or_create_experiment(self, experiment: Experiment) -> str:
        mapped = self._target_name(experiment)
        back = [
            (SOURCE_EXPERIMENT_TAG, str(experiment.experiment_id)),
            (SOURCE_URL_TAG, f"{self._base()}/#/experiments/{experiment.experiment_id}"),
        ]
        found = self._target.experiment_by_name(mapped)
        if found is not None and (mapped == DEFAULT_EXPERIMENT or self._ours(found, experiment)):
            return str(found["experiment_id"])
        if found is not None:
            mapped = collision_name(mapped, self._workspace.name, str(experiment.experiment_id))
            found = self._target.experiment_by_name(mapped)
            if found is not None:
                if self._ours(found, experiment):
                    return str(found["experiment_id"])
                raise TargetError(
                    f"experiment name '{mapped}' is taken on the target by an experiment that is not this mirror's",
                    status=409,
                    error_code="RESOURCE_ALREADY_EXISTS",
                )
        return self._target.create_experiment(mapped, [*experiment.tags, *back])

    def ensure_experiment(self, experiment_id: int) -> str | None:
        """The target id of a source experiment, creating it there first if needed (None: the
        source experiment is gone)."""
        state = self._mapped(EXPERIMENT, str(experiment_id))
        if state is not None:
            return state.target_id
        return self.sync_experiment(experiment_id)

    def sync_experiment(self, experiment_id: int) -> str | None:
        experiment = self._experiment(experiment_id)
        if experiment is None or not self.included(experiment_id):
            return None
        state = self._mapped(EXPERIMENT, str(experiment_id))
        if state is None:
            state = _State(self._find_or_create_experiment(experiment))
            state.digests["name"] = _digest(self._target_name(experiment))
            for key, value in experiment.tags:
                state.digests[f"t:{key}"] = _digest(value)
            state.digests["life"] = _digest(ACTIVE)
        target_id = state.target_id
        name = self._target_name(experiment)
        if state.digests.get("name") != _digest(name) and experiment.lifecycle_stage == ACTIVE:
            if name != DEFAULT_EXPERIMENT and self._target.experiment_by_name(name) is None:
                self._target.rename_experiment(target_id, name)
            state.digests["name"] = _digest(name)
        for key, value in experiment.tags:
            if state.digests.get(f"t:{key}") != _digest(value):
                self._target.set_experiment_tag(target_id, key, value)
                state.digests[f"t:{key}"] = _digest(value)
        if state.digests.get("life") != _digest(experiment.lifecycle_stage) and experiment.name != DEFAULT_EXPERIMENT:
            if experiment.lifecycle_stage == DELETED:
                self._target.delete_experiment(target_id)
            else:
                self._target.restore_experiment(target_id)
            state.digests["life"] = _digest(experiment.lifecycle_stage)
        self._remember(EXPERIMENT, str(experiment_id), state)
        return target_id

    def delete_experiment_tag(self, experiment_id: int, key: str) -> None:
        state = self._mapped(EXPERIMENT, str(experiment_id))
        if state is None:
            return
        try:
            self._target.delete_experiment_tag(state.target_id, key)
        except TargetError as e:
            if not e.not_found:
                raise
        state.digests.pop(f"t:{key}", None)
        self._remember(EXPERIMENT, str(experiment_id), state)

    # --- runs -----------------------------------------------------------------------------------

    def _run(self, run_uuid: str) -> tuple[int, Run] | None:
        with self._db.read() as conn:
            row = run_store.get(conn, run_uuid)
            if row is None or row.workspace_id != self._workspace.id:
                return None
            return row.pk, run_store.load_runs(conn, [row])[0]

    def _create_run(self, run: Run, target_experiment: str) -> _State:
        info = run.info
        back = [(SOURCE_RUN_TAG, info.run_uuid), (SOURCE_URL_TAG, self.run_url(info.experiment_id, info.run_uuid))]
        if self._runyard:
            created = self._target.import_run(
                target_experiment,
                run_id=info.run_uuid,
                run_name=info.run_name,
                user_id=info.user_id,
                start_time=info.start_time,
                status=info.status,
                end_time=info.end_time,
                source_url=back[1][1],
                tags=back,
            )
            return _State(str(created["info"]["run_id"]), str(created["info"].get("artifact_uri") or ""))
        for found in self._target.find_runs_by_tag(target_experiment, SOURCE_RUN_TAG, info.run_uuid):
            return _State(str(found["info"]["run_id"]), str(found["info"].get("artifact_uri") or ""))
        created = self._target.create_run(
            target_experiment, run_name=info.run_name, user_id=info.user_id, start_time=info.start_time, tags=back
        )
        return _State(str(created["run_id"]), str(created.get("artifact_uri") or ""))

    def ensure_run(self, run_uuid: str) -> _State | None:
        state = self._mapped(RUN, run_uuid)
        if state is not None:
            return state
        self.sync_run(run_uuid, Sent())
        return self._mapped(RUN, run_uuid)

    def sync_run(self, run_uuid: str, sent: Sent) -> bool:
        """Send the run's current state; False if the run is gone or not mirrored by this link."""
        found = self._run(run_uuid)
        if found is None:
            return False
        _pk, run = found
        info = run.info
        if not self.included(info.experiment_id) or self._from_target(run.tags):
            return False
        target_experiment = self.ensure_experiment(info.experiment_id)
        if target_experiment is None:
            return False
        state = self._mapped(RUN, run_uuid)
        if state is None:
            state = self._create_run(run, target_experiment)
            state.digests["info"] = _digest([info.run_name, info.status, info.end_time]) if self._runyard else ""
            self._remember(RUN, run_uuid, state)
            sent.runs += 1
        target_id = state.target_id
        tags: list[tuple[str, str]] = []
        for key, value in run.tags:
            if key in UNMIRRORED_RUN_TAGS:
                continue
            if key == PARENT_RUN_TAG:
                parent = self.ensure_run(value)
                value = parent.target_id if parent is not None else value
            if state.digests.get(f"t:{key}") != _digest(value):
                tags.append((key, value))
        params = [(k, v) for k, v in run.params if state.digests.get(f"p:{k}") != _digest(v)]
        for i in range(0, max(len(tags), len(params)), MAX_BATCH_PARAMS):
            self._target.log_batch(
                target_id, params=params[i : i + MAX_BATCH_PARAMS], tags=tags[i : i + MAX_BATCH_TAGS]
            )
        state.digests.update({f"t:{k}": _digest(v) for k, v in tags})
        state.digests.update({f"p:{k}": _digest(v) for k, v in params})
        info_digest = _digest([info.run_name, info.status, info.end_time])
        if state.digests.get("info") != info_digest:
            self._target.update_run(target_id, status=info.status, end_time=info.end_time, run_name=info.run_name)
            state.digests["info"] = info_digest
        self._sync_inputs(run, state)
        if state.digests.get("life", _digest(ACTIVE)) != _digest(info.lifecycle_stage):
            if info.lifecycle_stage == DELETED:
                self._target.delete_run(target_id)
            else:
                self._target.restore_run(target_id)
            state.digests["life"] = _digest(info.lifecycle_stage)
        self._remember(RUN, run_uuid, state)
        return True

    def _sync_inputs(self, run: Run, state: _State) -> None:
        datasets = [
            {
                "dataset": d.dataset.fields(),
                "tags": [{"key": k, "value": v} for k, v in d.tags],
            }
            for d in run.dataset_inputs
        ]
        inputs = [m for m in run.model_inputs]
        outputs = [m for m in run.model_outputs]
        digest = _digest([datasets, [(m.model_id, m.step) for m in inputs], [(m.model_id, m.step) for m in outputs]])
        if state.digests.get("inputs") == digest:
            return
        if datasets or inputs:
            models = [{"model_id": self._model_target(m.model_id)} for m in inputs]
            self._target.log_inputs(state.target_id, datasets, [m for m in models if m["model_id"]])
        if outputs:
            mapped = [(self._model_target(m.model_id), m.step) for m in outputs]
            self._target.log_outputs(state.target_id, [{"model_id": i, "step": s} for i, s in mapped if i])
        state.digests["inputs"] = digest

    def delete_run_tag(self, run_uuid: str, key: str) -> None:
        state = self._mapped(RUN, run_uuid)
        if state is None:
            return
        try:
            self._target.delete_run_tag(state.target_id, key)
        except TargetError as e:
            if not e.not_found and e.error_code != "INVALID_PARAMETER_VALUE":
                raise
        state.digests.pop(f"t:{key}", None)
        self._remember(RUN, run_uuid, state)

    # --- metric points --------------------------------------------------------------------------

    def send_points(self, run_uuid: str, payloads: Sequence[bytes]) -> Sent:
        """Points recorded in the outbox for one run (several entries' worth at once)."""
        sent = Sent()
        columns = [unpack_columns(payload) for payload in payloads]
        if not any(c.key_ids for c in columns):
            return sent
        found = self._run(run_uuid)
        if found is None or not self.included(found[1].info.experiment_id):
            return sent
        state = self.ensure_run(run_uuid)
        if state is None:
            return sent
        with self._db.read() as conn:
            names = mirror_source.key_names(conn, [k for c in columns for k in c.key_ids])
        nan = float("nan")
        metrics = [
            {"key": names[key], "value": nan if is_nan else value, "timestamp": timestamp, "step": step}
            for c in columns
            for key, step, timestamp, value, is_nan in zip(*c, strict=True)
        ]
        sent.points += self._log_metrics(state.target_id, metrics)
        return sent

    def send_metric_objects(self, run_uuid: str, payload: bytes) -> Sent:
        """Points that also belong to logged models (MLflow metric objects, model ids mapped)."""
        metrics: list[dict[str, Any]] = json.loads(payload)
        found = self._run(run_uuid)
        if found is None or not self.included(found[1].info.experiment_id):
            return Sent()
        state = self.ensure_run(run_uuid)
        if state is None:
            return Sent()
        for metric in metrics:
            if metric.get("model_id"):
                metric["model_id"] = self._model_target(str(metric["model_id"])) or metric["model_id"]
        return Sent(points=self._log_metrics(state.target_id, metrics))

    def _log_metrics(self, target_run: str, metrics: list[dict[str, Any]]) -> int:
        for i in range(0, len(metrics), MAX_BATCH_METRICS):
            self._target.log_batch(target_run, metrics=metrics[i : i + MAX_BATCH_METRICS])
        return len(metrics)

    def send_all_points(self, run_uuid: str) -> Sent:
        """The run's whole metric history (the back-fill), in bounded pages."""
        found = self._run(run_uuid)
        state = self._mapped(RUN, run_uuid)
        sent = Sent()
        if found is None or state is None:
            return sent
        pk = found[0]
        after: tuple[int, int, int, float, bool] | None = None
        while True:
            with self._db.read() as conn:
                page = mirror_source.points_page(conn, pk, after, POINTS_PAGE)
                names = mirror_source.key_names(conn, [p[0] for p in page])
            if not page:
                return sent
            metrics = [
                {"key": names[k], "value": _metric_value(v, n), "timestamp": t, "step": s} for k, s, t, v, n in page
            ]
            sent.points += self._log_metrics(state.target_id, metrics)
            after = page[-1]

    # --- logged models --------------------------------------------------------------------------

    def _model(self, model_id: str) -> LoggedModel | None:
        with self._db.read() as conn:
            row = lm_store.get(conn, model_id)
            if row is None or row.workspace_id != self._workspace.id:
                return None
            return lm_store.load_models(conn, [row])[0]

    def _model_target(self, model_id: str) -> str | None:
        state = self._mapped(MODEL, model_id)
        if state is None:
            self.sync_model(model_id, Sent())
            state = self._mapped(MODEL, model_id)
        return state.target_id if state is not None else None

    def _create_model(self, model: LoggedModel, target_experiment: str) -> _State:
        info = model.info
        source_run = self.ensure_run(info.source_run_id) if info.source_run_id else None
        url = f"{self._base()}/#/experiments/{info.experiment_id}/models/{info.model_id}"
        back = [(SOURCE_MODEL_TAG, info.model_id), (SOURCE_URL_TAG, url)]
        tags = [*model.tags, *back]
        if self._runyard:
            created = self._target.import_logged_model(
                target_experiment,
                model_id=info.model_id,
                name=info.name,
                source_run_id=source_run.target_id if source_run else None,
                model_type=info.model_type or None,
                source_url=url,
                params=model.params,
                tags=tags,
            )
        else:
            existing = self._target.find_logged_models_by_tag(target_experiment, SOURCE_MODEL_TAG, info.model_id)
            created = (
                existing[0]
                if existing
                else self._target.create_logged_model(
                    target_experiment,
                    name=info.name,
                    source_run_id=source_run.target_id if source_run else None,
                    model_type=info.model_type or None,
                    params=model.params,
                    tags=tags,
                )
            )
        model_info = created.get("info", created)
        state = _State(str(model_info["model_id"]), str(model_info.get("artifact_uri") or ""))
        state.digests.update({f"t:{k}": _digest(v) for k, v in model.tags})
        state.digests.update({f"p:{k}": _digest(v) for k, v in model.params})
        return state

    def sync_model(self, model_id: str, sent: Sent) -> bool:
        model = self._model(model_id)
        if model is None or not self.included(model.info.experiment_id) or self._from_target(model.tags):
            return False
        target_experiment = self.ensure_experiment(model.info.experiment_id)
        if target_experiment is None:
            return False
        state = self._mapped(MODEL, model_id)
        if state is None:
            state = self._create_model(model, target_experiment)
            self._remember(MODEL, model_id, state)
        tags = [(k, v) for k, v in model.tags if state.digests.get(f"t:{k}") != _digest(v)]
        if tags:
            self._target.set_logged_model_tags(state.target_id, tags)
            state.digests.update({f"t:{k}": _digest(v) for k, v in tags})
        params = [(k, v) for k, v in model.params if state.digests.get(f"p:{k}") != _digest(v)]
        if params:
            self._target.log_logged_model_params(state.target_id, params)
            state.digests.update({f"p:{k}": _digest(v) for k, v in params})
        status = model.info.status
        if status in ("READY", "FAILED") and state.digests.get("status") != _digest(status):
            # The files first: a model must not look READY on the target before it can be loaded.
            sent.add(self.send_tree(MODEL, model_id))
            self._target.finalize_logged_model(state.target_id, status)
            state.digests["status"] = _digest(status)
        if model.info.lifecycle_stage == DELETED and state.digests.get("life") != _digest(DELETED):
            self._target.delete_logged_model(state.target_id)
            state.digests["life"] = _digest(DELETED)
        self._remember(MODEL, model_id, state)
        return True

    def delete_model_tag(self, model_id: str, key: str) -> None:
        state = self._mapped(MODEL, model_id)
        if state is None:
            return
        try:
            self._target.delete_logged_model_tag(state.target_id, key)
        except TargetError as e:
            if not e.not_found:
                raise
        state.digests.pop(f"t:{key}", None)
        self._remember(MODEL, model_id, state)

    # --- artifacts ------------------------------------------------------------------------------

    def _owner(self, kind: str, owner_id: str) -> tuple[str, _State] | None:
        """(source artifact path in the workspace namespace, target state) of a run or model."""
        if kind == RUN:
            found = self._run(owner_id)
            if found is None or not self.included(found[1].info.experiment_id):
                return None
            state = self.ensure_run(owner_id)
            uri = found[1].info.artifact_uri
        else:
            model = self._model(owner_id)
            if model is None or not self.included(model.info.experiment_id):
                return None
            target = self._model_target(owner_id)
            state = self._mapped(MODEL, owner_id) if target else None
            uri = model.info.artifact_uri
        source = artifact_path_of(uri)
        if state is None or source is None or not state.uri:
            return None
        return source, state

    def send_file(self, kind: str, owner_id: str, workspace_path: str) -> Sent:
        """One uploaded file (its workspace-relative path), unless it was sent as it is now."""
        owner = self._owner(kind, owner_id)
        if owner is None:
            return Sent()
        source_root, state = owner
        if not (workspace_path == source_root or workspace_path.startswith(source_root + "/")):
            return Sent()
        relative = workspace_path[len(source_root) :].strip("/")
        # A run's file is sent for every upload (it may be rewritten with the same size); a logged
        # model's files are immutable, and may have been sent already before it was finalized.
        return self._send_files(kind, owner_id, source_root, state, [relative], skip_sent=kind == MODEL)

    def send_tree(self, kind: str, owner_id: str) -> Sent:
        """Every file of a run's or model's artifacts (the back-fill, a model before it is READY)."""
        owner = self._owner(kind, owner_id)
        if owner is None:
            return Sent()
        source_root, state = owner
        return self._send_files(kind, owner_id, source_root, state, self._walk(source_root, ""), skip_sent=True)

    def _walk(self, root: str, relative: str) -> Iterable[str]:
        backend = self._artifacts.backend_of(self._workspace)
        for entry in backend.list(f"{root}/{relative}".rstrip("/")):
            child = f"{relative}/{entry.path}".strip("/")
            if entry.is_dir:
                yield from self._walk(root, child)
            else:
                yield child

    def _send_files(
        self, kind: str, owner_id: str, root: str, state: _State, files: Iterable[str], *, skip_sent: bool
    ) -> Sent:
        backend = self._artifacts.backend_of(self._workspace)
        sent = Sent()
        assert state.uri is not None
        for relative in files:
            if not relative:
                continue
            path = f"{root}/{relative}"
            listing = backend.list(path.rsplit("/", 1)[0])
            entry = next((e for e in listing if e.path == relative.rsplit("/", 1)[-1] and not e.is_dir), None)
            if entry is None:
                continue  # deleted since
            size = entry.file_size or 0
            key = f"{kind}:{owner_id}:{relative}"
            marker = f"{size}"
            source_id = hashlib.sha1(key.encode()).hexdigest()
            previous = self._mapped(FILE, source_id)
            if skip_sent and previous is not None and previous.target_id == marker:
                continue
            self._target.upload_artifact(state.uri, relative, backend.stream_sync(path), size)
            sent.bytes += size
            self._remember(FILE, source_id, _State(marker))
        return sent

    def delete_file(self, kind: str, owner_id: str, workspace_path: str) -> None:
        owner = self._owner(kind, owner_id)
        if owner is None:
            return
        source_root, state = owner
        relative = workspace_path[len(source_root) :].strip("/")
        if relative and state.uri:
            try:
                self._target.delete_artifact(state.uri, relative)
            except TargetError as e:
                if not e.not_found:
                    raise
