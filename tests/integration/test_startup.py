"""What a new user hits first, as real processes: refusals at start-up are short, leave no trace and
exit non-zero; a foreign database stays bit for bit; the printed lines, logs and Ctrl-C are clean."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import MLFLOW_SERVER_VARS, ServerProcess, free_port


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_") and k not in MLFLOW_SERVER_VARS}
    # The commands run in a scratch folder: a relative PYTHONPATH (`PYTHONPATH=src`) must still find this code.
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep))
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runyard", *args], capture_output=True, text=True, cwd=cwd, env=_env(), timeout=timeout
    )


def assert_short_refusal(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Non-zero exit, at most 5 lines in all, no traceback, no 'serving on' line; returns the text."""
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "Traceback" not in text
    assert "ERROR" not in text
    assert "serving on" not in text
    assert len(text.strip().splitlines()) <= 5, text
    for needle in needles:
        assert needle in text, text
    return text


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- 14: artifact destinations --------------------------------------------------------------------


@pytest.mark.parametrize("dest", ["ftp://host/prefix", "gs://b/p", "http://example.com/a"])
def test_unsupported_artifact_destination_is_refused_in_one_line(tmp_path: Path, dest: str) -> None:
    out = run_cli("server", "--port", str(free_port()), "--artifacts-destination", dest, cwd=tmp_path, timeout=30)
    text = assert_short_refusal(out, "not supported", "--artifacts-destination")
    assert len(text.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no `gs:` folder, no data folder


# --- 15: start-up ----------------------------------------------------------------------------------


def test_busy_port_is_a_one_line_error_before_anything_is_written(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_cli("server", "--port", str(port), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert_short_refusal(out, "already in use", str(port))
    assert not (tmp_path / "data").exists()


def test_unreachable_postgres_is_a_short_message_without_the_password(tmp_path: Path) -> None:
    uri = "postgresql://runyard:hunter2secret@127.0.0.1:1/nothing"
    out = run_cli("server", "--port", str(free_port()), "--backend-store-uri", uri, cwd=tmp_path)
    text = assert_short_refusal(out, "Cannot connect", "127.0.0.1:1", "***")
    assert "hunter2secret" not in text


def test_unknown_database_scheme_is_a_short_message(tmp_path: Path) -> None:
    uri = "mysql://root:hunter2secret@127.0.0.1/mlflow"
    out = run_cli("server", "--port", str(free_port()), "--backend-store-uri", uri, cwd=tmp_path)
    text = assert_short_refusal(out, "mysql", "not supported")
    assert "hunter2secret" not in text


def test_an_mlflow_database_is_refused_and_left_bit_for_bit_untouched(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    db_file = tmp_path / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db_file}").create_experiment("theirs")
    before = sha256(db_file)
    files_before = sorted(p.name for p in tmp_path.iterdir())
    uri = f"sqlite:///{db_file}"
    for args in (
        ("server", "--port", str(free_port()), "--backend-store-uri", uri, "--data-dir", str(tmp_path / "data")),
        ("db", "upgrade", "--backend-store-uri", uri),
        ("workspace", "create", "w", "--backend-store-uri", uri, "--data-dir", str(tmp_path / "data")),
        ("workspace", "list", "--backend-store-uri", uri, "--data-dir", str(tmp_path / "data")),
    ):
        assert_short_refusal(run_cli(*args, cwd=tmp_path), "MLflow database", "untouched")
        assert sha256(db_file) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == files_before  # no -wal, -shm, data folder


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    db_file = tmp_path / "notes.db"
    db_file.write_bytes(b"these are my notes, not a database\n" * 200)
    before = sha256(db_file)
    out = run_cli("server", "--port", str(free_port()), "--backend-store-uri", f"sqlite:///{db_file}", cwd=tmp_path)
    assert_short_refusal(out, "cannot be read as an SQLite database")
    assert sha256(db_file) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_startup_lines_name_the_stores_and_mask_the_password(
    tmp_path: Path, postgres_database_factory: Callable[[], str]
) -> None:
    url = postgres_database_factory()
    with_password = url.replace("postgres@", "postgres:hunter2secret@", 1)  # trust auth ignores it
    server = ServerProcess(data_dir=tmp_path / "data", backend_store_uri=with_password).start()
    try:
        log = server.log()
        assert "hunter2secret" not in log
        assert re.search(r"database postgresql://postgres:\*\*\*@127\.0\.0\.1:5432/runyard_test_", log), log
        assert f"artifacts: local folder {(tmp_path / 'data' / 'artifacts').resolve()}" in log
    finally:
        assert server.stop() == 0


# --- 16: read-only commands -------------------------------------------------------------------------


def test_workspace_list_and_show_create_no_database(tmp_path: Path) -> None:
    for args in (("workspace", "list"), ("workspace", "show", "default")):
        assert_short_refusal(run_cli(*args, cwd=tmp_path), "no Runyard database")
    assert list(tmp_path.iterdir()) == []  # no ./runyard-data
    created = run_cli("workspace", "create", "research", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    listed = run_cli("workspace", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "research" in listed.stdout


# --- 17: logging and Ctrl-C --------------------------------------------------------------------------

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ", re.M)


def test_access_log_is_off_by_default_and_one_line_per_request_when_on(tmp_path: Path) -> None:
    for flags, expected in (([], 0), (["--access-log"], 3)):
        server = ServerProcess(data_dir=tmp_path / f"d{expected}", extra_args=flags).start()
        try:
            with httpx.Client(base_url=server.url) as http:
                for _ in range(3):
                    assert http.get("/version").status_code == 200
        finally:
            assert server.stop() == 0
        log = server.log()
        assert log.count('"GET /version HTTP/1.1" 200') == expected, log
        assert LOG_LINE.search(log), log  # time, level, logger


def test_log_level_warning_silences_the_info_lines(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "d", extra_args=["--log-level", "warning"]).start()
    assert server.stop() == 0
    assert " INFO " not in server.log()
    assert "serving on" in server.log()  # the start-up lines are not log lines


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_cleanly_with_one_line(tmp_path: Path, workers: int) -> None:
    server = ServerProcess(data_dir=tmp_path / "d", workers=workers).start()
    assert server.stop(signal.SIGINT) == 0  # to the whole process group, as a terminal does
    log = server.log()
    assert "Runyard stopped (SIGINT)." in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log


# --- 18: mlflow server habits --------------------------------------------------------------------------


def test_mlflow_variables_and_default_artifact_root_configure_the_server(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "d", workers=2)
    server.extra_env = {
        "MLFLOW_DEFAULT_ARTIFACT_ROOT": str(tmp_path / "mlruns"),
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{tmp_path / 'their.db'}",
    }
    server.start()
    try:
        with httpx.Client(base_url=server.url) as http:
            assert http.put("/api/2.0/mlflow-artifacts/artifacts/e/x.txt", content=b"hi").status_code == 200
            exp = http.post("/api/2.0/mlflow/experiments/create", json={"name": "habits"}).json()["experiment_id"]
            got = http.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": exp}).json()
        assert (tmp_path / "mlruns" / "workspaces" / "default" / "e" / "x.txt").read_bytes() == b"hi"
        assert got["experiment"]["artifact_location"].startswith("mlflow-artifacts:/")
        assert (tmp_path / "their.db").exists()
    finally:
        assert server.stop() == 0
    assert "2 worker processes" in server.log()


def test_help_shows_each_flags_environment_variables(tmp_path: Path) -> None:
    text = run_cli("server", "--help", cwd=tmp_path).stdout
    flat = " ".join(text.split())
    for shown in (
        "-h, --host",
        "-p, --port",
        "-w, --workers",
        "--default-artifact-root",
        "--log-level",
        "--access-log",
        "RUNYARD_HOST, MLFLOW_HOST",
        "RUNYARD_PORT, MLFLOW_PORT",
        "RUNYARD_WORKERS, MLFLOW_WORKERS",
        "RUNYARD_BACKEND_STORE_URI, MLFLOW_BACKEND_STORE_URI",
        "RUNYARD_ARTIFACTS_DESTINATION, MLFLOW_ARTIFACTS_DESTINATION",
        "MLFLOW_DEFAULT_ARTIFACT_ROOT",
        "RUNYARD_LOG_LEVEL",
        "RUNYARD_ACCESS_LOG",
    ):
        assert shown in flat, shown
    assert flat.count("[env var:") >= 11
