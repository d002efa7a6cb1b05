"""`runyard user|token|sp|grant|role|audit` against a SQLite data folder (click's CliRunner, in
process), and what they create working against a live `--auth on` server on that folder."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from runyard.cli import main
from runyard.cli_identity import parse_duration_ms, parse_since_ms
from tests.conftest import ServerProcess

PASSWORD = "a-long-password-1"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("identity-cli")


def run(data_dir: Path, *args: str, stdin: str | None = None, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, [*args, "--data-dir", str(data_dir)], input=stdin, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    return result


def as_json(result: Result) -> object:
    return json.loads(result.output)


def test_durations_and_times() -> None:
    assert parse_duration_ms("30d") == 30 * 86_400_000
    assert parse_duration_ms("12h") == 12 * 3_600_000
    assert parse_since_ms("1h", 10_000_000) == 10_000_000 - 3_600_000
    assert parse_since_ms("1970-01-01T00:00:01Z", 0) == 1000


def test_users(data_dir: Path) -> None:
    created = run(data_dir, "user", "create", "alice")
    assert "password: " in created.output
    generated = created.output.split("password: ", 1)[1].strip()
    assert len(generated) >= 12

    admin = as_json(
        run(data_dir, "user", "create", "root", "--admin", "--password-stdin", "--json", stdin=PASSWORD + "\n")
    )
    assert isinstance(admin, dict) and admin["is_admin"] is True and "password" not in admin

    run(data_dir, "user", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n", ok=False)
    run(data_dir, "user", "create", "shorty", "--password-stdin", stdin="short\n", ok=False)

    listed = as_json(run(data_dir, "user", "list", "--json"))
    assert isinstance(listed, list) and {u["name"] for u in listed} >= {"alice", "root"}

    run(data_dir, "user", "disable", "alice")
    shown = as_json(run(data_dir, "user", "show", "alice", "--json"))
    assert isinstance(shown, dict) and shown["enabled"] is False
    run(data_dir, "user", "enable", "alice")
    shown = as_json(run(data_dir, "user", "show", "alice", "--json"))
    assert isinstance(shown, dict) and shown["enabled"] is True

    reset = run(data_dir, "user", "reset-password", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert PASSWORD not in reset.output
    run(data_dir, "user", "show", "nobody", ok=False)

    run(data_dir, "user", "create", "temp", "--password-stdin", stdin=PASSWORD + "\n")
    run(data_dir, "user", "delete", "temp")
    run(data_dir, "user", "delete", "temp", ok=False)

    # Neither the generated password nor the chosen one reaches the audit log.
    events = run(data_dir, "audit", "--json", "--limit", "1000").output
    assert generated not in events and PASSWORD not in events


def test_tokens(data_dir: Path) -> None:
    run(data_dir, "user", "create", "tokenholder", "--password-stdin", stdin=PASSWORD + "\n")
    issued = as_json(run(data_dir, "token", "create", "--user", "tokenholder", "--name", "laptop", "--json"))
    assert isinstance(issued, dict) and set(issued) == {"id", "token", "expires_at"}
    assert (
        isinstance(issued["id"], str) and str(issued["token"]).startswith("ryd_pat_") and issued["expires_at"] is None
    )

    expiring = as_json(
        run(data_dir, "token", "create", "--user", "tokenholder", "--name", "ci", "--expires-in", "30d", "--json")
    )
    assert isinstance(expiring, dict) and isinstance(expiring["expires_at"], int)
    run(data_dir, "token", "create", "--user", "tokenholder", "--name", "x", "--expires-in", "soon", ok=False)
    run(data_dir, "token", "create", "--user", "nobody", "--name", "x", ok=False)

    listed = as_json(run(data_dir, "token", "list", "--user", "tokenholder", "--json"))
    assert isinstance(listed, list) and {t["name"] for t in listed} == {"laptop", "ci"}
    assert issued["token"] not in json.dumps(listed)

    run(data_dir, "token", "revoke", str(issued["id"]))
    run(data_dir, "token", "revoke", "no-such-token", ok=False)
    listed = as_json(run(data_dir, "token", "list", "--user", "tokenholder", "--json"))
    assert isinstance(listed, list)
    assert [t["revoked_at"] is not None for t in listed if t["id"] == issued["id"]] == [True]
    assert issued["token"] not in run(data_dir, "audit", "--json", "--limit", "1000").output


def test_service_principals(data_dir: Path) -> None:
    created = as_json(run(data_dir, "sp", "create", "nightly", "--json"))
    assert isinstance(created, dict) and set(created) == {"name", "client_id", "client_secret"}
    listed = as_json(run(data_dir, "sp", "list", "--json"))
    assert isinstance(listed, list) and [p["client_id"] for p in listed if p["name"] == "nightly"] == [
        created["client_id"]
    ]
    rotated = as_json(run(data_dir, "sp", "rotate-secret", "nightly", "--json"))
    assert isinstance(rotated, dict) and rotated["client_id"] == created["client_id"]
    assert rotated["client_secret"] != created["client_secret"]
    run(data_dir, "sp", "rotate-secret", "alice", ok=False)
    run(data_dir, "sp", "delete", "alice", ok=False)
    run(data_dir, "sp", "delete", "nightly")
    events = run(data_dir, "audit", "--json", "--limit", "1000").output
    assert str(created["client_secret"]) not in events and str(rotated["client_secret"]) not in events


def test_grants_and_roles(data_dir: Path) -> None:
    run(data_dir, "user", "create", "granted", "--password-stdin", stdin=PASSWORD + "\n")
    run(data_dir, "sp", "create", "robot")
    added = as_json(
        run(data_dir, "grant", "add", "--user", "granted", "--experiment", "7", "--permission", "EDIT", "--json")
    )
    assert isinstance(added, dict) and added["permission"] == "EDIT" and added["workspace"] == "default"
    run(data_dir, "grant", "add", "--sp", "robot", "--registered-model", "churn", "--permission", "read")
    run(data_dir, "grant", "add", "--user", "granted", "--workspace", "default", "--permission", "DENY")
    run(data_dir, "grant", "add", "--user", "granted", "--folder", "/Shared/team", "--permission", "MANAGE")
    run(data_dir, "grant", "add", "--user", "robot", "--experiment", "7", "--permission", "READ", ok=False)
    run(data_dir, "grant", "add", "--user", "granted", "--experiment", "7", "--permission", "OWNER", ok=False)
    run(
        data_dir,
        "grant",
        "add",
        "--user",
        "granted",
        "--experiment",
        "7",
        "--registered-model",
        "m",
        "--permission",
        "READ",
        ok=False,
    )

    mine = as_json(run(data_dir, "grant", "list", "--user", "granted", "--json"))
    assert isinstance(mine, list)
    assert sorted((g["resource_type"], g["resource"], g["permission"]) for g in mine) == [
        ("experiment", "7", "EDIT"),
        ("folder", "/Shared/team/", "MANAGE"),
        ("workspace", "*", "DENY"),
    ]
    run(data_dir, "grant", "remove", "--user", "granted", "--workspace", "default")
    run(data_dir, "grant", "remove", "--user", "granted", "--workspace", "default", ok=False)
    robot = as_json(run(data_dir, "grant", "list", "--sp", "robot", "--json"))
    assert isinstance(robot, list) and [g["resource"] for g in robot] == ["churn"]

    run(data_dir, "role", "create", "auditors", "--workspace", "default")
    run(data_dir, "role", "create", "auditors", "--workspace", "default", ok=False)
    run(data_dir, "role", "create", "x", "--workspace", "no-such-workspace", ok=False)
    run(
        data_dir,
        "role",
        "add-permission",
        "auditors",
        "--workspace",
        "default",
        "--experiment",
        "*",
        "--permission",
        "READ",
    )
    run(
        data_dir,
        "role",
        "add-permission",
        "auditors",
        "--workspace",
        "default",
        "--workspace-wide",
        "--permission",
        "USE",
    )
    run(data_dir, "role", "assign", "auditors", "--workspace", "default", "--sp", "robot")
    run(data_dir, "role", "assign", "auditors", "--workspace", "default", "--user", "granted")
    run(data_dir, "role", "assign", "auditors", "--workspace", "default", "--user", "granted", ok=False)
    roles = as_json(run(data_dir, "role", "list", "--workspace", "default", "--json"))
    assert isinstance(roles, list)
    (auditors,) = [r for r in roles if r["name"] == "auditors"]
    assert auditors["members"] == ["granted", "robot"]
    assert {(p["resource_type"], p["permission"]) for p in auditors["permissions"]} == {
        ("experiment", "READ"),
        ("workspace", "USE"),
    }


def test_audit(data_dir: Path) -> None:
    run(data_dir, "user", "create", "audited", "--password-stdin", stdin=PASSWORD + "\n")
    events = as_json(run(data_dir, "audit", "--action", "user.create", "--since", "1h", "--json"))
    assert isinstance(events, list) and events
    assert all(e["action"] == "user.create" and e["actor"] == "cli" for e in events)
    assert any(e["resource"] == "audited" for e in events)
    assert as_json(run(data_dir, "audit", "--actor", "somebody-else", "--json")) == []
    assert len(as_json(run(data_dir, "audit", "--limit", "2", "--json"))) == 2  # type: ignore[arg-type]
    run(data_dir, "audit", "--since", "yesterday-ish", ok=False)
    assert "user.create" in run(data_dir, "audit").output


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Path, ServerProcess]]:
    data = tmp_path / "live"
    run(data, "user", "create", "boss", "--admin", "--password-stdin", stdin=PASSWORD + "\n")
    server = ServerProcess(data_dir=data, extra_args=["--auth", "on"]).start()
    try:
        yield data, server
    finally:
        server.stop()


def test_what_the_cli_creates_works_against_a_live_server(
    live: tuple[Path, ServerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    data, server = live
    for var in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "boss")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    experiment_id = MlflowClient(server.url).create_experiment("cli-granted")

    run(data, "user", "create", "reader", "--password-stdin", stdin=PASSWORD + "\n")
    issued = as_json(run(data, "token", "create", "--user", "reader", "--name", "test", "--expires-in", "1d", "--json"))
    assert isinstance(issued, dict)
    run(data, "grant", "add", "--user", "reader", "--experiment", experiment_id, "--permission", "READ")
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", str(issued["token"]))
    client = MlflowClient(server.url)
    assert client.get_experiment(experiment_id).name == "cli-granted"
    # The server sees the grant (through MLflow's permission API, asked by the admin).
    seen = httpx.get(
        f"{server.url}/api/3.0/mlflow/users/permissions/get",
        params={"username": "reader", "resource_type": "experiment", "resource_id": experiment_id},
        auth=("boss", PASSWORD),
        timeout=60,
    )
    assert seen.status_code == 200, seen.text
    assert seen.json() == {"allowed": False, "permission": "READ"}

    # A service principal with a token of its own and an EDIT grant logs.
    run(data, "sp", "create", "trainer")
    sp_token = as_json(run(data, "token", "create", "--user", "trainer", "--name", "job", "--json"))
    assert isinstance(sp_token, dict)
    run(data, "grant", "add", "--sp", "trainer", "--experiment", experiment_id, "--permission", "EDIT")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", str(sp_token["token"]))
    run_id = MlflowClient(server.url).create_run(experiment_id).info.run_id
    MlflowClient(server.url).log_metric(run_id, "loss", 0.5)

    # Revoking the reader's token locks it out (within the 5 seconds the contract allows a server
    # process that cached the credential).
    run(data, "token", "revoke", str(issued["id"]))
    deadline = time.monotonic() + 8
    while True:
        answer = httpx.get(
            f"{server.url}/api/2.0/mlflow/experiments/get",
            params={"experiment_id": experiment_id},
            headers={"Authorization": f"Bearer {issued['token']}"},
            timeout=60,
        )
        if answer.status_code != 200 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
