"""The authentication switch and the first admin at start-up, and the slowing down of repeated
failed sign-ins, against real `runyard server` processes (SQLite)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MLFLOW_SERVER_VARS, ServerProcess, free_port

ADMIN_PASSWORD = "admin-pw-for-startup-tests"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def run_server(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`runyard server` expected to refuse to start (it exits; a timeout means it served)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_") and k not in MLFLOW_SERVER_VARS}
    clean.update(env or {})
    cmd = [sys.executable, "-m", "runyard", "server", "--port", str(free_port()), "--data-dir", str(tmp_path), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=clean, timeout=60)


def test_auth_off_on_a_network_address_refuses_to_start(tmp_path: Path) -> None:
    result = run_server(tmp_path, "--auth", "off", "--host", "0.0.0.0")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--auth off" in lines[0], result.stderr


def test_short_admin_password_refuses_to_start(tmp_path: Path) -> None:
    result = run_server(tmp_path, "--auth", "on", env={"RUNYARD_ADMIN_PASSWORD": "short-pw"})
    assert result.returncode != 0
    assert "RUNYARD_ADMIN_PASSWORD" in result.stderr and "12" in result.stderr
    assert "short-pw" not in result.stderr + result.stdout


def test_default_host_means_auth_off(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path).start()
    try:
        info = httpx.get(f"{server.url}/api/3.0/mlflow/server-info").json()
        assert info["auth_enabled"] is False
        assert httpx.get(f"{server.url}/api/2.0/mlflow/experiments/search").status_code == 200
        # The personal token API says why it cannot serve.
        resp = httpx.get(f"{server.url}/api/2.0/runyard/tokens")
        assert resp.status_code == 400 and "--auth off" in resp.json()["message"]
        resp = httpx.post(f"{server.url}/api/2.0/runyard/tokens", json={"name": "x"})
        assert resp.status_code == 400 and resp.json()["error_code"] == "BAD_REQUEST"
    finally:
        assert server.stop() == 0


def test_generated_admin_password_is_printed_once_and_works(tmp_path: Path) -> None:
    first = ServerProcess(data_dir=tmp_path, extra_args=["--auth", "on"]).start()
    try:
        found = re.findall(r"^admin password: (\S+)$", first.log(), flags=re.MULTILINE)
        assert len(found) == 1, first.log()
        password = found[0]
        assert len(password) >= 12
        resp = httpx.get(f"{first.url}/api/2.0/runyard/tokens", headers=basic("admin", password))
        assert resp.status_code == 200, resp.text
    finally:
        assert first.stop() == 0
    second = ServerProcess(data_dir=tmp_path, extra_args=["--auth", "on"]).start()
    try:
        assert "admin password" not in second.log()
        assert password not in second.log()
        assert httpx.get(f"{second.url}/api/2.0/runyard/tokens", headers=basic("admin", password)).status_code == 200
    finally:
        assert second.stop() == 0


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp("auth-limited"),
        extra_env={"RUNYARD_ADMIN_PASSWORD": ADMIN_PASSWORD},
        extra_args=["--auth", "on", "--auth-failure-limit", "3"],
    ).start()
    yield server
    assert server.stop() == 0


def test_repeated_wrong_passwords_are_slowed_down(limited: ServerProcess) -> None:
    url = f"{limited.url}/api/2.0/mlflow/experiments/search"
    # Requests without credentials are not failures.
    for _ in range(10):
        assert httpx.get(url).status_code == 401
    for _ in range(3):
        resp = httpx.get(url, headers=basic("admin", "not-the-password"))
        assert resp.status_code == 401 and resp.json()["error_code"] == "UNAUTHENTICATED"
    resp = httpx.get(url, headers=basic("admin", "not-the-password"))
    assert resp.status_code == 429, resp.text
    assert int(resp.headers["retry-after"]) >= 1
    # The account and the address are held back, even with the right password.
    assert httpx.get(url, headers=basic("admin", ADMIN_PASSWORD)).status_code == 429
    # Wrong client secrets from the same address are refused the same way.
    token = httpx.post(
        f"{limited.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "ryd_sp_unknown", "client_secret": "s" * 20},
    )
    assert token.status_code == 429 and int(token.headers["retry-after"]) >= 1
    assert "not-the-password" not in limited.log()
