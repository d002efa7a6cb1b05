"""Runyard's experiments list and runs table in headless Chromium, over data logged by the real
mlflow client: from the list to an experiment to a run; a valid and an invalid filter (the server's
error inline, the offending part of the filter and the column it is about marked); sorting by a
metric; picking a column (kept in the URL, restored on reload); a nested run under its parent;
two runs selected and charted; deleting a run; paging as the table scrolls; the experiment dialogs
(and a refused one showing PERMISSION_DENIED); the folder tree of a `path` workspace.

One server and one seeded data set serve the module. Each test saves screenshots of the pages it
visits (see `tests/browser/runyard_ui.py` for where) and asserts on what is visible.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.runyard_ui import Watched, browser, watched_page
from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser

EXPERIMENT = "ui-runs-check"
MANY = "ui-runs-many"
MANY_RUNS = 450  # more than the first page (200), fewer than first + next (1,200)
PATH_WORKSPACE = "paths"
PATH_EXPERIMENTS = ("/Shared/team/alpha", "/Shared/team/beta", "/Shared/vision/detector", "/Users/alice/scratch")
LOSSES = {"run-a": 0.9, "run-b": 0.5, "run-c": 0.1, "run-d": 0.7}


@dataclass(frozen=True)
class Seeded:
    experiment_id: str
    many_id: str
    run_ids: dict[str, str]
    parent_id: str
    child_ids: tuple[str, ...]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("ui-runs")).start()
    yield proc
    proc.stop()


def _seed_main(uri: str) -> Seeded:
    """Four runs with distinct losses and params (one with a dataset and a logged model, one
    with a metric of its own), a parent with two nested runs, and a run to delete."""
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import LoggedModelOutput

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment_id = mlflow.create_experiment(EXPERIMENT)
    run_ids: dict[str, str] = {}
    dataset = from_pandas(pd.DataFrame({"x": [1, 2], "y": [0, 1]}), name="train-set")
    for i, (name, loss) in enumerate(LOSSES.items()):
        with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
            # Five params: the default view shows the first three (alphabetically), not `zeta`.
            mlflow.log_params({"alpha": i, "beta": "b", "gamma": "g", "optimizer": "adam", "zeta": f"z-{name}"})
            mlflow.set_tag("team", "vision")
            for step in range(3):
                mlflow.log_metrics({"loss": loss + (2 - step) * 0.01, "accuracy": 1 - loss}, step=step)
            if name == "run-a":
                mlflow.log_input(dataset, context="training")
                model = client.create_logged_model(experiment_id=experiment_id, source_run_id=run.info.run_id, name="m")
                client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 0)])
            if name == "run-b":
                mlflow.log_metric("only_b", 3.0)
            run_ids[name] = run.info.run_id
    with mlflow.start_run(experiment_id=experiment_id, run_name="parent-run") as parent:
        mlflow.log_metric("loss", 0.3)
        children = []
        for c in range(2):
            with mlflow.start_run(experiment_id=experiment_id, run_name=f"child-run-{c}", nested=True) as child:
                mlflow.log_metric("loss", 0.2 + c / 100)
                children.append(child.info.run_id)
    with mlflow.start_run(experiment_id=experiment_id, run_name="doomed-run") as doomed:
        mlflow.log_metric("loss", 0.95)
        run_ids["doomed-run"] = doomed.info.run_id
    many_id = _seed_many(uri)
    return Seeded(experiment_id, many_id, run_ids, parent.info.run_id, tuple(children))


def _seed_many(uri: str) -> str:
    """An experiment with MANY_RUNS runs, logged through the REST API (fast)."""
    api = f"{uri}/api/2.0/mlflow"
    with httpx.Client(timeout=30) as http:
        experiment_id = http.post(f"{api}/experiments/create", json={"name": MANY}).json()["experiment_id"]
        start = int(time.time() * 1000)
        for i in range(MANY_RUNS):
            run = http.post(
                f"{api}/runs/create",
                json={"experiment_id": experiment_id, "run_name": f"bulk-{i:04d}", "start_time": start + i},
            ).json()["run"]
            run_id = run["info"]["run_id"]
            http.post(
                f"{api}/runs/log-batch",
                json={
                    "run_id": run_id,
                    "metrics": [{"key": "loss", "value": i / MANY_RUNS, "timestamp": start, "step": 0}],
                    "params": [{"key": "i", "value": str(i)}],
                },
            ).raise_for_status()
    return str(experiment_id)


def _seed_paths(uri: str) -> None:
    with httpx.Client(timeout=30) as http:
        made = http.post(f"{uri}/api/3.0/mlflow/workspaces", json={"name": PATH_WORKSPACE, "naming": "path"})
        assert made.status_code == 201, made.text
        for name in PATH_EXPERIMENTS:
            r = http.post(f"{uri}/w/{PATH_WORKSPACE}/api/2.0/mlflow/experiments/create", json={"name": name})
            assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def seeded(server: ServerProcess) -> Seeded:
    data = _seed_main(server.url)
    _seed_paths(server.url)
    return data


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as launched:
        yield launched


@pytest.fixture
def watched(chromium: Any) -> Iterator[Watched]:
    w = watched_page(chromium)
    yield w
    w.page.context.close()


def _hash_query(page: Any) -> dict[str, list[str]]:
    url: str = page.url
    hash_part = url.split("#", 1)[1] if "#" in url else ""
    return parse_qs(hash_part.split("?", 1)[1]) if "?" in hash_part else {}


def _row_names(page: Any) -> list[str]:
    names: list[str] = page.locator(".runs-body .runs-row .name-cell a").all_inner_texts()
    return names


def _open_runs(page: Any, server: ServerProcess, experiment_id: str, query: str = "") -> None:
    page.goto(f"{server.url}/#/experiments/{experiment_id}{query}")
    page.locator(".runs-count", has_text="loaded").wait_for()


def test_from_the_list_to_an_experiment_to_a_run(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{server.url}/#/experiments")
    page.get_by_role("link", name=EXPERIMENT).wait_for()
    assert page.get_by_role("link", name=MANY).is_visible()
    watched.screenshot("ui-runs-experiments-list")
    page.get_by_role("link", name=EXPERIMENT).click()
    page.locator(".runs-count", has_text="loaded").wait_for()
    assert page.get_by_role("heading", name=EXPERIMENT).is_visible()
    # Six top-level runs (the two children are folded under their parent), eight loaded.
    assert sorted(_row_names(page)) == sorted([*LOSSES, "parent-run", "doomed-run"])
    assert page.locator(".runs-count").inner_text().startswith("8 runs loaded")
    # Default columns: the attributes, then metrics and the first params; the dataset chip and the model count.
    headers = page.locator(".runs-head [role=columnheader]").all_inner_texts()
    for label in ("Run name", "Status", "Started", "Duration", "User", "Source", "Datasets", "Models", "loss", "alpha"):
        assert any(label in h for h in headers), (label, headers)
    assert not any("zeta" in h for h in headers)
    row_a = page.locator(f".runs-row[data-run-id='{seeded.run_ids['run-a']}']")
    assert row_a.locator(".dataset-chip").inner_text().startswith("train-set@")
    assert "Finished" in row_a.locator(".run-status").inner_text()
    watched.screenshot("ui-runs-table")
    row_a.get_by_role("link", name="run-a").click()
    page.wait_for_url(f"**/#/experiments/{seeded.experiment_id}/runs/{seeded.run_ids['run-a']}")
    page.get_by_text("run-a").first.wait_for()
    watched.screenshot("ui-runs-run-page")
    assert watched.problems() == []


def test_a_valid_and_an_invalid_filter(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    _open_runs(page, server, seeded.experiment_id)
    box = page.get_by_label("Filter runs")
    box.fill("metrics.loss < 0.6 AND params.optimizer = 'adam'")
    box.press("Enter")
    expect(page.locator(".runs-body .runs-row")).to_have_count(2)
    assert sorted(_row_names(page)) == ["run-b", "run-c"]
    assert _hash_query(page)["filter"] == ["metrics.loss < 0.6 AND params.optimizer = 'adam'"]
    watched.screenshot("ui-runs-filter-valid")

    # A value of the wrong type: the server's message inline, the value marked, the loss column's header marked.
    box.fill("params.optimizer = 'adam' AND metrics.loss < 'low'")
    box.press("Enter")
    alert = page.locator(".filter-error")
    alert.wait_for()
    assert "INVALID_PARAMETER_VALUE" in alert.inner_text()
    assert "expected a number for metrics.loss" in alert.inner_text()
    assert box.get_attribute("aria-invalid") == "true"
    assert page.locator(".filter-layer mark").inner_text() == "'low'"
    bad = page.locator(".runs-head .offending")
    assert bad.count() == 1
    assert bad.get_attribute("data-column") == "metrics.loss"
    watched.screenshot("ui-runs-filter-invalid")

    # An error about a column not shown: one click shows it, marked.
    box.fill("params.zeta = 1")
    box.press("Enter")
    page.locator(".filter-error", has_text="expected a quoted string for params.zeta").wait_for()
    page.get_by_role("button", name="Show the column params.zeta").click()
    expect(page.locator(".runs-head .offending")).to_have_attribute("data-column", "params.zeta")
    assert "params.zeta" in _hash_query(page)["col"]

    # A key with a special character: the whole key marked, a quoting fix offered and applied.
    box.fill("tags.team-name = 'x'")
    box.press("Enter")
    page.locator(".filter-error", has_text="unexpected character").wait_for()
    assert page.locator(".filter-layer mark").inner_text() == "tags.team-name"
    page.get_by_role("button", name="Use tags.`team-name` = 'x'").click()
    page.locator(".filter-warning", has_text="tag 'team-name'").wait_for()
    assert box.input_value() == "tags.`team-name` = 'x'"
    watched.screenshot("ui-runs-filter-unknown-key")
    statuses = {s for _m, _u, s in watched.failed_requests}
    assert statuses == {400}
    assert watched.problems(allowed_statuses=(400,)) == []


def test_sort_by_a_metric_column(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    _open_runs(page, server, seeded.experiment_id, "?filter=" + "params.optimizer%20%3D%20'adam'")
    loss_header = page.locator(".runs-head [data-column='metrics.loss']")
    loss_header.get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"order="))
    assert unquote(_hash_query(page)["order"][0]) == "metrics.`loss` ASC"
    expected = sorted(LOSSES, key=lambda n: LOSSES[n])
    expect(page.locator(".runs-body .name-cell a").first).to_have_text(expected[0])
    assert _row_names(page) == expected
    assert loss_header.get_attribute("aria-sort") == "ascending"
    watched.screenshot("ui-runs-sorted-loss-asc")
    loss_header.get_by_role("button").click()
    expect(page.locator(".runs-body .name-cell a").first).to_have_text(expected[-1])
    assert _row_names(page) == expected[::-1]
    assert loss_header.get_attribute("aria-sort") == "descending"
    assert watched.problems() == []


def test_pick_a_column_and_the_url_keeps_it(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    _open_runs(page, server, seeded.experiment_id)
    assert page.locator(".runs-head [data-column='params.zeta']").count() == 0
    page.get_by_role("button", name=re.compile(r"^Columns")).click()
    picker = page.get_by_role("dialog", name="Columns")
    picker.get_by_label("Find a column").fill("zet")
    picker.get_by_label("param zeta").check()
    page.locator(".runs-head [data-column='params.zeta']").wait_for()
    watched.screenshot("ui-runs-column-picker")
    assert "params.zeta" in _hash_query(page)["col"]
    row_b = page.locator(f".runs-row[data-run-id='{seeded.run_ids['run-b']}']")
    assert "z-run-b" in row_b.inner_text()
    page.keyboard.press("Escape")
    page.reload()
    page.locator(".runs-head [data-column='params.zeta']").wait_for()
    assert "z-run-b" in page.locator(f".runs-row[data-run-id='{seeded.run_ids['run-b']}']").inner_text()
    # The column order is the URL's: zeta comes right after the other params.
    headers = page.locator(".runs-head [role=columnheader][data-column]")
    columns = headers.evaluate_all("els => els.map(e => e.dataset.column)")
    assert columns.index("params.zeta") == max(i for i, c in enumerate(columns) if c.startswith("params."))
    watched.screenshot("ui-runs-column-restored")
    assert watched.problems() == []


def test_nested_runs_under_their_parent(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    _open_runs(page, server, seeded.experiment_id)
    parent = page.locator(f".runs-row[data-run-id='{seeded.parent_id}']")
    assert parent.locator(".child-count").inner_text() == "2"
    assert page.locator(f".runs-row[data-run-id='{seeded.child_ids[0]}']").count() == 0
    parent.get_by_role("button", name="Expand 2 child runs").click()
    names = _row_names(page)
    at = names.index("parent-run")
    assert sorted(names[at + 1 : at + 3]) == ["child-run-0", "child-run-1"]
    child = page.locator(f".runs-row[data-run-id='{seeded.child_ids[0]}'] .name-cell")
    parent_indent = parent.locator(".name-cell").evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)")
    assert child.evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)") > parent_indent
    watched.screenshot("ui-runs-nested")
    assert watched.problems() == []


def test_select_two_runs_and_chart_them(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    _open_runs(page, server, seeded.experiment_id)
    page.get_by_label("Select run-a").click()
    page.get_by_label("Select run-b").click()
    assert page.locator(".selection-actions").inner_text().startswith("2 selected")
    watched.screenshot("ui-runs-selected")
    page.get_by_role("button", name="Chart selected").click()
    expect(page).to_have_url(re.compile(r"view=chart"))
    note = page.locator(".runs-chart-view p")
    # The union of the two runs' metric keys: accuracy, loss and run-b's own only_b.
    assert note.inner_text().startswith("Charting the 2 selected runs: 3 metric keys")
    page.locator(".chart-grid").wait_for()
    for key in ("accuracy", "loss", "only_b"):
        assert page.locator(".chart-grid").get_by_text(key).first.is_visible()
    watched.screenshot("ui-runs-chart-selected")
    page.get_by_role("button", name="Table", exact=True).click()
    page.locator(".runs-body .runs-row").first.wait_for()
    assert "view" not in _hash_query(page)
    # Shift-click selects a range: from the first row to the third.
    page.get_by_role("button", name="Clear selection").click()
    rows = page.locator(".runs-body .runs-row input[type=checkbox]")
    rows.nth(0).click()
    rows.nth(2).click(modifiers=["Shift"])
    assert page.locator(".selection-actions").inner_text().startswith("3 selected")
    assert watched.problems() == []


def test_delete_a_selected_run(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    _open_runs(page, server, seeded.experiment_id)
    page.get_by_label("Select doomed-run").click()
    page.get_by_role("button", name="Delete selected").click()
    dialog = page.get_by_role("dialog", name="Delete 1 run?")
    assert "doomed-run" in dialog.inner_text()
    watched.screenshot("ui-runs-delete-confirm")
    dialog.get_by_role("button", name="Delete").click()
    dialog.wait_for(state="detached")
    assert "doomed-run" not in _row_names(page)
    got = httpx.get(f"{server.url}/api/2.0/mlflow/runs/get", params={"run_id": seeded.run_ids["doomed-run"]}).json()
    assert got["run"]["info"]["lifecycle_stage"] == "deleted"
    assert watched.problems() == []


def test_pages_load_as_the_table_scrolls(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    requested: list[int] = []
    page.on(
        "request",
        lambda r: (
            requested.append(json.loads(r.post_data or "{}").get("max_results", 0))
            if r.url.endswith("/runs/search")
            else None
        ),
    )
    _open_runs(page, server, seeded.many_id)
    # The first page is small (fast first paint); the rest comes in pages of 1,000 as the end nears.
    assert requested[0] == 200
    table = page.get_by_role("table", name="Runs")
    for _ in range(20):
        if page.locator(".runs-count", has_text=f"{MANY_RUNS} runs loaded · all").count():
            break
        table.evaluate("e => { e.scrollTop = e.scrollHeight; }")
        page.wait_for_timeout(150)
    page.locator(".runs-count", has_text=f"{MANY_RUNS} runs loaded · all").wait_for()
    assert requested[:2] == [200, 1000]
    # Only the rows in view are in the DOM.
    assert page.locator(".runs-body .runs-row").count() < 80
    table.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    page.get_by_role("link", name="bulk-0000").wait_for()  # the oldest run, last in the default order
    watched.screenshot("ui-runs-scrolled-to-end")
    assert watched.problems() == []


def test_experiment_dialogs(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{server.url}/#/experiments")
    page.get_by_role("link", name=EXPERIMENT).wait_for()

    page.get_by_role("button", name="New experiment").click()
    dialog = page.get_by_role("dialog", name="New experiment")
    dialog.get_by_label("Experiment name").fill("made-in-the-ui")
    watched.screenshot("ui-experiments-create")
    dialog.get_by_role("button", name="Create").click()
    page.get_by_role("link", name="made-in-the-ui").wait_for()

    page.get_by_role("button", name="Rename made-in-the-ui").click()
    dialog = page.get_by_role("dialog", name=re.compile("^Rename"))
    dialog.get_by_label("New name").fill("renamed-in-the-ui")
    dialog.get_by_role("button", name="Rename").click()
    page.get_by_role("link", name="renamed-in-the-ui").wait_for()

    page.get_by_role("button", name="Delete renamed-in-the-ui").click()
    page.get_by_role("dialog", name="Delete experiment?").get_by_role("button", name="Delete").click()
    page.get_by_role("link", name="renamed-in-the-ui").wait_for(state="detached")

    page.get_by_label("Show deleted").check()
    page.get_by_role("heading", name="Deleted experiments").wait_for()
    row = page.locator("tr", has_text="renamed-in-the-ui")
    row.wait_for()
    watched.screenshot("ui-experiments-deleted")
    row.get_by_role("button", name="Restore").click()
    row.wait_for(state="detached")
    page.get_by_label("Show deleted").uncheck()
    page.get_by_role("link", name="renamed-in-the-ui").wait_for()

    # Search: a valid filter narrows the list; an invalid one shows the server's message inline.
    box = page.get_by_label("Search experiments")
    box.fill("name LIKE 'ui-runs-%'")
    box.press("Enter")
    page.get_by_role("link", name="renamed-in-the-ui").wait_for(state="detached")
    assert page.get_by_role("link", name=MANY).is_visible()
    box.fill("nam LIKE 'x'")
    box.press("Enter")
    page.locator(".filter-error", has_text="unknown attribute 'nam'").wait_for()
    assert page.locator(".filter-layer mark").inner_text() == "nam"
    watched.screenshot("ui-experiments-search-invalid")

    # A caller without permission: the server's 403 shows in the dialog.
    def refuse(route: Any) -> None:
        route.fulfill(
            status=403,
            content_type="application/json",
            body=json.dumps({"error_code": "PERMISSION_DENIED", "message": "User 'viewer' may not create experiments"}),
        )

    page.route("**/experiments/create", refuse)
    page.get_by_role("button", name="New experiment").click()
    dialog = page.get_by_role("dialog", name="New experiment")
    dialog.get_by_label("Experiment name").fill("not-allowed")
    dialog.get_by_role("button", name="Create").click()
    dialog.get_by_role("alert").filter(has_text="PERMISSION_DENIED").wait_for()
    assert "may not create experiments" in dialog.inner_text()
    watched.screenshot("ui-experiments-permission-denied")
    assert watched.problems(allowed_statuses=(400, 403)) == []


def test_the_folder_tree_of_a_path_workspace(server: ServerProcess, seeded: Seeded, watched: Watched) -> None:
    page = watched.page
    page.goto(f"{server.url}/w/{PATH_WORKSPACE}/#/experiments")
    page.locator(".folder-row[data-folder='Shared/team']").wait_for()
    # Newest first by default (the folder holding the newest experiment first), by name on request.
    folders = page.locator(".folder-row").evaluate_all("els => els.map(e => e.dataset.folder)")
    assert folders == ["Users", "Users/alice", "Shared", "Shared/vision", "Shared/team"]
    page.get_by_role("columnheader", name="Name").get_by_role("button").click()
    expect(page.locator(".folder-row").first).to_have_attribute("data-folder", "Shared")
    folders = page.locator(".folder-row").evaluate_all("els => els.map(e => e.dataset.folder)")
    assert folders == ["Shared", "Shared/team", "Shared/vision", "Users", "Users/alice"]
    assert page.get_by_role("link", name="alpha").is_visible()
    assert page.get_by_role("link", name="alpha").get_attribute("href", timeout=1000) is not None
    watched.screenshot("ui-experiments-folder-tree")
    page.locator(".folder-row[data-folder='Shared']").get_by_role("button", name=re.compile("Shared")).click()
    page.get_by_role("link", name="alpha").wait_for(state="detached")
    assert page.get_by_role("link", name="scratch").is_visible()
    watched.screenshot("ui-experiments-folder-collapsed")
    # The folder's "New here" starts the name with the folder's path.
    page.locator(".folder-row[data-folder='Users/alice']").get_by_role("button", name="New here").click()
    name = page.get_by_role("dialog", name="New experiment").get_by_label("Experiment name")
    assert name.input_value() == "/Users/alice/"
    name.fill("/Users/alice/new-one")
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    page.get_by_role("link", name="new-one").wait_for()
    page.get_by_role("link", name="new-one").click()
    page.get_by_role("heading", name="/Users/alice/new-one").wait_for()
    assert watched.problems() == []
