"""`runyard login` end to end: the command runs in a subprocess with a `BROWSER` that hands the
authorization URL to the test, headless Chromium plays the user on the login page, and then the
unmodified mlflow client — in a fresh process, configured by nothing but the `runyard+http://`
tracking URI — logs params, metrics, an artifact and an sklearn model with `registered_model_name`.
The device flow likewise: one process runs `runyard login --device`, a second signs in and approves
the code, and the first then logs a run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runyard.domain.permissions import EDIT
from runyard.services.identity.audit import Actor
from tests.browser.ui_pages import CHROMIUM
from tests.conftest import ServerProcess, auth_server
from tests.oauth_helpers import Browser

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "admin-pw-for-login-e2e"
USER = "lena"
PASSWORD = "lena-password-e2e-1"
WORKSPACE = "vision"
USER_CODE = re.compile(r"\b[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}\b")

TRAINING = textwrap.dedent(
    """
    import sys, tempfile, os
    import mlflow, numpy as np
    from sklearn.linear_model import LogisticRegression
    mlflow.set_experiment(sys.argv[1])
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.5)
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        path = os.path.join(tempfile.mkdtemp(), "notes.txt")
        with open(path, "w") as f:
            f.write("hello from the plugin")
        mlflow.log_artifact(path)
        if len(sys.argv) > 2:
            x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
            model = LogisticRegression().fit(x, np.array([0, 1, 0, 1]))
            mlflow.sklearn.log_model(model, name="model", registered_model_name=sys.argv[2])
    loaded = mlflow.pyfunc.load_model(f"models:/{sys.argv[2]}/1") if len(sys.argv) > 2 else None
    print("RUN", run.info.run_id, "LOADED", loaded is not None)
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("login-e2e")
    with auth_server(data_dir, ADMIN_PASSWORD, "--access-token-ttl", "300", secrets_to_hide=(PASSWORD,)) as (
        proc,
        services,
    ):
        services.workspaces.create(WORKSPACE)
        services.identity.accounts.create_user(Actor.cli(), USER, PASSWORD)
        services.identity.grants.put(Actor.cli(), USER, WORKSPACE, "workspace", "*", EDIT)
        yield proc


def client_env(home: Path, **more: str) -> dict[str, str]:
    """A user's environment with no credentials in it: only their own config folder."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNYARD_", "MLFLOW_TRACKING_")) and k not in ("BROWSER", "MLFLOW_REGISTRY_URI")
    }
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    env.update(more)
    return env


def run_training(env: dict[str, str], uri: str, experiment: str, model: str | None = None) -> str:
    args = [sys.executable, "-c", TRAINING, experiment, *([model] if model else [])]
    done = subprocess.run(args, env={**env, "MLFLOW_TRACKING_URI": uri}, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def admin_get(server: ServerProcess, path: str, **params: str) -> httpx.Response:
    return httpx.get(f"{server.url}/w/{WORKSPACE}/api/2.0/mlflow/{path}", params=params, auth=("admin", ADMIN_PASSWORD))


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (scripts/install-test-browser)")
def test_browser_login_then_the_real_client_logs_through_the_plugin_uri(server: ServerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url_file = tmp_path / "authorize-url"
    opener = tmp_path / "browser.sh"
    opener.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {url_file}\n')
    opener.chmod(0o755)
    env = client_env(tmp_path, BROWSER=f"{opener} %s")
    uri = f"runyard+http://127.0.0.1:{server.port}/{WORKSPACE}"
    login = subprocess.Popen(
        [sys.executable, "-m", "runyard", "login", uri],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not url_file.exists() or not url_file.read_text():
            assert login.poll() is None, login.communicate()
            assert time.monotonic() < deadline, "runyard login never opened a browser"
            time.sleep(0.1)
        authorize_url = url_file.read_text()
        assert authorize_url.startswith(f"{server.url}/oauth/authorize?")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page()
            page.goto(authorize_url)
            assert page.title().startswith("Sign in to Runyard")
            page.fill("input[name=username]", USER)
            page.fill("input[name=password]", "wrong-password-here")
            page.click("button[type=submit]")
            assert "Invalid user name or password." in page.content()
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"http://(127\.0\.0\.1|localhost|\[::1\]):\d+/.*"), timeout=15_000)
            landing = page.content()
            browser.close()
        out, err = login.communicate(timeout=30)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, out + err
    assert "error" not in landing.lower() or "signed in" in landing.lower()
    assert f"as {USER}" in out and "Traceback" not in err

    whoami = subprocess.run(
        [sys.executable, "-m", "runyard", "whoami", uri, "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["user"] == USER

    printed = run_training(env, uri, "plugin-e2e", model="plugin-e2e-model")
    found = re.search(r"^RUN (\w+) LOADED", printed, re.M)
    assert found, printed
    run_id = found.group(1)
    assert "LOADED True" in printed
    got = admin_get(server, "runs/get", run_id=run_id)
    assert got.status_code == 200, got.text
    run = got.json()["run"]
    assert run["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    version = admin_get(server, "model-versions/get", name="plugin-e2e-model", version="1").json()
    assert version["model_version"]["run_id"] == run_id
    artifacts = admin_get(server, "artifacts/list", run_id=run_id).json()
    assert "notes.txt" in {f["path"] for f in artifacts["files"]}


def start_device_login(env: dict[str, str], base: str) -> tuple[subprocess.Popen[str], str, str]:
    """`runyard login BASE --device` in a subprocess, read until it shows its code: (process, what
    it printed so far, the user code)."""
    login = subprocess.Popen(
        [sys.executable, "-m", "runyard", "login", base, "--device"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert login.stdout is not None
    seen = ""
    deadline = time.monotonic() + 30
    while (found := USER_CODE.search(seen)) is None:
        if time.monotonic() > deadline or not (line := login.stdout.readline()):
            login.kill()
            raise AssertionError(f"no user code shown: {seen}")
        seen += line
    return login, seen, found.group(0)


def test_device_login_approved_from_another_process(server: ServerProcess, tmp_path: Path) -> None:
    env = client_env(tmp_path)
    base = server.url
    login, seen, user_code = start_device_login(env, base)
    try:
        assert f"{base}/device" in seen
        approve = textwrap.dedent(
            f"""
            from tests.oauth_helpers import Browser
            b = Browser.at({base!r})
            b.sign_in({USER!r}, {PASSWORD!r})
            page = b.get("/device?user_code={user_code}")
            assert page.status_code == 200, page.text
            done = b.post_form("/device", {{"user_code": {user_code!r}, "decision": "approve",
                                             "csrf_token": b.client.cookies["runyard_csrf"]}})
            assert done.status_code == 200 and "signed in on your device" in done.text, done.text
            """
        )
        approver = subprocess.run(
            [sys.executable, "-c", approve], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2]
        )
        assert approver.returncode == 0, approver.stderr
        rest, _ = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode == 0, seen + rest
    assert "Traceback" not in seen + rest
    run_training(env, f"runyard+http://127.0.0.1:{server.port}/{WORKSPACE}", "device-e2e")


def test_device_login_denied_gives_one_clear_line(server: ServerProcess, tmp_path: Path) -> None:
    env = client_env(tmp_path)
    login, seen, user_code = start_device_login(env, server.url)
    try:
        b = Browser.at(server.url)
        b.sign_in(USER, PASSWORD)
        b.get(f"/device?user_code={user_code}")
        b.post_form(
            "/device", {"user_code": user_code, "decision": "deny", "csrf_token": b.client.cookies["runyard_csrf"]}
        )
        b.close()
        rest, _ = login.communicate(timeout=60)
    finally:
        if login.poll() is None:
            login.kill()
    assert login.returncode != 0
    errors = [line for line in (seen + rest).splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "denied" in errors[0].lower(), seen + rest
    assert "Traceback" not in seen + rest
