"""`GET /api/3.0/mlflow/server-info` as the MLflow 3.18 client reads it (issue 11, item 3).

The keys and their meaning are those of `build_server_info_payload` in `mlflow/server/handlers.py`
of mlflow 3.18.0; a 3.18 client caches any answer but 200 as "every capability off" (for the
process's lifetime: `mlflow/utils/server_info.py`), and sends the `X-MLFLOW-WORKSPACE` header
on this call too, so the endpoint answers 200 whatever workspace a request names (as `mlflow
server` does: `workspace_helpers.py` exempts server-info from the workspace check).
"""

from __future__ import annotations

import httpx

from tests.conftest import ServerProcess

INFO = "/api/3.0/mlflow/server-info"

# Truthful for a server proxying a local folder without authentication.
EXPECTED = {
    "store_type": "SqlStore",
    "workspaces_enabled": True,
    "trace_archival_enabled": False,
    # Runyard accepts multipart uploads but does not ask clients to use them (no gain on a local folder).
    "multipart_uploads_enabled": False,
    # No presigned URLs: downloads, multipart or not, go through the server.
    "multipart_downloads_enabled": False,
    "artifact_serving_enabled": True,
    "presigned_upload_run_id_supported": False,
    "presigned_upload_model_id_supported": False,
    "model_artifact_presigned_downloads_supported": False,
    "features_enabled": {"gateway": False, "scheduled_issue_detection": False},
    # `mlflow server` advertises MLFLOW_SERVER_INFO_TRACKING_AUTH or "" (no authentication yet here).
    "tracking_auth": "",
    # Runyard's own key: whether the server asks for credentials (`--auth`; off on a loopback host).
    "auth_enabled": False,
    "artifacts_presigned_only": False,
}


def test_server_info_carries_the_keys_318_reads(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        for prefix in ("/api", "/ajax-api"):
            resp = http.get(INFO.replace("/api", prefix, 1))
            assert resp.status_code == 200, resp.text
            assert resp.json() == EXPECTED


def test_server_info_is_200_whatever_workspace_is_named(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url) as http:
        cases = [
            (INFO, {"X-MLFLOW-WORKSPACE": "no-such-workspace"}),
            (INFO, {"X-MLFLOW-WORKSPACE": "default"}),
            (f"/w/no-such-workspace{INFO}", {}),
            # URL and header disagree: refused on every other endpoint, but not here.
            (f"/w/default{INFO}", {"X-MLFLOW-WORKSPACE": "another"}),
        ]
        for url, headers in cases:
            resp = http.get(url, headers=headers)
            assert resp.status_code == 200, (url, headers, resp.text)
            assert resp.json() == EXPECTED
        # The rule still holds elsewhere.
        other = http.post("/w/default/api/2.0/mlflow/experiments/search", json={}, headers={"X-MLFLOW-WORKSPACE": "x"})
        assert other.status_code == 400, other.text
