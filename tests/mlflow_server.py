"""A plain `mlflow server` (no auth app) for tests that need the reference as a mirror target."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import MLFLOW_SERVER_VARS, free_port


@dataclass
class MlflowServer:
    """`mlflow server` (no auth app) in its own folder, on a free port."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    # More flags (e.g. `--app-name basic-auth`) and variables; the artifact flag and its folder.
    extra_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    artifacts_flag: str = "--artifacts-destination"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MlflowServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_") and k not in MLFLOW_SERVER_VARS}
        # No job runner (a huey consumer and its 7 worker processes, for GenAI jobs no test uses): it
        # about doubles the start-up time and keeps eight more Pythons alive.
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        env.update(self.extra_env)
        cmd = [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            *self.extra_args,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.root / 'mlflow.db'}",
            self.artifacts_flag,
            str(self.root / "artifacts"),
            "--workers",
            "1",
        ]
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        return self

    def wait(self, timeout: float = 300) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"mlflow server did not become healthy:\n{self.log()}")

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
