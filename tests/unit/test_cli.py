"""`runyard server`'s flags and variables reach the Settings: short flags, `MLFLOW_*` names, `RUNYARD_*`
winning over them, `--default-artifact-root`; and the logging set-up the server applies."""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path

import pytest
from click.testing import CliRunner

from runyard import server as server_module
from runyard.cli import main
from runyard.config import Settings


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    seen: list[Settings] = []
    monkeypatch.setattr(server_module, "serve", seen.append)
    return seen


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    # Variables not named here must not leak in from the test's own environment.
    names = ("HOST", "PORT", "WORKERS", "BACKEND_STORE_URI", "ARTIFACTS_DESTINATION", "DEFAULT_ARTIFACT_ROOT")
    base: dict[str, str | None] = {f"{p}_{n}": None for p in ("RUNYARD", "MLFLOW") for n in names}
    base.update(env or {})
    result = CliRunner().invoke(main, args, env=base)
    return result.exit_code, result.output


def test_short_flags_as_mlflow_server_has_them(captured: list[Settings]) -> None:
    code, out = invoke(["server", "-h", "0.0.0.0", "-p", "5123", "-w", "3"])
    assert code == 0, out
    assert (captured[0].host, captured[0].port, captured[0].workers) == ("0.0.0.0", 5123, 3)


def test_mlflow_variables_are_read_and_runyard_ones_win(captured: list[Settings], tmp_path: Path) -> None:
    env = {
        "MLFLOW_HOST": "::",
        "MLFLOW_PORT": "6001",
        "MLFLOW_WORKERS": "2",
        "MLFLOW_BACKEND_STORE_URI": "postgresql://mlflow@h/db",
        "MLFLOW_ARTIFACTS_DESTINATION": str(tmp_path / "m"),
        "RUNYARD_PORT": "6002",
        "RUNYARD_BACKEND_STORE_URI": "sqlite:////r.db",
    }
    code, out = invoke(["server"], env)
    assert code == 0, out
    s = captured[0]
    assert (s.host, s.port, s.workers) == ("::", 6002, 2)
    assert s.backend_store_uri == "sqlite:////r.db"
    assert s.artifacts_destination == str(tmp_path / "m")
    code, _ = invoke(["server", "--port", "6003"], env)
    assert captured[1].port == 6003  # the command line beats both


def test_default_artifact_root_is_the_destination(captured: list[Settings], tmp_path: Path) -> None:
    code, out = invoke(["server", "--default-artifact-root", str(tmp_path / "mlruns")])
    assert code == 0, out
    assert captured[0].artifact_root == str(tmp_path / "mlruns")
    code, out = invoke(["server", "--default-artifact-root", "mlflow-artifacts:/"])
    assert code == 0 and captured[1].artifacts_destination is None
    env = {"MLFLOW_DEFAULT_ARTIFACT_ROOT": str(tmp_path / "x"), "RUNYARD_ARTIFACTS_DESTINATION": str(tmp_path / "y")}
    code, out = invoke(["server"], env)
    assert code == 0 and captured[2].artifacts_destination == str(tmp_path / "y")
    code, out = invoke(["server", "--artifacts-destination", "/a", "--default-artifact-root", "/b"])
    assert code == 1 and "different folders" in out


def test_log_options(captured: list[Settings]) -> None:
    code, out = invoke(["server", "--log-level", "WARNING", "--access-log"])
    assert code == 0, out
    assert (captured[0].log_level, captured[0].access_log) == ("warning", True)
    code, out = invoke(["server"], {"RUNYARD_ACCESS_LOG": "true", "RUNYARD_LOG_LEVEL": "debug"})
    assert (captured[1].log_level, captured[1].access_log) == ("debug", True)
    code, out = invoke(["server", "--log-level", "chatty"])
    assert code == 2


def test_refusals_are_one_error_line(captured: list[Settings]) -> None:
    code, out = invoke(["server", "--artifacts-destination", "gs://bucket/prefix"])
    assert code == 1
    assert out.count("\n") == 1 and out.startswith("Error: ") and "'gs:' artifact stores are not supported" in out
    assert captured == []


def test_runyard_loggers_are_configured(capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(server_module.logging_config(Settings(log_level="warning")))
    try:
        logging.getLogger("runyard.api").info("hidden")
        logging.getLogger("runyard.store.point_writer").warning("shown %d", 7)
        err = capsys.readouterr().err
        assert "hidden" not in err
        line = err.strip().splitlines()[-1]
        assert line.endswith("WARNING runyard.store.point_writer: shown 7")
        assert line[:4].isdigit()  # starts with the time
        assert logging.getLogger("runyard.access").level == logging.WARNING  # access log off
        logging.config.dictConfig(server_module.logging_config(Settings(log_level="error", access_log=True)))
        assert logging.getLogger("runyard.access").level == logging.INFO  # on, whatever --log-level says
    finally:
        for name in ("runyard", "runyard.access", "uvicorn", "uvicorn.access"):
            logging.getLogger(name).handlers.clear()
            logging.getLogger(name).propagate = True
            logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_all_interfaces_prints_the_machine_name_not_loopback(host: str) -> None:
    # Checked on the start-up lines themselves: tests bind 127.0.0.1 only, never all interfaces.
    import socket

    line = server_module.startup_lines(Settings(host=host, port=5123))[-1]
    assert "all interfaces" in line
    assert f"MLFLOW_TRACKING_URI=http://{socket.gethostname()}:5123" in line
    assert "127.0.0.1" not in line
