"""The plugin stays a client: no module of `runyard.plugin` imports a server module, and the
modules mlflow loads through entry points while it is imported pull in nothing but themselves."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import runyard.plugin

PLUGIN = Path(runyard.plugin.__file__).parent
ALLOWED_THIRD_PARTY = {"requests", "mlflow", "platformdirs", "click"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_plugin_module_imports_the_server() -> None:
    stdlib = sys.stdlib_module_names
    for path in sorted(PLUGIN.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith("runyard"):
                assert name == "runyard" or name.startswith("runyard.plugin"), f"{path.name} imports {name}"
            else:
                assert top in stdlib or top in ALLOWED_THIRD_PARTY or top == "__future__", f"{path.name}: {name}"


def test_mlflow_loads_only_the_light_entry_point_modules() -> None:
    probe = (
        "import sys, json, mlflow\n"
        "import mlflow.tracking._tracking_service.utils, mlflow.tracking._model_registry.utils\n"
        "import mlflow.store.artifact.artifact_repository_registry\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('runyard') or m == 'platformdirs')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(done.stdout))
    assert loaded <= {"runyard", "runyard.plugin", "runyard.plugin.stores", "runyard.plugin.artifacts"}, loaded
    assert "runyard.plugin.stores" in loaded  # the entry points are installed and registered
