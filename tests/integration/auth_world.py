"""A live `--auth on` server and a handle on its identity store, for the authorization tests.

The tests create users, tokens and grants through the identity services over the server's own
database (the same code the admin API and the CLI call), then speak to the server over HTTP or
through the real mlflow client. A check that would refuse re-reads the permission rows, so a grant
made here works at the server's next request.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from runyard.config import Settings
from runyard.domain.permissions import parse_permission
from runyard.services.identity.audit import Actor
from runyard.services.identity.service import Identity
from runyard.store.database import Database
from tests.conftest import ServerProcess

ADMIN_PASSWORD = "admin-password-for-tests"
PASSWORD = "a-long-test-password"
ACTOR = Actor(name="tests", source="tests")


@dataclass
class AuthWorld:
    server: ServerProcess
    identity: Identity
    db: Database
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def user(self, name: str, *, admin: bool = False) -> str:
        self.identity.accounts.create_user(ACTOR, name, PASSWORD, is_admin=admin)
        return name

    def grant(self, user: str, workspace: str, resource_type: str, pattern: str, level: str) -> None:
        self.identity.grants.put(ACTOR, user, workspace, resource_type, pattern, parse_permission(level))

    def token(self, user: str, expires_at: int | None = None) -> str:
        issued = self.identity.accounts.create_token(ACTOR, user, f"t-{secrets.token_hex(3)}", expires_at)
        return issued.token

    def http(self, user: str | None, workspace: str | None = None, *, password: str = PASSWORD) -> httpx.Client:
        """An HTTP client signed in as `user` (the admin with its own password; None: anonymous)."""
        headers = {"X-MLFLOW-WORKSPACE": workspace} if workspace else {}
        auth: httpx.Auth | None = None
        if user == "admin":
            # The admin's token: a password check costs tens of milliseconds per request.
            if "admin" not in self.tokens:
                self.tokens["admin"] = self.token("admin")
            headers["Authorization"] = f"Bearer {self.tokens['admin']}"
        elif user is not None:
            auth = httpx.BasicAuth(user, password)
        return httpx.Client(base_url=self.url, auth=auth, headers=headers, timeout=30)

    def bearer(self, token: str, workspace: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"}
        if workspace:
            headers["X-MLFLOW-WORKSPACE"] = workspace
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def create_workspace(self, name: str, naming: str = "flat") -> None:
        with self.http("admin") as http:
            response = http.post("/api/3.0/mlflow/workspaces", json={"name": name, "naming": naming})
            assert response.status_code == 201, response.text


@contextmanager
def auth_world(data_dir: Path) -> Iterator[AuthWorld]:
    server = ServerProcess(
        data_dir=data_dir,
        extra_env={"RUNYARD_ADMIN_PASSWORD": ADMIN_PASSWORD},
        extra_args=["--auth", "on", "--auth-failure-limit", "0", "--metrics"],
    ).start()
    settings = Settings(data_dir=data_dir, auth="on")
    db = Database(settings.database_url)
    try:
        yield AuthWorld(server, Identity(db, settings), db)
    finally:
        db.dispose()
        code = server.stop()
        assert code == 0, server.log()[-4000:]
