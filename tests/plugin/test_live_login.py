"""`runyard login|logout|whoami|uri|token create --server` against the live server: the browser
sign-in (BROWSER is a script that hands the URL to the test; a scripted browser signs in on the
login page), `--no-browser`, the device flow approved and denied, refresh-token rotation shared by
two jobs at once, logout revoking at the server, the browser step of the chain inside mlflow, and
the error paths (one line, non-zero exit, no traceback)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.plugin.login_store import LoginStore
from tests.conftest import free_port
from tests.plugin.live_server import PASSWORD, Live
from tests.plugin.sign_in import LoginProcess, decide_device, follow_authorization, plugin_env, sign_in

PRINTED_URL = re.compile(r"open this URL in a browser on this machine:\n  (http\S+)")
DEVICE_CODE = re.compile(r"open (http\S+) and enter the code (\S+)")


def runyard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runyard", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def one_line_error(done: subprocess.CompletedProcess[str], *, after_prompts: bool = False) -> str:
    """The error line of a failed command: its only line on stderr (or, `after_prompts`, the line
    after a sign-in's prompts)."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert after_prompts or len(lines) == 1, done.stderr
    assert lines[-1].startswith("Error: ") and sum(line.startswith("Error") for line in lines) == 1
    return lines[-1]


@pytest.fixture(scope="module")
def alice(live: Live) -> str:
    return live.user("alice", "team")


def browser_login(live: Live, env: dict[str, str], folder: Path, *args: str, user: str = "alice") -> str:
    login = LoginProcess.start([live.url, *args], env, folder)
    url = login.authorization_url()
    with httpx.Client(timeout=30) as browser:
        sign_in(browser, live.url, user, PASSWORD)
        page = follow_authorization(browser, url)
    assert page.status_code == 200 and "Signed in to Runyard" in page.text
    code, out, err = login.finish()
    assert code == 0, err
    return out + err


JOB = textwrap.dedent(
    """
    import sys, time
    import mlflow
    mlflow.set_experiment(sys.argv[2])  # one each: two set_experiment calls racing to create one name may fail
    with mlflow.start_run():
        started = time.monotonic()
        step = 0
        while time.monotonic() - started < float(sys.argv[1]):
            mlflow.log_metric("m", step, step=step)
            step += 1
            time.sleep(0.2)
    print("steps", step)
    """
)


def test_browser_login_feeds_jobs_and_logout_revokes(live: Live, alice: str, tmp_path: Path) -> None:
    env = plugin_env(tmp_path / "config")
    printed = browser_login(live, env, tmp_path / "b")
    assert f"Signed in to {live.url} as alice." in printed
    assert f"export MLFLOW_TRACKING_URI=runyard+http://127.0.0.1:{live.server.port}/default" in printed
    store = LoginStore(tmp_path / "config")
    first = store.get(live.url)
    assert first is not None and first.user == "alice"
    assert first.refresh_token not in printed
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"

    who = runyard(env, "whoami")  # no URL: the last server signed in to
    assert who.returncode == 0, who.stderr
    assert "user:       alice" in who.stdout and "signed in:  cached login (runyard login)" in who.stdout
    assert runyard(env, "uri", "--workspace", "team").stdout.strip() == live.uri("team")

    # Two jobs at once on one cached login, each refreshing every ~4 s: the rotations never collide
    # (a refresh token presented twice would revoke the whole login).
    script = tmp_path / "job.py"
    script.write_text(JOB)
    job_env = {**env, "MLFLOW_TRACKING_URI": live.uri("team")}
    jobs = [
        subprocess.Popen(
            [sys.executable, str(script), "9", f"cached-login-job-{n}"],
            env=job_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    for job in jobs:
        out, err = job.communicate(timeout=120)
        assert job.returncode == 0, err.decode()[-3000:]
        assert int(out.decode().split()[-1]) > 20  # it logged all along
    rotated = store.get(live.url)
    assert rotated is not None and rotated.refresh_token != first.refresh_token
    assert runyard(env, "whoami", live.url).returncode == 0

    made = runyard(env, "token", "create", "--server", live.url, "--name", "ci", "--expires-in", "30d", "--json")
    assert made.returncode == 0, made.stderr
    pat = json.loads(made.stdout)["token"]
    pat_env = plugin_env(tmp_path / "other-config", RUNYARD_TOKEN=pat)
    by_pat = runyard(pat_env, "whoami", live.uri("team"))
    assert by_pat.returncode == 0, by_pat.stderr
    assert "user:       alice" in by_pat.stdout and "workspace:  team" in by_pat.stdout
    assert "token (RUNYARD_TOKEN)" in by_pat.stdout

    last = store.get(live.url)
    assert last is not None
    signed_out = runyard(env, "logout")
    assert signed_out.returncode == 0, signed_out.stderr
    assert signed_out.stdout.strip() == f"Signed out of {live.url}."
    assert store.get(live.url) is None
    assert refresh_refused(live, last.refresh_token)
    line = one_line_error(runyard(env, "whoami", live.url))
    assert f"Not signed in to {live.url}" in line and "cached login (runyard login): no `runyard login`" in line


def refresh_refused(live: Live, refresh_token: str) -> bool:
    answer = httpx.post(
        f"{live.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "runyard-cli"},
    )
    return answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_no_browser_prints_the_url_and_waits(live: Live, alice: str, tmp_path: Path) -> None:
    env = plugin_env(tmp_path / "config")
    browser_login(live, env, tmp_path / "first")
    replaced = LoginStore(tmp_path / "config").get(live.url)
    assert replaced is not None
    login = LoginProcess.start([live.uri("team"), "--no-browser"], env, tmp_path / "b")
    url = login.read_stderr_until(PRINTED_URL).group(1)
    assert not login.url_file.exists()  # no browser was opened
    with httpx.Client(timeout=30) as browser:
        sign_in(browser, live.url, alice, PASSWORD)
        follow_authorization(browser, url)
    code, out, err = login.finish()
    assert code == 0, err
    assert out.strip() == f"Signed in to {live.url} as alice."
    assert f"export MLFLOW_TRACKING_URI={live.uri('team')}" in err
    assert refresh_refused(live, replaced.refresh_token)  # signing in again revoked the login it replaced


def test_device_flow_approved_and_denied(live: Live, alice: str, tmp_path: Path) -> None:
    env = plugin_env(tmp_path / "config")
    with httpx.Client(timeout=30) as browser:
        sign_in(browser, live.url, alice, PASSWORD)
        for approve in (True, False):
            login = LoginProcess.start([live.url, "--device"], env, tmp_path / "b")
            page_url, user_code = login.read_stderr_until(DEVICE_CODE).groups()
            assert page_url == f"{live.url}/device"
            answer = decide_device(browser, live.url, user_code, approve=approve)
            assert answer.status_code == 200, answer.text[:300]
            code, out, err = login.finish()
            if approve:
                assert code == 0, err
                assert out.strip() == f"Signed in to {live.url} as alice."
            else:
                assert code == 1
                assert err.strip().splitlines()[-1] == f"Error: The sign-in to {live.url} was denied."
                assert "Traceback" not in err


def test_cancel_in_the_browser_is_one_line(live: Live, alice: str, tmp_path: Path) -> None:
    env = plugin_env(tmp_path / "config")
    login = LoginProcess.start([live.url], env, tmp_path / "b")
    url = login.authorization_url()
    with httpx.Client(timeout=30) as browser:
        follow_authorization(browser, url, cancel=True)
    code, _, err = login.finish()
    assert code == 1
    assert err.strip().splitlines()[-1] == f"Error: The sign-in to {live.url} was denied."
    assert "Traceback" not in err
    assert LoginStore(tmp_path / "config").get(live.url) is None


INTERACTIVE_JOB = textwrap.dedent(
    """
    import mlflow
    mlflow.set_experiment("signed-in-by-the-chain")
    with mlflow.start_run():
        mlflow.log_param("who", "browser")
    print("logged")
    """
)


def test_the_chain_signs_in_through_the_browser_inside_mlflow(live: Live, alice: str, tmp_path: Path) -> None:
    script = tmp_path / "job.py"
    script.write_text(INTERACTIVE_JOB)
    env = plugin_env(tmp_path / "config", MLFLOW_TRACKING_URI=live.uri("team"), RUNYARD_INTERACTIVE="1")
    job = LoginProcess.start([], env, tmp_path / "b", command=[sys.executable, str(script)])
    url = job.authorization_url(timeout=60)
    with httpx.Client(timeout=30) as browser:
        sign_in(browser, live.url, alice, PASSWORD)
        follow_authorization(browser, url)
    code, out, err = job.finish(timeout=120)
    assert code == 0, err[-3000:]
    assert out.strip().endswith("logged")
    assert f"Opened a browser to sign in to {live.url}" in err
    assert LoginStore(tmp_path / "config").get(live.url) is not None  # cached for the next job


def test_cli_error_paths_are_one_line(live: Live, tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    sp_env = plugin_env(tmp_path / "config", RUNYARD_CLIENT_ID="ryd_sp_x", RUNYARD_CLIENT_SECRET="x")
    expected = f"Error: Cannot reach the Runyard server at {nowhere}: connection refused"
    assert one_line_error(runyard(sp_env, "whoami", nowhere)) == expected
    assert one_line_error(runyard(sp_env, "login", nowhere, "--no-browser")) == expected
    assert one_line_error(runyard(sp_env, "login", nowhere, "--device")) == expected
    pat_env = plugin_env(tmp_path / "config", RUNYARD_TOKEN="ryd_pat_x")
    made = one_line_error(runyard(pat_env, "token", "create", "--server", nowhere, "--name", "x"))
    assert made.startswith(f"Error: Cannot reach the Runyard server at {nowhere}")

    bare = plugin_env(tmp_path / "config")
    line = one_line_error(runyard(bare, "whoami", live.url))
    for reason in (
        "RUNYARD_CLIENT_ID and RUNYARD_CLIENT_SECRET are not set",
        "RUNYARD_TOKEN and MLFLOW_TRACKING_TOKEN are not set",
        "no `runyard login`",
        "browser sign-in: not tried here (non-interactive)",
    ):
        assert reason in line
    line = one_line_error(runyard(sp_env, "whoami", live.url))
    assert "the server refused them (invalid_client" in line
    line = one_line_error(runyard(pat_env, "whoami", live.url))
    assert "the server refused the credentials" in line
    assert one_line_error(runyard(bare, "uri", "ftp://x")).startswith("Error: 'ftp://x': expected a server URL")


class ExpiringDevice(BaseHTTPRequestHandler):
    """An authorization server whose device codes always expire before approval."""

    def do_GET(self) -> None:
        self._json(404, {"error_code": "ENDPOINT_NOT_FOUND"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/oauth/device_authorization":
            host = f"http://{self.headers['Host']}"
            grant = {"device_code": "d", "user_code": "WXYZ-1234", "verification_uri": f"{host}/device"}
            self._json(200, {**grant, "expires_in": 30, "interval": 1})
        else:
            self._json(400, {"error": "expired_token", "error_description": "The device code expired."})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def expiring_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ExpiringDevice)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_expired_device_code_is_one_line(expiring_server: str, tmp_path: Path) -> None:
    done = runyard(plugin_env(tmp_path / "config"), "login", expiring_server, "--device")
    assert one_line_error(done, after_prompts=True) == (
        f"Error: The device code expired before the sign-in to {expiring_server} was approved."
    )
    assert f"open {expiring_server}/device and enter the code WXYZ-1234" in done.stderr
