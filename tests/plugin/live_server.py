"""A live `--auth on` server with 5-second access tokens for the plugin tests, and a handle on its
identity store (users, grants, personal tokens made directly, as the admin CLI would)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from runyard.config import Settings
from runyard.domain.permissions import EDIT
from runyard.services.container import Services
from runyard.services.identity.audit import Actor
from tests.conftest import ServerProcess

ADMIN_PASSWORD = "admin-password-for-plugin-tests"
PASSWORD = "a-long-password-for-alice"
TOKEN_TTL = 5
ENTRY_POINTS = {
    "mlflow.tracking_store": {"runyard", "runyard+http"},
    "mlflow.model_registry_store": {"runyard", "runyard+http"},
    "mlflow.artifact_repository": {"mlflow-artifacts"},
    "mlflow.request_auth_provider": {"runyard"},
}


def missing_entry_points() -> list[str]:
    """The plugin's entry points absent from the installed metadata (stale: `pip install -e .`)."""
    missing = []
    for group, names in ENTRY_POINTS.items():
        found = {ep.name for ep in importlib.metadata.entry_points(group=group) if ep.value.startswith("runyard.")}
        missing += [f"{group}:{name}" for name in sorted(names - found)]
    return missing


@dataclass
class Live:
    server: ServerProcess
    services: Services

    @property
    def url(self) -> str:
        return self.server.url

    def uri(self, workspace: str = "default") -> str:
        return f"runyard+http://127.0.0.1:{self.server.port}/{workspace}"

    def user(self, name: str, *workspaces: str) -> str:
        self.services.identity.accounts.create_user(Actor.cli(), name, PASSWORD)
        for ws in workspaces:
            self.services.identity.grants.put(Actor.cli(), name, ws, "workspace", "*", EDIT)
        return name

    def token(self, user: str) -> str:
        return self.services.identity.accounts.create_token(Actor.cli(), user, "plugin-test", None).token

    def service_principal(self, name: str, workspace: str) -> tuple[str, str]:
        """Made with the real CLI against the server's data folder, then granted EDIT on `workspace`."""
        made = subprocess.run(
            [sys.executable, "-m", "runyard", "sp", "create", name, "--json", "--data-dir", str(self.server.data_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        issued = json.loads(made.stdout)
        self.services.identity.grants.put(Actor.cli(), name, workspace, "workspace", "*", EDIT)
        return str(issued["client_id"]), str(issued["client_secret"])

    def admin(self, workspace: str | None = None) -> httpx.Client:
        base = self.url + (f"/w/{workspace}" if workspace else "")
        return httpx.Client(base_url=base, auth=("admin", ADMIN_PASSWORD), timeout=30)


@contextmanager
def live_server(data_dir: Path) -> Iterator[Live]:
    server = ServerProcess(
        data_dir=data_dir,
        extra_env={"RUNYARD_ADMIN_PASSWORD": ADMIN_PASSWORD},
        extra_args=["--auth", "on", "--auth-failure-limit", "0", "--access-token-ttl", str(TOKEN_TTL)],
    ).start()
    services = Services.build(Settings(data_dir=data_dir))
    try:
        services.workspaces.create("team", operator=True)
        yield Live(server, services)
    finally:
        services.close()
        code = server.stop()
        assert code == 0, server.log()[-4000:]
