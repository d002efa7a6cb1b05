"""The README's promises to a new reader: its quick-start snippet runs as written against a live
server, the LICENSE the package declares is there, and no file points at documents not in the repo."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def quick_start_snippet() -> str:
    section = README.split("## Point MLflow at it", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python snippet in 'Point MLflow at it'"
    return match.group(1)


def test_the_quick_start_snippet_runs_as_written(tmp_path: Path) -> None:
    assert "pip install mlflow" in README
    server = ServerProcess(data_dir=tmp_path / "data").start()
    try:
        work = tmp_path / "reader"
        work.mkdir()
        env = {"MLFLOW_TRACKING_URI": server.url, "PATH": "/usr/bin:/bin", "GIT_PYTHON_REFRESH": "quiet"}
        out = subprocess.run(
            [sys.executable, "-c", quick_start_snippet()],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        with httpx.Client(base_url=server.url) as http:
            exp = http.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "iris-classifier"})
            exp_id = exp.json()["experiment"]["experiment_id"]
            runs = http.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [exp_id]}).json()["runs"]
            assert len(runs) == 1
        from mlflow.tracking import MlflowClient

        listed = MlflowClient(tracking_uri=server.url).list_artifacts(runs[0]["info"]["run_id"])
        assert [f.path for f in listed] == ["notes.txt"]
    finally:
        assert server.stop() == 0


def test_the_readme_is_current() -> None:
    first_paragraph = README.split("\n\n", 2)[1]
    assert "(next)" not in first_paragraph and "model\nregistry" in first_paragraph
    section = README.split("## Not implemented yet", 1)[1].split("\n## ", 1)[0]
    for item in ("Tracing", "web UI", "Google Cloud Storage"):
        assert item in section
    assert "Browser sign-in" not in section
    assert "\n## Identity and access\n" in README and "\n## Signing in: browser, device, jobs\n" in README
    for flag in ("--log-level", "--access-log", "--default-artifact-root", "MLFLOW_HOST", "`-h`", "`-p`", "`-w`"):
        assert flag in README
    for flag in ("## Artifacts in S3", "AWS_ENDPOINT_URL", "s3:AbortMultipartUpload", "--stale-upload-seconds"):
        assert flag in README


def test_the_license_the_package_declares_is_there() -> None:
    assert 'license = { text = "Apache-2.0" }' in (ROOT / "pyproject.toml").read_text()
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_no_file_refers_to_a_design_document_that_is_not_in_the_repo() -> None:
    assert not (ROOT / "DESIGN.md").exists()
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = [f for f in files if (ROOT / f).is_file() and "DESIGN.md" in (ROOT / f).read_text(errors="ignore")]
    assert offenders == [f for f in offenders if f.endswith("test_readme.py")]
