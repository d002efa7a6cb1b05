"""Deny by default, proven: every route the app serves, for every kind of caller gets the answer its
access rule implies (issue 12). Generated from the route table, so a new route without a request
here fails the test, and a route whose rule is not enforced shows up as a wrong status.

Callers (by personal access token): anonymous, a disabled user, a revoked and an expired token (401 on every non-public
route); a user of another workspace (404: the workspace is not theirs; 403 on admin routes);
reader / editor / manager (workspace-wide READ / EDIT / MANAGE: 403 below the route's level, not
401/403 at or above it); the admin (never 401/403). Bodies are minimal and valid-looking: the test
checks the authorization decision, not what the call does. Routes that change what later requests
name (deletes, renames, updates, multipart uploads, workspace administration) get fresh resources.
One `--auth on` server on SQLite.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from runyard.app import routes
from runyard.domain.access_rules import parse_rule
from runyard.domain.permissions import EDIT, MANAGE, READ
from tests.integration.auth_world import ACTOR, AuthWorld, auth_world

TEAM = "team"
OTHER = "other"
LEVELS = {"reader": READ, "editor": EDIT, "manager": MANAGE}
REFUSED = ("anonymous", "disabled", "revoked", "expired")
CALLERS = (*REFUSED, "outsider", "reader", "editor", "manager", "admin")
_counter = itertools.count()


@dataclass
class Resources:
    """What one group of requests names: an experiment with a run (a metric, a file, tags), a
    logged model, a registered model with version 1 and an alias, an open multipart upload."""

    exp: str
    exp_name: str
    run: str
    lm: str
    model: str
    upload: str
    workspace: str

    @property
    def dir(self) -> str:
        return f"{self.exp}/{self.run}/artifacts"


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), f"{response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else {}


def make_resources(world: AuthWorld, *, upload: bool = True, workspace: bool = True) -> Resources:
    n = next(_counter)
    with world.http("admin", TEAM) as http:
        name = f"/Shared/matrix/e{n}"
        exp = _ok(http.post("/api/2.0/mlflow/experiments/create", json={"name": name}))["experiment_id"]
        http.post(
            "/api/2.0/mlflow/experiments/set-experiment-tag", json={"experiment_id": exp, "key": "t", "value": "v"}
        )
        run = _ok(http.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]
        _ok(http.post("/api/2.0/mlflow/runs/log-metric", json={"run_id": run, "key": "m", "value": 1, "timestamp": 0}))
        _ok(http.post("/api/2.0/mlflow/runs/set-tag", json={"run_id": run, "key": "t", "value": "v"}))
        _ok(http.put(f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/f.txt", content=b"hello"))
        lm = _ok(http.post("/api/2.0/mlflow/logged-models", json={"experiment_id": exp}))["model"]["info"]["model_id"]
        _ok(http.patch(f"/api/2.0/mlflow/logged-models/{lm}/tags", json={"tags": [{"key": "t", "value": "v"}]}))
        model = f"mm{n}"
        _ok(http.post("/api/2.0/mlflow/registered-models/create", json={"name": model}))
        _ok(http.post("/api/2.0/mlflow/registered-models/set-tag", json={"name": model, "key": "t", "value": "v"}))
        version = {"name": model, "source": f"runs:/{run}/f.txt", "run_id": run}
        _ok(http.post("/api/2.0/mlflow/model-versions/create", json=version))
        tag = {"name": model, "version": "1", "key": "t", "value": "v"}
        _ok(http.post("/api/2.0/mlflow/model-versions/set-tag", json=tag))
        _ok(
            http.post("/api/2.0/mlflow/registered-models/alias", json={"name": model, "alias": "champ", "version": "1"})
        )
        upload_id = ""
        if upload:
            created = http.post(
                f"/api/2.0/mlflow-artifacts/mpu/create/{exp}/{run}/artifacts", json={"path": "big.bin", "num_parts": 1}
            )
            upload_id = _ok(created)["upload_id"]
    scratch = f"scratch{n}"
    if workspace:
        world.create_workspace(scratch)
    return Resources(exp, name, run, lm, model, upload_id, scratch)


@dataclass(frozen=True)
class Call:
    params: dict[str, Any] | None = None
    body: Any = None
    content: bytes | None = None
    path: dict[str, str] | None = None
    # The target lies outside every experiment (a multipart upload named by its file only): for
    # administrators alone.
    outside: bool = False
    # The route refuses everyone with 403 for a reason of its own (a feature this server lacks).
    unavailable: bool = False
    # Identity administration: the handler decides who may (an admin, the user themself, a role's
    # manager) and its own tests hold it to that; here only sign-in (401) and the admin are checked.
    self_checked: bool = False
    # The sign-in endpoint itself (public): refusing bad credentials with 401 is its job.
    sign_in: bool = False


R = Resources
Spec = Callable[[R, int], Call]


def _metric(r: R) -> dict[str, Any]:
    return {"run_id": r.run, "key": "m", "value": 2, "timestamp": 0}


def _version(r: R, **more: Any) -> dict[str, Any]:
    return {"name": r.model, "version": "1", **more}


def _graphql(r: R, _n: int) -> Call:
    query = f'query {{ mlflowGetExperiment(input: {{experimentId: "{r.exp}"}}) {{ experiment {{ name }} }} }}'
    return Call(body={"query": query})


# (method, path below the API prefix or at the root) → the request.
SPECS: dict[tuple[str, str], Spec] = {
    # Runyard's web UI (public: the page holds no data) and MLflow's at `/mlflow/`.
    ("GET", "/"): lambda r, n: Call(),
    ("GET", "/assets/{path:path}"): lambda r, n: Call(path={"path": "nothing.js"}),
    ("GET", "runyard/ui/session"): lambda r, n: Call(),
    ("GET", "/mlflow/"): lambda r, n: Call(),
    ("GET", "/health"): lambda r, n: Call(),
    ("GET", "/version"): lambda r, n: Call(),
    ("GET", "/metrics"): lambda r, n: Call(),
    ("GET", "/mlflow/static-files/{path:path}"): lambda r, n: Call(path={"path": "nothing.js"}),
    ("GET", "/get-artifact"): lambda r, n: Call(params={"run_id": r.run, "path": "f.txt"}),
    ("GET", "/model-versions/get-artifact"): lambda r, n: Call(params={"name": r.model, "version": "1", "path": "x"}),
    ("POST", "/graphql"): _graphql,
    ("GET", "mlflow-artifacts/artifacts"): lambda r, n: Call(params={"path": r.dir}),
    ("GET", "mlflow-artifacts/artifacts/{artifact_path:path}"): lambda r, n: Call(
        path={"artifact_path": f"{r.dir}/f.txt"}
    ),
    ("PUT", "mlflow-artifacts/artifacts/{artifact_path:path}"): lambda r, n: Call(
        path={"artifact_path": f"{r.dir}/up{n}.txt"}, content=b"x"
    ),
    ("DELETE", "mlflow-artifacts/artifacts/{artifact_path:path}"): lambda r, n: Call(
        path={"artifact_path": f"{r.dir}/f.txt"}
    ),
    ("GET", "mlflow-artifacts/presigned/{artifact_path:path}"): lambda r, n: Call(
        path={"artifact_path": f"{r.dir}/f.txt"}
    ),
    ("POST", "mlflow-artifacts/mpu/create"): lambda r, n: Call(body={"path": f"b{n}.bin"}, outside=True),
    ("POST", "mlflow-artifacts/mpu/create/{artifact_path:path}"): lambda r, n: Call(
        path={"artifact_path": r.dir}, body={"path": f"b{n}.bin"}
    ),
    ("POST", "mlflow-artifacts/mpu/complete"): lambda r, n: Call(
        body={"path": "big.bin", "upload_id": r.upload, "parts": []}, outside=True
    ),
    ("POST", "mlflow-artifacts/mpu/complete/{artifact_path:path}"): lambda r, n: Call(
        path={"artifact_path": r.dir}, body={"path": "big.bin", "upload_id": r.upload, "parts": []}
    ),
    ("POST", "mlflow-artifacts/mpu/abort"): lambda r, n: Call(body={"upload_id": r.upload}),
    ("POST", "mlflow-artifacts/mpu/abort/{artifact_path:path}"): lambda r, n: Call(
        path={"artifact_path": r.dir}, body={"path": "big.bin", "upload_id": r.upload}
    ),
    ("PUT", "mlflow-artifacts/mpu/part/{upload_id}/{part_number:int}"): lambda r, n: Call(
        path={"upload_id": r.upload, "part_number": "1"}, content=b"part"
    ),
    ("GET", "mlflow/artifacts/list"): lambda r, n: Call(params={"run_id": r.run}),
    ("GET", "mlflow/assistant/config"): lambda r, n: Call(),
    ("PUT", "mlflow/assistant/config"): lambda r, n: Call(body={}, unavailable=True),
    ("GET", "mlflow/assistant/providers"): lambda r, n: Call(),
    ("GET", "mlflow/gateway-proxy"): lambda r, n: Call(),
    ("POST", "mlflow/gateway-proxy"): lambda r, n: Call(body={}),
    ("POST", "mlflow/experiments/create"): lambda r, n: Call(body={"name": f"/Shared/matrix/new{n}"}),
    ("POST", "mlflow/experiments/delete"): lambda r, n: Call(body={"experiment_id": r.exp}),
    ("POST", "mlflow/experiments/restore"): lambda r, n: Call(body={"experiment_id": r.exp}),
    ("POST", "mlflow/experiments/delete-experiment-tag"): lambda r, n: Call(body={"experiment_id": r.exp, "key": "t"}),
    ("POST", "mlflow/experiments/set-experiment-tag"): lambda r, n: Call(
        body={"experiment_id": r.exp, "key": "t", "value": "v"}
    ),
    ("POST", "mlflow/experiments/update"): lambda r, n: Call(
        body={"experiment_id": r.exp, "new_name": f"/Shared/matrix/renamed{n}"}
    ),
    ("GET", "mlflow/experiments/get"): lambda r, n: Call(params={"experiment_id": r.exp}),
    ("GET", "mlflow/experiments/get-by-name"): lambda r, n: Call(params={"experiment_name": r.exp_name}),
    ("GET", "mlflow/experiments/search"): lambda r, n: Call(params={"max_results": 10}),
    ("POST", "mlflow/experiments/search"): lambda r, n: Call(body={"max_results": 10}),
    ("POST", "mlflow/experiments/search-datasets"): lambda r, n: Call(body={"experiment_ids": [r.exp]}),
    ("POST", "mlflow/logged-models"): lambda r, n: Call(body={"experiment_id": r.exp}),
    ("POST", "mlflow/logged-models/search"): lambda r, n: Call(body={"experiment_ids": [r.exp]}),
    ("GET", "mlflow/logged-models/{model_id}"): lambda r, n: Call(path={"model_id": r.lm}),
    ("PATCH", "mlflow/logged-models/{model_id}"): lambda r, n: Call(
        path={"model_id": r.lm}, body={"model_id": r.lm, "status": "LOGGED_MODEL_UPLOAD_FAILED"}
    ),
    ("DELETE", "mlflow/logged-models/{model_id}"): lambda r, n: Call(path={"model_id": r.lm}),
    ("GET", "mlflow/logged-models/{model_id}/artifacts/directories"): lambda r, n: Call(path={"model_id": r.lm}),
    ("GET", "mlflow/logged-models/{model_id}/artifacts/files"): lambda r, n: Call(
        path={"model_id": r.lm}, params={"artifact_file_path": "x.txt"}
    ),
    ("POST", "mlflow/logged-models/{model_id}/params"): lambda r, n: Call(
        path={"model_id": r.lm}, body={"model_id": r.lm, "params": [{"key": f"p{n}", "value": "v"}]}
    ),
    ("PATCH", "mlflow/logged-models/{model_id}/tags"): lambda r, n: Call(
        path={"model_id": r.lm}, body={"model_id": r.lm, "tags": [{"key": "t", "value": "v"}]}
    ),
    ("DELETE", "mlflow/logged-models/{model_id}/tags/{tag_key:path}"): lambda r, n: Call(
        path={"model_id": r.lm, "tag_key": "t"}
    ),
    ("GET", "mlflow/metrics/get-history"): lambda r, n: Call(params={"run_id": r.run, "metric_key": "m"}),
    ("GET", "mlflow/metrics/get-history-bulk"): lambda r, n: Call(params={"run_id": r.run, "metric_key": "m"}),
    ("GET", "mlflow/metrics/get-history-bulk-interval"): lambda r, n: Call(
        params={"run_ids": r.run, "metric_key": "m", "max_results": 10}
    ),
    ("GET", "runyard/metrics/downsampled"): lambda r, n: Call(params={"run_id": r.run, "metric_key": "m"}),
    ("POST", "mlflow/model-versions/create"): lambda r, n: Call(
        body={"name": r.model, "source": f"runs:/{r.run}/f.txt", "run_id": r.run}
    ),
    ("DELETE", "mlflow/model-versions/delete"): lambda r, n: Call(body=_version(r)),
    ("DELETE", "mlflow/model-versions/delete-tag"): lambda r, n: Call(body=_version(r, key="t")),
    ("GET", "mlflow/model-versions/get"): lambda r, n: Call(params=_version(r)),
    ("GET", "mlflow/model-versions/get-download-uri"): lambda r, n: Call(params=_version(r)),
    ("GET", "mlflow/model-versions/search"): lambda r, n: Call(params={"max_results": 10}),
    ("POST", "mlflow/model-versions/set-tag"): lambda r, n: Call(body=_version(r, key="t", value="v")),
    ("POST", "mlflow/model-versions/transition-stage"): lambda r, n: Call(
        body=_version(r, stage="Staging", archive_existing_versions=False)
    ),
    ("PATCH", "mlflow/model-versions/update"): lambda r, n: Call(body=_version(r, description="d")),
    ("DELETE", "mlflow/registered-models/alias"): lambda r, n: Call(body={"name": r.model, "alias": "champ"}),
    ("GET", "mlflow/registered-models/alias"): lambda r, n: Call(params={"name": r.model, "alias": "champ"}),
    ("POST", "mlflow/registered-models/alias"): lambda r, n: Call(
        body={"name": r.model, "alias": "champ", "version": "1"}
    ),
    ("POST", "mlflow/registered-models/create"): lambda r, n: Call(body={"name": f"new-model-{n}"}),
    ("DELETE", "mlflow/registered-models/delete"): lambda r, n: Call(body={"name": r.model}),
    ("DELETE", "mlflow/registered-models/delete-tag"): lambda r, n: Call(body={"name": r.model, "key": "t"}),
    ("GET", "mlflow/registered-models/get"): lambda r, n: Call(params={"name": r.model}),
    ("GET", "mlflow/registered-models/get-latest-versions"): lambda r, n: Call(params={"name": r.model}),
    ("POST", "mlflow/registered-models/get-latest-versions"): lambda r, n: Call(body={"name": r.model}),
    ("POST", "mlflow/registered-models/rename"): lambda r, n: Call(
        body={"name": r.model, "new_name": f"{r.model}-{n}"}
    ),
    ("GET", "mlflow/registered-models/search"): lambda r, n: Call(params={"max_results": 10}),
    ("POST", "mlflow/registered-models/set-tag"): lambda r, n: Call(body={"name": r.model, "key": "t", "value": "v"}),
    ("PATCH", "mlflow/registered-models/update"): lambda r, n: Call(body={"name": r.model, "description": "d"}),
    ("POST", "mlflow/runs/create"): lambda r, n: Call(body={"experiment_id": r.exp}),
    ("POST", "mlflow/runs/delete"): lambda r, n: Call(body={"run_id": r.run}),
    ("POST", "mlflow/runs/restore"): lambda r, n: Call(body={"run_id": r.run}),
    ("POST", "mlflow/runs/delete-tag"): lambda r, n: Call(body={"run_id": r.run, "key": "t"}),
    ("GET", "mlflow/runs/get"): lambda r, n: Call(params={"run_id": r.run}),
    ("POST", "mlflow/runs/log-batch"): lambda r, n: Call(
        body={"run_id": r.run, "metrics": [{"key": "m", "value": 1, "timestamp": 0, "step": 0}]}
    ),
    ("POST", "mlflow/runs/log-inputs"): lambda r, n: Call(
        body={
            "run_id": r.run,
            "datasets": [{"dataset": {"name": "d", "digest": "x", "source_type": "local", "source": "s"}}],
        }
    ),
    ("POST", "mlflow/runs/log-metric"): lambda r, n: Call(body=_metric(r)),
    ("POST", "mlflow/runs/log-model"): lambda r, n: Call(
        body={
            "run_id": r.run,
            "model_json": json.dumps(
                {"artifact_path": "m", "flavors": {}, "run_id": r.run, "utc_time_created": "2024-01-01 00:00:00.000000"}
            ),
        }
    ),
    ("POST", "mlflow/runs/log-parameter"): lambda r, n: Call(body={"run_id": r.run, "key": f"p{n}", "value": "v"}),
    ("POST", "mlflow/runs/outputs"): lambda r, n: Call(
        body={"run_id": r.run, "models": [{"model_id": r.lm, "step": 0}]}
    ),
    ("POST", "mlflow/runs/search"): lambda r, n: Call(body={"experiment_ids": [r.exp]}),
    ("POST", "mlflow/runs/set-tag"): lambda r, n: Call(body={"run_id": r.run, "key": "t", "value": "v"}),
    ("POST", "mlflow/runs/update"): lambda r, n: Call(body={"run_id": r.run, "status": "RUNNING"}),
    ("GET", "mlflow/server-info"): lambda r, n: Call(),
    ("POST", "mlflow/upload-artifact"): lambda r, n: Call(
        params={"run_uuid": r.run, "path": f"u{n}.txt"}, content=b"x"
    ),
    ("POST", "mlflow/workspaces"): lambda r, n: Call(body={"name": f"new-ws-{n}"}),
    ("GET", "mlflow/workspaces"): lambda r, n: Call(),
    ("GET", "mlflow/workspaces/{workspace_name}"): lambda r, n: Call(path={"workspace_name": TEAM}),
    ("PATCH", "mlflow/workspaces/{workspace_name}"): lambda r, n: Call(
        path={"workspace_name": r.workspace}, body={"description": "d"}
    ),
    ("DELETE", "mlflow/workspaces/{workspace_name}"): lambda r, n: Call(path={"workspace_name": r.workspace}),
}


def _identity(**values: Any) -> Spec:
    def spec(r: R, n: int) -> Call:
        filled = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in values.items()}
        return Call(params=filled, self_checked=True)

    return spec


def _identity_body(**values: Any) -> Spec:
    def spec(r: R, n: int) -> Call:
        filled = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in values.items()}
        return Call(body=filled, self_checked=True)

    return spec


# Nothing here names a real user or role, so no request changes who the other callers are.
SPECS.update(
    {
        ("POST", "mlflow/users/create"): _identity_body(username="new-user-{n}", password="a-long-password-{n}"),
        ("GET", "mlflow/users/get"): _identity(username="reader"),
        ("GET", "mlflow/users/current"): _identity(),
        ("GET", "mlflow/users/list"): _identity(),
        ("PATCH", "mlflow/users/update-password"): _identity_body(username="nobody-{n}", password="a-long-password-x"),
        ("PATCH", "mlflow/users/update-admin"): _identity_body(username="nobody-{n}", is_admin=False),
        ("DELETE", "mlflow/users/delete"): _identity_body(username="nobody-{n}"),
        ("POST", "mlflow/roles/create"): _identity_body(name="role-{n}", workspace=OTHER),
        ("GET", "mlflow/roles/get"): _identity(role_id="999999"),
        ("GET", "mlflow/roles/list"): _identity(workspace=TEAM),
        ("PATCH", "mlflow/roles/update"): _identity_body(role_id="999999", name="x"),
        ("DELETE", "mlflow/roles/delete"): _identity_body(role_id="999999"),
        ("POST", "mlflow/roles/permissions/add"): _identity_body(
            role_id="999999", resource_type="experiment", resource_pattern="*", permission="READ"
        ),
        ("DELETE", "mlflow/roles/permissions/remove"): _identity_body(role_permission_id="999999"),
        ("GET", "mlflow/roles/permissions/list"): _identity(role_id="999999"),
        ("PATCH", "mlflow/roles/permissions/update"): _identity_body(role_permission_id="999999", permission="READ"),
        ("POST", "mlflow/roles/assign"): _identity_body(role_id="999999", username="nobody-{n}"),
        ("DELETE", "mlflow/roles/unassign"): _identity_body(role_id="999999", username="nobody-{n}"),
        ("GET", "mlflow/roles/users/list"): _identity(role_id="999999"),
        ("GET", "mlflow/users/roles/list"): _identity(username="reader"),
        ("POST", "mlflow/users/permissions/grant"): _identity_body(
            username="nobody-{n}", workspace=OTHER, resource_type="experiment", resource_pattern="1", permission="READ"
        ),
        ("POST", "mlflow/users/permissions/revoke"): _identity_body(
            username="nobody-{n}", workspace=OTHER, resource_type="experiment", resource_pattern="1"
        ),
        ("GET", "mlflow/users/permissions/get"): _identity(
            username="reader", workspace=TEAM, resource_type="experiment", resource_pattern="1"
        ),
        ("GET", "mlflow/users/permissions/list"): _identity(username="reader"),
        ("GET", "mlflow/users/current/permissions"): _identity(),
        ("POST", "/oauth/token"): lambda r, n: Call(sign_in=True),
        # The rest of the OAuth provider and its pages: public, each authenticating what it needs
        # (tests/integration/test_oauth_flows.py holds them to their rules).
        **{
            route: (lambda r, n: Call(sign_in=True))
            for route in [
                ("GET", "/.well-known/oauth-authorization-server"),
                ("GET", "/.well-known/openid-configuration"),
                ("GET", "/oauth/jwks"),
                ("GET", "/oauth/userinfo"),
                ("POST", "/oauth/device_authorization"),
                ("POST", "/oauth/revoke"),
                ("GET", "/oauth/authorize"),
                ("GET", "/login"),
                ("POST", "/login"),
                ("POST", "/logout"),
                # Single sign-on (tests/integration/test_sso.py): 404 here, no upstream is configured.
                ("GET", "/login/sso"),
                ("GET", "/login/sso/callback"),
                ("GET", "/device"),
                ("POST", "/device"),
            ]
        },
        ("GET", "runyard/tokens"): _identity(),
        ("POST", "runyard/tokens"): _identity_body(name="matrix-{n}"),
        ("DELETE", "runyard/tokens/{token_id}"): lambda r, n: Call(path={"token_id": "nothing"}, self_checked=True),
        ("GET", "runyard/audit-events"): lambda r, n: Call(),
        ("GET", "runyard/mirror/info"): lambda r, n: Call(),
        ("POST", "runyard/mirror/runs/import"): lambda r, n: Call(
            body={"experiment_id": r.exp, "run_id": f"{n:032x}", "source_url": "http://source.example"}
        ),
        # Mirror links: MANAGE on the workspace (links to other servers: administrators, which the
        # handler decides from the body; tests/integration/test_mirror_api.py holds it to that).
        ("GET", "runyard/workspaces/{workspace}/links"): lambda r, n: Call(path={"workspace": TEAM}),
        ("POST", "runyard/workspaces/{workspace}/links"): lambda r, n: Call(
            path={"workspace": TEAM}, body={"target_url": "http://127.0.0.1:9"}, self_checked=True
        ),
        **{
            (method, f"runyard/workspaces/{{workspace}}/links/{{name}}{suffix}"): (
                lambda r, n: Call(path={"workspace": TEAM, "name": "nothing"})
            )
            for method, suffix in (
                ("GET", ""),
                ("DELETE", ""),
                ("POST", "/pause"),
                ("POST", "/resume"),
                ("POST", "/retry"),
            )
        },
        ("POST", "runyard/mirror/logged-models/import"): lambda r, n: Call(
            body={"experiment_id": r.exp, "model_id": f"m-{n:032x}", "source_url": "http://source.example"}
        ),
    }
)

_PREFIXES = ("/api/2.0/", "/ajax-api/2.0/", "/api/3.0/", "/ajax-api/3.0/")
MLFLOW_UI_PREFIX = "/mlflow"


def served_routes(table: list[BaseRoute], prefix: str = "") -> list[tuple[str, Route]]:
    """(full path, route) of every route, those inside mounts (the MLflow UI at `/mlflow/`) included."""
    out: list[tuple[str, Route]] = []
    for r in table:
        if isinstance(r, Mount):
            out += served_routes(list(r.routes), prefix + r.path)
        elif isinstance(r, Route):
            out.append((prefix + r.path, r))
    return out


def _key(path: str) -> str:
    # Below the MLflow UI's prefix, everything but the UI's own page and files is a twin of a route
    # at the root (the page calls the API relative to itself).
    own = (f"{MLFLOW_UI_PREFIX}/", f"{MLFLOW_UI_PREFIX}/static-files/")
    if path.startswith(f"{MLFLOW_UI_PREFIX}/") and path != own[0] and not path.startswith(own[1]):
        path = path[len(MLFLOW_UI_PREFIX) :]
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def matrix_routes(*, twins: bool = True) -> list[tuple[str, str, str]]:
    """(method, path template, rule) of every route the app serves. `twins=False`: one of the routes
    that serve one endpoint under several prefixes (the same handler, wrapped once with its rule)."""
    out = []
    seen: set[tuple[str, int]] = set()
    for path, route in served_routes(routes()):
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            if not twins and (method, id(route.endpoint)) in seen:
                continue
            seen.add((method, id(route.endpoint)))
            out.append((method, path, str(route.access)))  # type: ignore[attr-defined]
    return out


def test_prefix_twins_share_one_checked_handler() -> None:
    """What lets the matrix send one request per endpoint: every twin of a route is the very same
    wrapped handler, so it applies the very same rule."""
    by_key: dict[tuple[str, str], set[int]] = {}
    for path, route in served_routes(routes()):
        for method in route.methods or ():
            by_key.setdefault((method, _key(path)), set()).add(id(route.endpoint))
    assert all(len(ids) == 1 for ids in by_key.values())


def test_every_route_has_a_request_in_the_matrix() -> None:
    missing = sorted({(m, _key(p)) for m, p, _ in matrix_routes()} - set(SPECS))
    assert missing == []


def _fresh(method: str, path: str, rule: str) -> bool:
    """Whether the route changes what later requests name (so it gets resources of its own)."""
    parsed = parse_rule(rule)
    return (
        parsed.level >= MANAGE
        or any(word in path for word in ("rename", "update", "/mpu/", "{workspace_name}"))
        or (method == "PATCH" and "logged-models/{model_id}" in path and not path.endswith("tags"))
    )


def _url(template: str, values: dict[str, str] | None) -> str:
    url = template
    for name, value in (values or {}).items():
        url = url.replace(f"{{{name}:path}}", value).replace(f"{{{name}:int}}", value).replace(f"{{{name}}}", value)
    assert "{" not in url, url
    return url


def expected(caller: str, rule: str, call: Call) -> str:
    """'ok' (neither 401 nor 403), or the status the caller must get."""
    parsed = parse_rule(rule)
    if parsed.public:
        return "ok"
    if caller in REFUSED:
        return "401"
    if caller == "admin":
        return "ok"
    if parsed.admin:
        return "403"
    kind, _, action = rule.partition(":")
    if caller == "outsider":
        # The workspace named by the request is not theirs: it does not exist for them.
        return "404" if kind not in ("mlflow-ui",) and rule not in ("authenticated", "workspace:list") else "ok"
    if rule == "authenticated" or kind == "mlflow-ui" or action in ("list", "create"):
        return "ok"
    if call.outside:
        return "403"
    return "ok" if LEVELS[caller] >= parsed.level else "403"


@dataclass
class Callers:
    world: AuthWorld
    clients: dict[str, httpx.Client]


@pytest.fixture(scope="module")
def callers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callers]:
    with auth_world(tmp_path_factory.mktemp("matrix")) as world:
        world.create_workspace(TEAM, "path")
        world.create_workspace(OTHER)
        for name, level in (("reader", "READ"), ("editor", "EDIT"), ("manager", "MANAGE")):
            world.user(name)
            world.grant(name, TEAM, "workspace", "*", level)
        world.user("outsider")
        world.grant("outsider", OTHER, "workspace", "*", "MANAGE")
        world.user("disabled")
        world.grant("disabled", TEAM, "workspace", "*", "MANAGE")
        disabled = world.token("disabled")
        world.identity.accounts.set_enabled(ACTOR, "disabled", False)
        world.user("holder")
        world.grant("holder", TEAM, "workspace", "*", "MANAGE")
        revoked = world.identity.accounts.create_token(ACTOR, "holder", "revoked", None)
        world.identity.accounts.revoke_token(ACTOR, revoked.id)
        expired = world.token("holder", expires_at=int(time.time() * 1000) + 1000)
        clients = {
            "anonymous": world.http(None, TEAM),
            "disabled": world.bearer(disabled, TEAM),
            "revoked": world.bearer(revoked.token, TEAM),
            "expired": world.bearer(expired, TEAM),
            # Personal access tokens (a password check per request would dominate the test's time;
            # passwords are the other tests' business).
            **{
                name: world.bearer(world.token(name), TEAM)
                for name in ("outsider", "reader", "editor", "manager", "admin")
            },
        }
        time.sleep(1.1)
        try:
            yield Callers(world, clients)
        finally:
            for client in clients.values():
                client.close()


def test_every_route_answers_every_caller_as_its_rule_says(callers: Callers, tmp_path: Path) -> None:
    shared = make_resources(callers.world)
    wrong: list[str] = []
    for method, template, rule in matrix_routes(twins=False):
        spec = SPECS[(method, _key(template))]
        if _fresh(method, template, rule):
            resources = make_resources(
                callers.world, upload="/mpu/" in template, workspace="{workspace_name}" in template
            )
        else:
            resources = shared
        for caller in CALLERS:
            call = spec(resources, next(_counter))
            response = callers.clients[caller].request(
                method,
                _url(template, call.path),
                params=call.params,
                json=call.body if call.content is None else None,
                content=call.content,
            )
            want = expected(caller, rule, call)
            status = response.status_code
            if call.sign_in:
                good = True
            elif call.self_checked and want != "401" and caller != "admin":
                good = status != 401
            elif want == "ok" and call.unavailable and status == 403:
                good = "Permission denied" not in response.text and "not available" in response.text
            else:
                good = status not in (401, 403) if want == "ok" else str(status) == want
            if not good:
                wrong.append(
                    f"{method} {template} [{rule}] as {caller}: {status}, expected {want}: {response.text[:160]}"
                )
    assert wrong == [], "\n".join(wrong)
