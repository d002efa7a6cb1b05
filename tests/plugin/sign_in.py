"""Helpers for the sign-in tests: `runyard login` in a subprocess whose `BROWSER` is a script that
hands the authorization URL to the test (through a file), and a scripted "browser" (httpx with a
cookie jar) that signs in on the server's login page, approves a device code, and follows the
redirect back to the CLI's loopback receiver. The Playwright end-to-end test can reuse
`LoginProcess` with a real browser instead of `sign_in`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
USER_CODE = re.compile(r"enter the code (\S+)")
CODE_PAGE_URL = re.compile(r"open (http\S+) and enter the code")


def plugin_env(config_dir: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a client subprocess: PATH/PYTHONPATH/HOME only, its own config folder."""
    keep = {k: os.environ[k] for k in ("PATH", "PYTHONPATH", "HOME", "LANG", "SYSTEMROOT") if k in os.environ}
    keep.update(
        {
            "RUNYARD_CONFIG_DIR": str(config_dir),
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
            "GIT_PYTHON_REFRESH": "quiet",
        }
    )
    keep.update(extra)
    return keep


def browser_script(folder: Path) -> tuple[Path, Path]:
    """A `BROWSER` program that writes the URL it is given to a file; (script, the URL file)."""
    folder.mkdir(parents=True, exist_ok=True)
    url_file = folder / "browser-url.txt"
    script = folder / "fake-browser.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" > '{url_file}.tmp' && mv '{url_file}.tmp' '{url_file}'\n")
    script.chmod(0o755)
    return script, url_file


@dataclass
class LoginProcess:
    """`runyard login ARGS...` (or any `command`) running in the background with the fake browser."""

    process: subprocess.Popen[str]
    url_file: Path

    @classmethod
    def start(
        cls, args: list[str], env: dict[str, str], folder: Path, command: list[str] | None = None
    ) -> LoginProcess:
        script, url_file = browser_script(folder)
        env = {**env, "BROWSER": str(script)}
        process = subprocess.Popen(
            command or [sys.executable, "-m", "runyard", "login", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return cls(process, url_file)

    def authorization_url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.url_file.exists():
                return self.url_file.read_text().strip()
            if self.process.poll() is not None:
                raise AssertionError(f"runyard login exited early: {self.finish()}")
            time.sleep(0.05)
        raise AssertionError("the browser was never asked to open a URL")

    def read_stderr_until(self, pattern: re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        assert self.process.stderr is not None
        seen = ""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            seen += line
            if match := pattern.search(seen):
                return match
        raise AssertionError(f"no {pattern.pattern!r} in: {seen}")

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


def _csrf(page: httpx.Response) -> str:
    match = CSRF_FIELD.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def sign_in(browser: httpx.Client, server_url: str, username: str, password: str) -> None:
    """Start a browser session on the server (the login page's form, with its CSRF field)."""
    page = browser.get(f"{server_url}/login")
    assert page.status_code == 200, page.text[:300]
    answer = browser.post(
        f"{server_url}/login",
        data={"username": username, "password": password, "csrf_token": _csrf(page), "next": "/login"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]


def follow_authorization(browser: httpx.Client, url: str, *, cancel: bool = False) -> httpx.Response:
    """Open the authorization URL in a signed-in `browser` and follow redirects to the loopback
    receiver (whose page is returned). `cancel` presses the login page's Cancel (access_denied)."""
    if cancel:
        url += "&runyard_cancel=1"
    for _ in range(10):
        answer = browser.get(url, follow_redirects=False)
        if answer.status_code not in (302, 303, 307):
            return answer
        url = urljoin(url, answer.headers["location"])
        if urlsplit(url).hostname == "127.0.0.1" and urlsplit(url).path == "/callback":
            return httpx.get(url, timeout=30)
    raise AssertionError("too many redirects")


def decide_device(browser: httpx.Client, server_url: str, user_code: str, *, approve: bool) -> httpx.Response:
    page = browser.get(f"{server_url}/device", params={"user_code": user_code})
    assert page.status_code == 200, page.text[:300]
    return browser.post(
        f"{server_url}/device",
        data={"user_code": user_code, "decision": "approve" if approve else "deny", "csrf_token": _csrf(page)},
    )
