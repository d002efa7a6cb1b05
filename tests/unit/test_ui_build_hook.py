"""The package build's UI step (setup.py): without Node.js it stops with a message saying what to
install and how to skip the UI, instead of installing a server whose `/` is empty."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _build_ui(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # A PATH with nothing on it: no npm (the interpreter is named by its full path).
    return subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ui"],
        cwd=ROOT,
        env={"PATH": str(tmp_path), "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_node_the_build_stops_and_says_why(tmp_path: Path) -> None:
    out = _build_ui(tmp_path)
    assert out.returncode != 0
    assert "Node.js" in out.stderr and "RUNYARD_SKIP_UI_BUILD=1" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_ui_build_can_be_skipped(tmp_path: Path) -> None:
    out = _build_ui(tmp_path, RUNYARD_SKIP_UI_BUILD="1")
    assert out.returncode == 0, out.stderr
    assert "without the web UI" in out.stdout
