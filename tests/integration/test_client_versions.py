"""Other MLflow client versions against Runyard (issue 11, item 6): the training workflow of
`tests/client_workflow.py` (public mlflow API only) run by the 3.18.0 client and by a 2.x client,
each in a virtual environment of its own, against a live server started here with `--access-log`.

The pinned 3.17.2 client is the rest of the suite. Environments are cached per version outside the
checkout (`$RUNYARD_CLIENT_ENVS`, default `~/.cache/runyard/client-envs/<version>`), so clean clones
on one machine (CI) build them once:

* 3.18.0: the `mlflow` 3.18.0 wheel installed with `--no-deps` over the running interpreter's
  packages (3.17.2's dependencies), which the environment sees through a `.pth` line
  (`venv --system-site-packages` would expose the base interpreter's packages, not this venv's);
* 2.22.5: a fresh environment, `pip install mlflow==2.22.5 scikit-learn` (5.5 minutes here).

The installs take longer than the main suite can afford, so these tests carry the `clients` marker
and `.ci/run` runs them in a step of their own after the main suite (`pytest -m clients`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient

from tests.conftest import ServerProcess

INSTALL_TIMEOUT = 1800
pytestmark = [pytest.mark.clients, pytest.mark.timeout(INSTALL_TIMEOUT + 900)]

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("RUNYARD_CLIENT_ENVS") or Path.home() / ".cache" / "runyard" / "client-envs")
WORKFLOW = ROOT / "tests" / "client_workflow.py"


@dataclass(frozen=True)
class ClientEnv:
    version: str
    packages: tuple[str, ...]
    overlay: bool  # install with --no-deps over this interpreter's packages

    @property
    def spec(self) -> str:
        parent = sysconfig.get_paths()["purelib"] if self.overlay else ""
        return json.dumps({"packages": self.packages, "overlay": parent, "python": sys.version}, sort_keys=True)

    @property
    def folder(self) -> Path:
        return CACHE / self.version

    @property
    def python(self) -> Path:
        return self.folder / "bin" / "python"

    def ensure(self) -> Path:
        """The environment's interpreter, built first if the cache holds none for this spec."""
        marker = self.folder / ".runyard-client-env"
        if marker.is_file() and marker.read_text() == self.spec and self.python.exists():
            return self.python
        CACHE.mkdir(parents=True, exist_ok=True)
        # Built where it will live (a venv's scripts name their own path); a failed build is removed.
        shutil.rmtree(self.folder, ignore_errors=True)
        started = time.monotonic()
        try:
            subprocess.run([sys.executable, "-m", "venv", str(self.folder)], check=True, timeout=300)
            if self.overlay:
                site = Path(
                    subprocess.run(
                        [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout.strip()
                )
                (site / "runyard_parent_env.pth").write_text(
                    "".join(f"{p}\n" for p in dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
                )
            cmd = [str(self.python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            cmd += ["--no-deps", *self.packages] if self.overlay else list(self.packages)
            subprocess.run(cmd, check=True, timeout=INSTALL_TIMEOUT)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        marker.write_text(self.spec)
        print(f"built client env {self.version} in {time.monotonic() - started:.0f} s", file=sys.stderr)
        return self.python


# 3.18.0's `mlflow` wheel requires `mlflow-skinny` and `mlflow-tracing` 3.18.0, which this index does not
# carry; but it holds every module of both itself (they are subsets of it), so it alone is the client.
CLIENT_318 = ClientEnv("3.18.0", ("mlflow==3.18.0",), overlay=True)
CLIENT_222 = ClientEnv("2.22.5", ("mlflow==2.22.5", "scikit-learn"), overlay=False)

# 404s the workflow meets by design: looking a name up before creating it.
EXPECTED_404 = re.compile(r"/mlflow/(experiments/get-by-name|registered-models/get)\b")
# 3.18's presigned-download attempt, answered 501 so that it downloads through the server instead.
PRESIGNED = "/api/2.0/mlflow-artifacts/presigned/"
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


@dataclass
class WorkflowResult:
    result: dict[str, str]
    tags: dict[str, str]  # the run's tags, read by the pinned client
    misses: list[str]  # access-log lines with a 404 not in EXPECTED_404, or a 5xx but the presigned 501
    presigned_probes: int


def _run_workflow(env: ClientEnv, tmp_path: Path, name: str) -> WorkflowResult:
    python = env.ensure()
    server = ServerProcess(data_dir=tmp_path / "data", extra_args=["--access-log"]).start()
    try:
        result_file = tmp_path / "result.json"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RUNYARD_"))}
        child_env.update({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "GIT_PYTHON_REFRESH": "quiet"})
        done = subprocess.run(
            [str(python), str(WORKFLOW), server.url, name, str(result_file)],
            capture_output=True,
            text=True,
            env=child_env,
            cwd=tmp_path,
            timeout=600,
        )
        log = server.log()
        misses = []
        probes = 0
        for line in log.splitlines():
            m = ACCESS_LINE.search(line)
            if not m:
                continue
            status = int(m["status"])
            if status == 501 and m["path"].startswith(PRESIGNED):
                probes += 1
            elif status >= 500 or (status == 404 and not EXPECTED_404.search(m["path"])):
                misses.append(f"{m['method']} {m['path']} {status}")
        assert done.returncode == 0, f"workflow failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}\n{log[-3000:]}"
        result = json.loads(result_file.read_text())
        assert result["client_version"] == env.version
        # Checked through the pinned client too: what the other client wrote is what this one reads.
        client = MlflowClient(tracking_uri=server.url)
        run = client.get_run(result["run_id"])
        assert run.data.params["solver"] == "lbfgs" and run.data.tags["client"] == env.version
        with httpx.Client(base_url=server.url) as http:
            info = http.get("/api/3.0/mlflow/server-info")
            assert info.status_code == 200
        return WorkflowResult(result=result, tags=dict(run.data.tags), misses=misses, presigned_probes=probes)
    finally:
        assert server.stop() == 0


def test_mlflow_318_client_workflow(tmp_path: Path) -> None:
    outcome = _run_workflow(CLIENT_318, tmp_path, "c318")
    assert outcome.misses == [], outcome.misses
    assert outcome.presigned_probes > 0  # downloads tried the presigned endpoint first, then fell back


def test_mlflow_2x_client_workflow(tmp_path: Path) -> None:
    outcome = _run_workflow(CLIENT_222, tmp_path, "c222")
    # 2.x clients record each logged model in the run's `mlflow.log-model.history` tag through
    # `POST /api/2.0/mlflow/runs/log-model` (the client only warns when that fails).
    history = outcome.tags.get("mlflow.log-model.history")
    assert history, (
        f"the run has no mlflow.log-model.history tag (POST /api/2.0/mlflow/runs/log-model): {outcome.misses}"
    )
    entries = json.loads(history)
    assert [e["artifact_path"] for e in entries] == ["model"], entries
    assert outcome.misses == [], outcome.misses
