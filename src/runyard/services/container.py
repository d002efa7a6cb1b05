"""The services of one server process, wired once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from runyard.config import Settings
from runyard.services.artifacts import ArtifactService
from runyard.services.experiments import ExperimentService
from runyard.services.logged_models import LoggedModelService
from runyard.services.metric_history import MetricHistoryService
from runyard.services.model_versions import ModelVersionService
from runyard.services.registered_models import RegisteredModelService
from runyard.services.run_search import RunSearchService
from runyard.services.runs import RunService
from runyard.services.workspaces import WorkspaceService
from runyard.store.database import Database
from runyard.store.keys import KeyRegistry


@dataclass
class Services:
    settings: Settings
    db: Database
    workspaces: WorkspaceService
    experiments: ExperimentService
    runs: RunService
    run_search: RunSearchService
    metric_history: MetricHistoryService
    artifacts: ArtifactService
    logged_models: LoggedModelService
    registered_models: RegisteredModelService
    model_versions: ModelVersionService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database(settings.database_url)
        keys = KeyRegistry(db)
        experiments = ExperimentService(db)
        artifacts = ArtifactService(settings.artifact_root)
        logged_models = LoggedModelService(db, keys, experiments, artifacts)
        runs = RunService(db, keys, experiments, logged_models)
        return cls(
            settings=settings,
            db=db,
            workspaces=WorkspaceService(db, artifacts),
            experiments=experiments,
            runs=runs,
            run_search=RunSearchService(db, keys),
            metric_history=MetricHistoryService(db, keys, runs),
            artifacts=artifacts,
            logged_models=logged_models,
            registered_models=RegisteredModelService(db),
            model_versions=ModelVersionService(db, keys),
        )

    def close(self) -> None:
        self.db.dispose()
