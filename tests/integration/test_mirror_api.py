"""Mirror administration over HTTP with `--auth on` on both sides (issue 14 §1, §5): who may link
(MANAGE on the workspace; administrators alone for another server), the credentials sealed and
never shown again nor logged, pause/resume/retry/unlink, and a link that delivers into a target
that itself requires a token (the target's own access control applies to the mirror)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from runyard.domain.mirror import SOURCE_RUN_TAG
from tests.integration.auth_world import AuthWorld, auth_world

TEAM = "team"
DEST = "dest"


@dataclass
class World:
    source: AuthWorld
    target: AuthWorld
    target_token: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with (
        auth_world(tmp_path_factory.mktemp("api-target")) as target,
        auth_world(tmp_path_factory.mktemp("api-source")) as source,
    ):
        source.create_workspace(TEAM)
        source.create_workspace("other")
        source.user("wsadmin")
        source.grant("wsadmin", TEAM, "workspace", "*", "MANAGE")
        source.grant("wsadmin", "other", "workspace", "*", "EDIT")
        source.user("editor")
        source.grant("editor", TEAM, "workspace", "*", "EDIT")
        target.create_workspace(DEST)
        target.user("mirror-bot")
        target.grant("mirror-bot", DEST, "workspace", "*", "EDIT")
        yield World(source, target, target.token("mirror-bot"))


def _links(http: httpx.Client, workspace: str = TEAM) -> httpx.Response:
    return http.get(f"/api/2.0/runyard/workspaces/{workspace}/links")


def _link(http: httpx.Client, body: dict[str, Any], workspace: str = TEAM) -> httpx.Response:
    return http.post(f"/api/2.0/runyard/workspaces/{workspace}/links", json=body)


def test_who_may_administer_links(world: World) -> None:
    source = world.source
    with source.http("editor", TEAM) as editor, source.http("wsadmin", TEAM) as wsadmin:
        assert _links(editor).status_code == 403
        assert _links(wsadmin).json() == {"links": []}
        # A workspace admin may not send the workspace's data to another server...
        refused = _link(wsadmin, {"target_url": world.target.url, "target_workspace": DEST})
        assert refused.status_code == 403 and "administrators" in refused.json()["message"]
        # ... but may link it to another workspace of this server (signing in there as themselves:
        # a target's own access control applies to the mirror; without credentials it is refused).
        anonymous = _link(wsadmin, {"target_url": source.url, "target_workspace": "other", "name": "local"})
        assert anonymous.status_code == 400 and "401" in anonymous.json()["message"]
        credentials = {"kind": "token", "token": source.token("wsadmin")}
        same = _link(
            wsadmin,
            {"target_url": source.url, "target_workspace": "other", "name": "local", "credentials": credentials},
        )
        assert same.status_code == 200, same.text
        assert same.json()["link"]["state"] == "active"
        # Another workspace's links are not theirs to see.
        assert _links(wsadmin, "other").status_code == 403
        assert wsadmin.delete(f"/api/2.0/runyard/workspaces/{TEAM}/links/local").status_code == 200
        assert wsadmin.delete(f"/api/2.0/runyard/workspaces/{TEAM}/links/local").status_code == 404


def test_admin_links_another_server_and_the_mirror_obeys_the_target(world: World, tmp_path: Path) -> None:
    source, token = world.source, world.target_token
    with source.http("admin", TEAM) as admin:
        missing = _link(
            admin,
            {
                "target_url": world.target.url,
                "target_workspace": "nowhere",
                "credentials": {"kind": "token", "token": token},
            },
        )
        assert missing.status_code == 400 and "nowhere" in missing.json()["message"]
        anonymous = _link(admin, {"target_url": world.target.url, "target_workspace": DEST, "name": "anon"})
        assert anonymous.status_code == 400  # the target refuses requests without credentials
        made = _link(
            admin,
            {
                "target_url": world.target.url,
                "target_workspace": DEST,
                "name": "remote",
                "credentials": {"kind": "token", "token": token},
            },
        )
        assert made.status_code == 200, made.text
        assert token not in made.text
        link = made.json()["link"]
        assert {"name", "target", "state", "pending_items", "lag_seconds", "oldest_pending_at", "last_error"} <= set(
            link
        )
        assert {"runs", "points", "bytes"} <= set(link["sent"]) and link["parked_items"] == 0

        experiment = admin.post("/api/2.0/mlflow/experiments/create", json={"name": "api-mirrored"}).json()
        run = admin.post(
            "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment["experiment_id"], "start_time": 1}
        ).json()["run"]["info"]
        metrics = [{"key": "m", "value": float(i), "timestamp": 10 + i, "step": i} for i in range(500)]
        logged = admin.post("/api/2.0/mlflow/runs/log-batch", json={"run_id": run["run_id"], "metrics": metrics})
        assert logged.status_code == 200
        status = _wait(admin, "remote")
        assert status["sent"]["points"] == 500 and status["sent"]["runs"] == 1

        paused = admin.post(f"/api/2.0/runyard/workspaces/{TEAM}/links/remote/pause").json()["link"]
        assert paused["state"] == "paused"
        admin.post("/api/2.0/mlflow/runs/set-tag", json={"run_id": run["run_id"], "key": "later", "value": "1"})
        time.sleep(3)
        assert _one(admin, "remote")["pending_items"] >= 1
        assert admin.post(f"/api/2.0/runyard/workspaces/{TEAM}/links/remote/resume").json()["link"]["state"] == (
            "active"
        )
        _wait(admin, "remote")
        assert admin.post(f"/api/2.0/runyard/workspaces/{TEAM}/links/remote/retry").json() == {"retried": 0}

    with world.target.bearer(token, DEST) as bot:
        searched = bot.get("/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "api-mirrored"})
        target_experiment = searched.json()["experiment"]["experiment_id"]
        found = bot.post(
            "/api/2.0/mlflow/runs/search",
            json={"experiment_ids": [target_experiment], "filter": f"tags.`{SOURCE_RUN_TAG}` = '{run['run_id']}'"},
        )
        [mirrored] = found.json()["runs"]
        assert mirrored["info"]["run_id"] == run["run_id"]  # a Runyard target keeps the id
        assert {"key": "later", "value": "1"} in mirrored["data"]["tags"]
        history = bot.get(
            "/api/2.0/mlflow/metrics/get-history", params={"run_id": run["run_id"], "metric_key": "m"}
        ).json()["metrics"]
        assert sorted((m["step"], m["timestamp"], m["value"]) for m in history) == [
            (i, 10 + i, float(i)) for i in range(500)
        ]

    # At rest the token is sealed: it is nowhere in the source's database file or its log.
    database = source.server.data_dir / "runyard.db"
    with sqlite3.connect(database) as conn:
        sealed = conn.execute("SELECT secret FROM mirror_links WHERE name = 'remote'").fetchone()[0]
    assert sealed and token not in sealed
    assert token.encode() not in database.read_bytes()
    assert token not in source.server.log()


def _one(http: httpx.Client, name: str) -> dict[str, Any]:
    response = http.get(f"/api/2.0/runyard/workspaces/{TEAM}/links/{name}")
    assert response.status_code == 200, response.text
    link: dict[str, Any] = response.json()["link"]
    return link


def _wait(http: httpx.Client, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    link = _one(http, name)
    while time.monotonic() < deadline:
        if link["pending_items"] == 0 and link["backfill"]["state"] == "done":
            return link
        time.sleep(0.3)
        link = _one(http, name)
    raise AssertionError(f"link {name} not delivered: {link}")
