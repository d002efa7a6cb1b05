"""MLflow's auth REST API, side by side: the unchanged `AuthServiceClient` of mlflow 3.17.2
(`mlflow.server.get_app_client("basic-auth", ...)`) drives the same sequence of calls against a
reference `mlflow server --app-name basic-auth` and a Runyard `--auth on` server, and every answer
must agree: the returned objects (ids and the per-user role's name normalised), and for failures
the HTTP status and, where both servers answer in JSON, the error code. (The reference answers 401
and 403 in plain text; Runyard's JSON bodies there are intended, so only the status is compared.)

Known, deliberate difference not driven here: the reference lets an admin create a role in a
workspace that does not exist; Runyard answers 404 (RESOURCE_DOES_NOT_EXIST).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException, RestException
from mlflow.server import get_app_client
from mlflow.server.auth.client import AuthServiceClient
from mlflow.server.auth.entities import Role
from mlflow.tracking import MlflowClient

from tests.conftest import ServerProcess
from tests.mlflow_server import MlflowServer

# Two servers, one of them the reference (tens of seconds to start, a password hash per call).
pytestmark = pytest.mark.slow

ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-123"
PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-12"}
IDS = frozenset({"id", "role_id", "user_id"})


class ReferenceServer(MlflowServer):
    """`mlflow server --app-name basic-auth` in its own folder (SQLite stores), on a free port."""

    def start(self) -> ReferenceServer:
        ini = self.root / "basic_auth.ini"
        ini.write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = sqlite:///{self.root / 'auth.db'}\n"
            f"admin_username = {ADMIN}\n"
            f"admin_password = {ADMIN_PASSWORD}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            "grant_default_workspace_access = false\n"
            "auth_cache_ttl_seconds = 60\n"
        )
        self.extra_args = ["--app-name", "basic-auth"]
        self.artifacts_flag = "--default-artifact-root"
        self.extra_env = {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-only-key"}
        if "MLFLOW_HTTP_REQUEST_MAX_RETRIES" in os.environ:
            self.extra_env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
        super().start()
        return self


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    reference = ReferenceServer(tmp_path_factory.mktemp("reference-basic-auth")).start()
    runyard = ServerProcess(
        data_dir=tmp_path_factory.mktemp("runyard-auth"),
        extra_env={"RUNYARD_ADMIN_PASSWORD": ADMIN_PASSWORD},
        extra_args=["--auth", "on", "--default-permission", "READ"],
    )
    try:
        runyard.start()
        reference.wait()
        yield reference.url, runyard.url
    finally:
        reference.stop()
        runyard.stop()


Outcome = tuple[str, object]


def normalise(value: object) -> object:
    if isinstance(value, dict):
        return {k: ("<id>" if k in IDS else normalise(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"^__user_\d+__$", "__user__", value)
    return value


def as_json(result: object) -> object:
    if isinstance(result, list):
        return [as_json(r) for r in result]
    to_json = getattr(result, "to_json", None)
    return to_json() if callable(to_json) else result


def failure(e: MlflowException) -> Outcome:
    """A failed call: its HTTP status, and its error code when the body was MLflow's JSON error."""
    if isinstance(e, RestException):
        status: int = e.get_http_status_code()  # type: ignore[no-untyped-call]
        return "error", (status, e.error_code)
    match = re.search(r"error code (\d{3})", e.message)
    assert match, e.message
    return "error", (int(match.group(1)), None)


class Driver:
    """One server's side of the sequence: calls as a given user, and the ids that server handed out."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ids: dict[str, object] = {}
        client = get_app_client("basic-auth", tracking_uri=url)
        assert isinstance(client, AuthServiceClient)
        self.client = client

    def call(self, user: str, fn: Callable[[AuthServiceClient, dict[str, object]], object]) -> Outcome:
        saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
        os.environ["MLFLOW_TRACKING_USERNAME"] = user
        os.environ["MLFLOW_TRACKING_PASSWORD"] = ADMIN_PASSWORD if user == ADMIN else PASSWORDS[user]
        try:
            return "ok", normalise(as_json(fn(self.client, self.ids)))
        except MlflowException as e:
            return failure(e)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def same(a: Outcome, b: Outcome) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "ok":
        return a[1] == b[1]
    first, second = a[1], b[1]
    assert isinstance(first, tuple) and isinstance(second, tuple)
    status_a, code_a = first
    status_b, code_b = second
    return bool(status_a == status_b and (code_a is None or code_b is None or code_a == code_b))


Step = tuple[str, str, Callable[[AuthServiceClient, dict[str, object]], object]]


def remember(key: str, value: object, ids: dict[str, object]) -> object:
    ids[key] = getattr(value, "id", value)
    return value


def named_roles(roles: list[Role]) -> list[Role]:
    return [r for r in roles if not r.name.startswith("__user_")]


def rid(ids: dict[str, object], key: str) -> int:
    value = ids[key]
    assert isinstance(value, int)
    return value


STEPS: list[Step] = [
    ("create alice", ADMIN, lambda c, ids: c.create_user("alice", PASSWORDS["alice"])),
    ("create bob", ADMIN, lambda c, ids: c.create_user("bob", PASSWORDS["bob"])),
    ("duplicate user", ADMIN, lambda c, ids: c.create_user("alice", PASSWORDS["alice"])),
    ("short password", ADMIN, lambda c, ids: c.create_user("carol", "short")),
    ("get alice", ADMIN, lambda c, ids: c.get_user("alice")),
    ("get missing user", ADMIN, lambda c, ids: c.get_user("nobody")),
    ("alice reads herself", "alice", lambda c, ids: c.get_user("alice")),
    ("alice reads admin", "alice", lambda c, ids: c.get_user("admin")),
    ("alice creates a user", "alice", lambda c, ids: c.create_user("eve", "eve-password-123")),
    ("alice makes herself admin", "alice", lambda c, ids: c.update_user_admin("alice", True)),
    ("alice deletes bob", "alice", lambda c, ids: c.delete_user("bob")),
    ("admin updates bob's password", ADMIN, lambda c, ids: c.update_user_password("bob", PASSWORDS["bob"] + "x")),
    ("... and back", ADMIN, lambda c, ids: c.update_user_password("bob", PASSWORDS["bob"])),
    ("missing user's password", ADMIN, lambda c, ids: c.update_user_password("nobody", "another-password-1")),
    ("own password without current", "bob", lambda c, ids: c.update_user_password("bob", "bob-password-13")),
    (
        "own password, wrong current",
        "bob",
        lambda c, ids: c.update_user_password("bob", "bob-password-13", current_password="wrong-password"),
    ),
    ("bob changes alice's password", "bob", lambda c, ids: c.update_user_password("alice", "alice-password-9")),
    ("update admin", ADMIN, lambda c, ids: c.update_user_admin("bob", True)),
    ("update admin back", ADMIN, lambda c, ids: c.update_user_admin("bob", False)),
    ("update admin, missing user", ADMIN, lambda c, ids: c.update_user_admin("nobody", True)),
    (
        "create role",
        ADMIN,
        lambda c, ids: remember("role", c.create_role("default", "readers", description="read all"), ids),
    ),
    ("duplicate role", ADMIN, lambda c, ids: c.create_role("default", "readers")),
    ("alice creates a role", "alice", lambda c, ids: c.create_role("default", "writers")),
    ("get role", ADMIN, lambda c, ids: c.get_role(rid(ids, "role"))),
    ("get missing role", ADMIN, lambda c, ids: c.get_role(987654)),
    # Without the per-user roles (`__user_<id>__`): the reference keeps the admin's creator grant on
    # the experiment in one; a Runyard admin needs no grant.
    ("list roles", ADMIN, lambda c, ids: named_roles(c.list_roles("default"))),
    ("list all roles", ADMIN, lambda c, ids: named_roles(c.list_all_roles())),
    ("alice lists all roles", "alice", lambda c, ids: c.list_all_roles()),
    ("update role", ADMIN, lambda c, ids: c.update_role(rid(ids, "role"), description="reads everything")),
    (
        "add role permission",
        ADMIN,
        lambda c, ids: remember("rp", c.add_role_permission(rid(ids, "role"), "experiment", "*", "READ"), ids),
    ),
    (
        "duplicate role permission",
        ADMIN,
        lambda c, ids: c.add_role_permission(rid(ids, "role"), "experiment", "*", "EDIT"),
    ),
    (
        "bad permission name",
        ADMIN,
        lambda c, ids: c.add_role_permission(rid(ids, "role"), "registered_model", "m", "SUPERUSER"),
    ),
    (
        "bad resource type",
        ADMIN,
        lambda c, ids: c.add_role_permission(rid(ids, "role"), "spaceship", "*", "READ"),
    ),
    (
        "run grants are wildcard-only",
        ADMIN,
        lambda c, ids: c.add_role_permission(rid(ids, "role"), "run", "abc", "READ"),
    ),
    (
        "workspace grants take USE or MANAGE",
        ADMIN,
        lambda c, ids: c.add_role_permission(rid(ids, "role"), "workspace", "*", "READ"),
    ),
    (
        "second role permission",
        ADMIN,
        lambda c, ids: remember(
            "rp2", c.add_role_permission(rid(ids, "role"), "registered_model", "model-a", "EDIT"), ids
        ),
    ),
    ("list role permissions", ADMIN, lambda c, ids: c.list_role_permissions(rid(ids, "role"))),
    ("update role permission", ADMIN, lambda c, ids: c.update_role_permission(rid(ids, "rp"), "EDIT")),
    ("update missing role permission", ADMIN, lambda c, ids: c.update_role_permission(987654, "EDIT")),
    ("remove role permission", ADMIN, lambda c, ids: c.remove_role_permission(rid(ids, "rp2"))),
    ("remove missing role permission", ADMIN, lambda c, ids: c.remove_role_permission(987654)),
    ("assign role", ADMIN, lambda c, ids: c.assign_role("alice", rid(ids, "role"))),
    ("assign role twice", ADMIN, lambda c, ids: c.assign_role("alice", rid(ids, "role"))),
    ("assign role to missing user", ADMIN, lambda c, ids: c.assign_role("nobody", rid(ids, "role"))),
    ("bob assigns a role", "bob", lambda c, ids: c.assign_role("bob", rid(ids, "role"))),
    ("list user roles", ADMIN, lambda c, ids: c.list_user_roles("alice")),
    ("alice lists her roles", "alice", lambda c, ids: c.list_user_roles("alice")),
    ("bob lists alice's roles", "bob", lambda c, ids: c.list_user_roles("alice")),
    ("list role users", ADMIN, lambda c, ids: c.list_role_users(rid(ids, "role"))),
    ("alice reads the role she holds", "alice", lambda c, ids: c.get_role(rid(ids, "role"))),
    ("bob reads a role he lacks", "bob", lambda c, ids: c.get_role(rid(ids, "role"))),
    (
        "grant alice MANAGE on the experiment",
        ADMIN,
        lambda c, ids: c.grant_user_permission("alice", "experiment", str(ids["experiment"]), "MANAGE"),
    ),
    (
        "grant again",
        ADMIN,
        lambda c, ids: c.grant_user_permission("alice", "experiment", str(ids["experiment"]), "EDIT"),
    ),
    (
        "grant a bad permission",
        ADMIN,
        lambda c, ids: c.grant_user_permission("alice", "experiment", str(ids["experiment"]), "BOGUS"),
    ),
    (
        "grant to a missing user",
        ADMIN,
        lambda c, ids: c.grant_user_permission("nobody", "experiment", str(ids["experiment"]), "READ"),
    ),
    (
        "grant on a workspace",
        ADMIN,
        lambda c, ids: c.grant_user_permission("alice", "workspace", "default", "MANAGE"),
    ),
    (
        "grant on a registered model",
        ADMIN,
        lambda c, ids: c.grant_user_permission("alice", "registered_model", "model-a", "READ"),
    ),
    (
        "alice (MANAGE) grants bob",
        "alice",
        lambda c, ids: c.grant_user_permission("bob", "experiment", str(ids["experiment"]), "READ"),
    ),
    (
        "bob (READ) grants himself",
        "bob",
        lambda c, ids: c.grant_user_permission("bob", "experiment", str(ids["experiment"]), "MANAGE"),
    ),
    (
        "get permission",
        ADMIN,
        lambda c, ids: c.get_user_permission("alice", "experiment", str(ids["experiment"])),
    ),
    (
        "get permission on an unknown experiment",
        ADMIN,
        lambda c, ids: c.get_user_permission("alice", "experiment", "987654"),
    ),
    (
        "get an admin's permission",
        ADMIN,
        lambda c, ids: c.get_user_permission("admin", "experiment", str(ids["experiment"])),
    ),
    (
        "bob reads his own permission",
        "bob",
        lambda c, ids: c.get_user_permission("bob", "experiment", str(ids["experiment"])),
    ),
    (
        "bob reads alice's permission",
        "bob",
        lambda c, ids: c.get_user_permission("alice", "experiment", str(ids["experiment"])),
    ),
    (
        "revoke",
        ADMIN,
        lambda c, ids: c.revoke_user_permission("alice", "experiment", str(ids["experiment"])),
    ),
    (
        "revoke again",
        ADMIN,
        lambda c, ids: c.revoke_user_permission("alice", "experiment", str(ids["experiment"])),
    ),
    (
        "permission after revoke (the role's EDIT on every experiment)",
        ADMIN,
        lambda c, ids: c.get_user_permission("alice", "experiment", str(ids["experiment"])),
    ),
    ("unassign role", ADMIN, lambda c, ids: c.unassign_role("alice", rid(ids, "role"))),
    ("unassign again", ADMIN, lambda c, ids: c.unassign_role("alice", rid(ids, "role"))),
    ("delete role", ADMIN, lambda c, ids: c.delete_role(rid(ids, "role"))),
    ("delete role again", ADMIN, lambda c, ids: c.delete_role(rid(ids, "role"))),
    ("admin deletes himself", ADMIN, lambda c, ids: c.delete_user("admin")),
    ("delete bob", ADMIN, lambda c, ids: c.delete_user("bob")),
    ("delete bob again", ADMIN, lambda c, ids: c.delete_user("bob")),
]


def _create_experiment(url: str) -> str:
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update({"MLFLOW_TRACKING_USERNAME": ADMIN, "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD})
    try:
        return MlflowClient(tracking_uri=url).create_experiment("shared-experiment")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_auth_service_client_answers_as_the_reference(servers: tuple[str, str]) -> None:
    reference, runyard = Driver(servers[0]), Driver(servers[1])
    for driver in (reference, runyard):
        driver.ids["experiment"] = _create_experiment(driver.url)
    mismatches = []
    for label, user, fn in STEPS:
        expected, got = reference.call(user, fn), runyard.call(user, fn)
        if not same(expected, got):
            mismatches.append(f"{label} (as {user}):\n  reference: {expected}\n  runyard:   {got}")
    assert not mismatches, "\n".join(mismatches)


def test_user_listing_and_own_permissions_match(servers: tuple[str, str]) -> None:
    """`users/list`, `users/permissions/list` and `users/current/permissions` (the web UI's calls,
    not in the client), through plain HTTP, after the sequence above (ids normalised)."""
    import httpx

    answers = []
    for url in servers:
        admin = httpx.Client(base_url=url, auth=(ADMIN, ADMIN_PASSWORD), timeout=120)
        alice = httpx.Client(base_url=url, auth=("alice", PASSWORDS["alice"]), timeout=120)
        users = admin.get("/api/2.0/mlflow/users/list")
        permissions = admin.get("/api/3.0/mlflow/users/permissions/list", params={"username": "alice"})
        own = alice.get("/api/3.0/mlflow/users/current/permissions")
        current = alice.get("/api/2.0/mlflow/users/current")
        admin.close()
        alice.close()
        listed = users.json()
        # The reference records the admin's creator grant on the experiment as a per-user role; in
        # Runyard an admin needs none. Compare the other users.
        listed["users"] = [u for u in listed["users"] if u["username"] != ADMIN]
        answers.append(
            normalise(
                [
                    [users.status_code, listed],
                    [permissions.status_code, permissions.json()],
                    [own.status_code, own.json()],
                    [current.status_code, current.json()],
                ]
            )
        )
    assert answers[0] == answers[1]


def test_auth_api_is_absent_with_auth_off(tmp_path: Path) -> None:
    """Without `--auth on` there is no auth API, as `mlflow server` without `--app-name basic-auth`
    has none: 404 ENDPOINT_NOT_FOUND."""
    import httpx

    server = ServerProcess(data_dir=tmp_path / "off", extra_args=["--auth", "off"]).start()
    try:
        answer = httpx.get(f"{server.url}/api/2.0/mlflow/users/current", timeout=60)
        assert answer.status_code == 404
        assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
        answer = httpx.post(
            f"{server.url}/api/3.0/mlflow/roles/create", json={"workspace": "default", "name": "r"}, timeout=60
        )
        assert answer.status_code == 404
        assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    finally:
        server.stop()
