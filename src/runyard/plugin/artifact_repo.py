"""`mlflow-artifacts:` URIs under a `runyard://` tracking URI: mlflow's HTTP artifact repository at
`<base>/w/<workspace>/api/2.0/mlflow-artifacts/artifacts/...` with the `runyard` request auth.

mlflow's `MlflowArtifactsRepository` accepts only http(s) tracking URIs and takes its credentials
from the environment, so this subclass of `HttpArtifactRepository` supplies both; listing (which
the parent builds credentials for by itself) is done here, and uploads go as one request per file.
"""

from __future__ import annotations

import os
import posixpath

from mlflow.entities import FileInfo
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
from mlflow.utils.request_utils import augmented_raise_for_status
from mlflow.utils.rest_utils import MlflowHostCreds, http_request
from mlflow.utils.uri import validate_path_is_safe

from runyard.plugin.auth import register
from runyard.plugin.stores import host_creds
from runyard.plugin.uris import parse_runyard_uri

ARTIFACTS_ENDPOINT = "/mlflow-artifacts/artifacts"


class RunyardArtifactRepository(HttpArtifactRepository):
    def __init__(self, artifact_uri: str, tracking_uri: str, registry_uri: str | None = None):
        target = parse_runyard_uri(tracking_uri)
        register(target)
        resolved = MlflowArtifactsRepository.resolve_uri(artifact_uri, target.api_host)
        super().__init__(resolved, tracking_uri=tracking_uri, registry_uri=registry_uri)

    @property
    def _host_creds(self) -> MlflowHostCreds:
        return host_creds(self.artifact_uri)

    def _is_multipart_upload_enabled(self) -> bool:
        return False

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        url, tail = self.artifact_uri.split(ARTIFACTS_ENDPOINT, maxsplit=1)
        root = tail.lstrip("/")
        params = {"path": posixpath.join(root, path) if path else root}
        response = http_request(host_creds(url), ARTIFACTS_ENDPOINT, "GET", params=params)
        augmented_raise_for_status(response)
        infos = []
        for entry in response.json().get("files", []):
            name = validate_path_is_safe(entry["path"])
            size = int(entry["file_size"]) if "file_size" in entry else None
            infos.append(FileInfo(posixpath.join(path, name) if path else name, entry["is_dir"], size))
        # A path naming one file lists as empty (mlflow's contract for list_artifacts).
        if (
            len(infos) == 1
            and not infos[0].is_dir
            and path is not None
            and infos[0].path == posixpath.join(path, os.path.basename(path))
        ):
            return []
        return sorted(infos, key=lambda f: f.path)
