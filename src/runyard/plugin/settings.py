"""The environment the plugin reads, and the TLS settings it shares with mlflow's own requests.

Credentials: `RUNYARD_CLIENT_ID` + `RUNYARD_CLIENT_SECRET` (a service principal), `RUNYARD_TOKEN`
or `MLFLOW_TRACKING_TOKEN` (a personal access token or any bearer token). `RUNYARD_INTERACTIVE`
(`1`/`0`) forces or forbids the browser and device sign-in when mlflow needs credentials (unset: only
with a terminal or a notebook). `RUNYARD_CONFIG_DIR` moves the cached logins (default: the user's
config folder from `platformdirs`). TLS follows mlflow's `MLFLOW_TRACKING_INSECURE_TLS`,
`MLFLOW_TRACKING_SERVER_CERT_PATH` and `MLFLOW_TRACKING_CLIENT_CERT_PATH`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

CLIENT_ID_VAR = "RUNYARD_CLIENT_ID"
CLIENT_SECRET_VAR = "RUNYARD_CLIENT_SECRET"
TOKEN_VARS = ("RUNYARD_TOKEN", "MLFLOW_TRACKING_TOKEN")
INTERACTIVE_VAR = "RUNYARD_INTERACTIVE"
CONFIG_DIR_VAR = "RUNYARD_CONFIG_DIR"

# The public client of `runyard login` (no secret; PKCE) and the scopes it asks for.
CLI_CLIENT_ID = "runyard-cli"
SCOPES = "openid profile offline_access"
# The name of the `mlflow.request_auth_provider` (`MLFLOW_TRACKING_AUTH=runyard`).
AUTH_PROVIDER_NAME = "runyard"
# Seconds for one OAuth request (the token endpoint answers fast; a hung server must not hang a job).
OAUTH_TIMEOUT = 30.0
# Seconds an interactive sign-in may take before giving up.
LOGIN_TIMEOUT = 600.0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def flag(env: Mapping[str, str], name: str) -> bool | None:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


def tls_verify(env: Mapping[str, str] = os.environ) -> bool | str:
    """`requests`' `verify`: a CA bundle path, False for MLFLOW_TRACKING_INSECURE_TLS, else True."""
    if path := env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        return path
    return not flag(env, "MLFLOW_TRACKING_INSECURE_TLS")


def client_cert(env: Mapping[str, str] = os.environ) -> str | None:
    return env.get("MLFLOW_TRACKING_CLIENT_CERT_PATH") or None


def interactive(env: Mapping[str, str] = os.environ) -> tuple[bool, str]:
    """Whether a person can answer a sign-in prompt here, and why (for the skip reason)."""
    forced = flag(env, INTERACTIVE_VAR)
    if forced is not None:
        return forced, f"{INTERACTIVE_VAR}={env.get(INTERACTIVE_VAR)}"
    if "ipykernel" in sys.modules:
        return True, "a notebook is attached"
    try:
        attached = sys.stdin is not None and sys.stdin.isatty() and sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError):
        attached = False
    return (True, "a terminal is attached") if attached else (False, "no terminal or notebook is attached")
