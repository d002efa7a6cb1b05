"""The `mlflow.request_auth_provider` entry point `runyard`: with `MLFLOW_TRACKING_AUTH=runyard`, a
plain `http(s)://` tracking URI gets the same credential chain as a `runyard://` one."""

from __future__ import annotations

from mlflow.tracking.request_auth.abstract_request_auth_provider import RequestAuthProvider

from runyard.plugin import settings
from runyard.plugin.auth import RunyardAuth

_AUTH = RunyardAuth()


class RunyardAuthProvider(RequestAuthProvider):
    def get_name(self) -> str:
        return settings.AUTH_PROVIDER_NAME

    def get_auth(self) -> RunyardAuth:
        return _AUTH
