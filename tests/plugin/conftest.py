"""Fixtures of the plugin tests: one live server for the session, and a clean credential
environment for the tests that run the mlflow client in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.plugin import chain
from tests.plugin.live_server import Live, live_server, missing_entry_points

CREDENTIAL_VARS = (
    "RUNYARD_CLIENT_ID",
    "RUNYARD_CLIENT_SECRET",
    "RUNYARD_TOKEN",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_AUTH",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "RUNYARD_INTERACTIVE",
)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    missing = missing_entry_points()
    if missing:
        pytest.fail(f"the installed runyard lacks the plugin's entry points {missing}: run `pip install -e .`")
    with live_server(tmp_path_factory.mktemp("plugin-live")) as world:
        yield world


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No credential in the environment, a config folder of the test's own, fresh in-memory credentials."""
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    monkeypatch.setenv("RUNYARD_CONFIG_DIR", str(config))
    monkeypatch.setenv("RUNYARD_INTERACTIVE", "0")
    chain.reset()
    yield config
    chain.reset()
