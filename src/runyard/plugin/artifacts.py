"""The `mlflow.artifact_repository` entry point `mlflow-artifacts`: mlflow registers its own
repository for the scheme first and entry points after, so this factory is the one called. Under a
`runyard://` tracking URI it answers with `RunyardArtifactRepository` (the same server, workspace
and credentials); under any other it hands over to mlflow's own `MlflowArtifactsRepository`.

Only the standard library at module level: mlflow loads this module while it is itself imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.store.artifact.artifact_repo import ArtifactRepository


def artifact_repository(
    artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> ArtifactRepository:
    from mlflow.tracking import get_tracking_uri

    from runyard.plugin.uris import is_runyard_uri

    effective = tracking_uri or get_tracking_uri()
    if is_runyard_uri(effective):
        from runyard.plugin.artifact_repo import RunyardArtifactRepository

        return RunyardArtifactRepository(artifact_uri, effective, registry_uri)
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    return MlflowArtifactsRepository(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
