"""What this server can do, as `GET /api/3.0/mlflow/server-info` advertises it to clients.

One place for every capability flag: the client (3.18 reads `multipart_uploads_enabled`,
`multipart_downloads_enabled`, `artifacts_presigned_only`, ...) decides how it transfers artifacts
from these, so each must be true of this server. Later features set theirs here at start-up
(`tracking_auth` by the identity layer, presigned transfers by an object-store backend).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from runyard.services.artifacts import ArtifactService


@dataclass(frozen=True)
class Capabilities:
    """The server-info flags; the defaults describe a server proxying a local folder, without auth."""

    # The server proxies artifact storage (`mlflow-artifacts:` URIs): always, in Runyard.
    artifact_serving: bool = True
    # Advertised multipart uploads: the client then splits big files into parts (see `ArtifactService`).
    multipart_uploads: bool = False
    # Multipart (ranged) downloads and model downloads go through presigned storage URLs: none here.
    multipart_downloads: bool = False
    presigned_model_downloads: bool = False
    presigned_upload_run_id: bool = False
    presigned_upload_model_id: bool = False
    # The proxied byte-stream endpoints are refused in favour of presigned URLs (never, here).
    artifacts_presigned_only: bool = False
    # The request-auth provider clients should use ("" while the server has no authentication), as
    # `mlflow server` advertises `MLFLOW_SERVER_INFO_TRACKING_AUTH`.
    tracking_auth: str = ""

    @classmethod
    def of(cls, artifacts: ArtifactService, *, tracking_auth: str = "") -> Capabilities:
        return replace(cls(), multipart_uploads=artifacts.multipart_enabled, tracking_auth=tracking_auth)
