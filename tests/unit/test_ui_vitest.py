"""The web UI's own unit tests (Vitest, in `ui/src/**/*.test.ts`) run as part of the suite: the
package build installed `ui/node_modules`, so `npm test` needs nothing else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[2] / "ui"


@pytest.mark.skipif(shutil.which("npm") is None, reason="Node.js (npm) is not installed")
def test_the_ui_unit_tests_pass() -> None:
    if not (UI / "node_modules").is_dir():
        pytest.fail("ui/node_modules is missing: install the package (pip install -e .) to build the UI first")
    out = subprocess.run(["npm", "test", "--silent"], cwd=UI, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, (out.stdout + out.stderr)[-6000:]
    assert "passed" in out.stdout, out.stdout[-2000:]
