"""The `mlflow.tracking_store` and `mlflow.model_registry_store` entry points `runyard` and
`runyard+http`: mlflow's own REST stores, pointed at `<base>/w/<workspace>` and authenticated by
the `runyard` request auth (the credential chain), built afresh for every request.

Only the standard library at module level: mlflow loads this module while it is itself imported.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
    from mlflow.store.tracking.rest_store import RestStore
    from mlflow.utils.rest_utils import MlflowHostCreds


def host_creds(host: str) -> MlflowHostCreds:
    """What mlflow's `http_request` needs for `host`: the `runyard` auth and mlflow's TLS settings."""
    from mlflow.environment_variables import (
        MLFLOW_TRACKING_CLIENT_CERT_PATH,
        MLFLOW_TRACKING_INSECURE_TLS,
        MLFLOW_TRACKING_SERVER_CERT_PATH,
    )
    from mlflow.utils.rest_utils import MlflowHostCreds

    from runyard.plugin import settings

    return MlflowHostCreds(
        host=host,
        auth=settings.AUTH_PROVIDER_NAME,
        ignore_tls_verification=MLFLOW_TRACKING_INSECURE_TLS.get(),
        client_cert_path=MLFLOW_TRACKING_CLIENT_CERT_PATH.get(),
        server_cert_path=MLFLOW_TRACKING_SERVER_CERT_PATH.get(),
    )


def _api_host(store_uri: str) -> str:
    from runyard.plugin.auth import register
    from runyard.plugin.uris import parse_runyard_uri

    target = parse_runyard_uri(store_uri)
    register(target)
    return target.api_host


def tracking_store(store_uri: str, artifact_uri: str | None = None, **_: object) -> RestStore:
    from mlflow.store.tracking.rest_store import RestStore

    return RestStore(functools.partial(host_creds, _api_host(store_uri)))


def registry_store(store_uri: str, tracking_uri: str | None = None, **_: object) -> RegistryRestStore:
    from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore

    return RegistryRestStore(functools.partial(host_creds, _api_host(store_uri)))
