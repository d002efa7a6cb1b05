"""The entry points as mlflow sees them: ours win over mlflow's own `mlflow-artifacts` repository
(entry points register after the built-ins) and hand non-Runyard tracking URIs back to it; the
store builders give mlflow's REST stores on `/w/<workspace>`. And the plugin stays a client: no
module of `runyard.plugin` imports a server module, and the modules mlflow loads while it is
imported pull in nothing but themselves."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository
from mlflow.store.model_registry.rest_store import RestStore as RegistryRestStore
from mlflow.store.tracking.rest_store import RestStore
from mlflow.tracking._model_registry.utils import _get_store_registry
from mlflow.tracking._tracking_service.utils import _tracking_store_registry

import runyard.plugin
from runyard.plugin import artifacts, stores
from runyard.plugin.artifact_repo import RunyardArtifactRepository

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


def test_mlflow_registered_the_plugin_after_its_own() -> None:
    assert _artifact_repository_registry._registry["mlflow-artifacts"] is artifacts.artifact_repository
    for scheme in ("runyard", "runyard+http"):
        assert _tracking_store_registry._registry[scheme] is stores.tracking_store
        assert _get_store_registry()._registry[scheme] is stores.registry_store  # type: ignore[no-untyped-call]


def test_the_stores_talk_to_the_workspace_url() -> None:
    tracking = _tracking_store_registry.get_store("runyard+http://127.0.0.1:5000/team")  # type: ignore[no-untyped-call]
    assert isinstance(tracking, RestStore)
    creds = tracking.get_host_creds()
    assert (creds.host, creds.auth, creds.token) == ("http://127.0.0.1:5000/w/team", "runyard", None)
    registry_stores = _get_store_registry()  # type: ignore[no-untyped-call]
    registry = registry_stores.get_store("runyard://ml.example.com/default")
    assert isinstance(registry, RegistryRestStore)
    assert registry.get_host_creds().host == "https://ml.example.com/w/default"


def test_mlflow_artifacts_under_each_kind_of_tracking_uri() -> None:
    uri = "mlflow-artifacts:/1/abc/artifacts"
    ours = artifacts.artifact_repository(uri, tracking_uri="runyard+http://127.0.0.1:5000/team")
    assert isinstance(ours, RunyardArtifactRepository)
    assert ours.artifact_uri == "http://127.0.0.1:5000/w/team/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
    assert ours._host_creds.auth == "runyard"
    theirs = artifacts.artifact_repository(uri, tracking_uri="http://127.0.0.1:5000")
    assert type(theirs) is MlflowArtifactsRepository
    assert theirs.artifact_uri == "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
    with pytest.raises(MlflowException, match="tracking URI must be a valid http or https URI"):
        artifacts.artifact_repository(uri, tracking_uri="file:///tmp/mlruns")
