"""The services of one server process, wired once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runyard.config import Settings
from runyard.domain.mirror import TargetCredentials
from runyard.services.artifact_access import ArtifactAccessService
from runyard.services.artifact_owners import ArtifactOwners
from runyard.services.artifacts import ArtifactService, prepare_layout
from runyard.services.capabilities import Capabilities
from runyard.services.experiments import ExperimentService
from runyard.services.identity.service import Identity
from runyard.services.logged_models import LoggedModelService
from runyard.services.metric_charts import MetricChartService
from runyard.services.metric_history import MetricHistoryService
from runyard.services.mirror.journal import ArtifactJournal, MirrorJournal
from runyard.services.mirror.links import LinkService
from runyard.services.mirror.secrets import SecretBox
from runyard.services.mirror_import import MirrorImportService
from runyard.services.model_versions import ModelVersionService
from runyard.services.registered_models import RegisteredModelService
from runyard.services.run_search import RunSearchService
from runyard.services.runs import RunService
from runyard.services.workspaces import WorkspaceService
from runyard.store.database import Database, SqliteMemory
from runyard.store.keys import KeyRegistry
from runyard.store.point_writer import PointWriter

if TYPE_CHECKING:
    from runyard.mirror.replicator import Replicator

TRACKING_AUTH_VARIABLE = "MLFLOW_SERVER_INFO_TRACKING_AUTH"


def _probe(url: str, workspace: str | None, credentials: TargetCredentials) -> None:
    from runyard.mirror.probe import probe_target

    probe_target(url, workspace, credentials)


@dataclass
class Services:
    settings: Settings
    db: Database
    workspaces: WorkspaceService
    experiments: ExperimentService
    runs: RunService
    run_search: RunSearchService
    metric_history: MetricHistoryService
    metric_charts: MetricChartService
    artifacts: ArtifactService
    artifact_owners: ArtifactOwners
    capabilities: Capabilities
    logged_models: LoggedModelService
    registered_models: RegisteredModelService
    model_versions: ModelVersionService
    artifact_access: ArtifactAccessService
    point_writer: PointWriter
    artifact_journal: ArtifactJournal
    mirror_links: LinkService
    identity: Identity
    mirror_import: MirrorImportService
    replicator: Replicator | None = None

    @property
    def inline_short_calls(self) -> bool:
        """Short service calls may run on the event loop when it is otherwise idle (SQLite only)."""
        return self.db.is_sqlite

    @classmethod
    def build(cls, settings: Settings) -> Services:
        memory = SqliteMemory(cache_mib=settings.sqlite_cache_mib, mmap_mib=settings.sqlite_mmap_mib)
        db = Database(settings.database_url, background_checkpoints=True, sqlite_memory=memory)
        keys = KeyRegistry(db)
        identity = Identity(db, settings)
        journal = MirrorJournal()
        experiments = ExperimentService(db, identity.permissions.names, journal)
        prepare_layout(settings.artifact_root, db)
        artifacts = ArtifactService(
            settings.artifact_root, settings.allowed_artifact_roots, settings.stale_upload_seconds
        )
        logged_models = LoggedModelService(db, keys, experiments, artifacts, journal)
        # Metrics-only writes are grouped by one thread (see `point_writer`): on SQLite, which has one
        # writer, and on PostgreSQL, where each transaction's commit waits for a WAL flush.
        point_writer = PointWriter(db, recorder=journal.points_written)
        runs = RunService(db, keys, experiments, logged_models, point_writer, journal)
        model_versions = ModelVersionService(db, keys)
        metric_history = MetricHistoryService(db, keys, runs)
        return cls(
            settings=settings,
            db=db,
            workspaces=WorkspaceService(db, artifacts),
            experiments=experiments,
            runs=runs,
            run_search=RunSearchService(db, keys),
            metric_history=metric_history,
            metric_charts=MetricChartService(db, keys, metric_history),
            artifacts=artifacts,
            artifact_owners=ArtifactOwners(db),
            # The request-auth provider clients should load, as `mlflow server` advertises it.
            capabilities=Capabilities.of(artifacts, tracking_auth=os.environ.get(TRACKING_AUTH_VARIABLE, "")),
            logged_models=logged_models,
            registered_models=RegisteredModelService(db),
            model_versions=model_versions,
            artifact_access=ArtifactAccessService(artifacts, runs, logged_models, model_versions),
            point_writer=point_writer,
            artifact_journal=ArtifactJournal(db, journal),
            mirror_links=LinkService(db, SecretBox(settings.secret_key, settings.data_dir), probe=_probe),
            identity=identity,
            mirror_import=MirrorImportService(db, keys, experiments, journal),
        )

    def start_replicator(self) -> None:
        """Compete for the replicator's lease from this process (servers with `--mirror`)."""
        from runyard.mirror.replicator import Replicator

        if self.replicator is None:
            self.replicator = Replicator.of(self).start()

    def close(self) -> None:
        if self.replicator is not None:
            self.replicator.stop()
            self.replicator = None
        self.point_writer.stop()
        self.db.dispose()
