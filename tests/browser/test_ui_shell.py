"""Runyard's own web UI in headless Chromium: the page the client's "View run" link points at opens
on the run; the page below `/w/<workspace>/` works in that workspace and the switcher moves between
workspaces; with `--auth on` an unsigned browser is sent to the login page and comes back to the
route it was given, and the page's writes pass the CSRF check with the cookie session."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.browser.runyard_ui import browser, watched_page
from tests.conftest import ServerProcess, auth_server

pytestmark = pytest.mark.browser

ADMIN = "admin"
ADMIN_PASSWORD = "admin-pw-for-ui-shell"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("ui-shell")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with browser() as launched:
        yield launched


def _log_run(uri: str, experiment: str, workspace: str | None = None) -> tuple[str, str, str]:
    """One run logged by the real client (in `workspace` if given): experiment id, run id, and the
    "View run" link the client printed."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_workspace(workspace)
    printed = io.StringIO()
    try:
        experiment_id = mlflow.create_experiment(experiment)
        with (
            contextlib.redirect_stdout(printed),
            mlflow.start_run(experiment_id=experiment_id, run_name=f"{experiment}-run") as run,
        ):
            mlflow.log_param("alpha", "0.5")
            mlflow.log_metric("loss", 0.25, step=1)
        link = re.search(r"View run \S+ at: (\S+)", printed.getvalue())
        assert link, printed.getvalue()
        return experiment_id, run.info.run_id, link.group(1)
    finally:
        mlflow.set_workspace(None)


def test_the_view_run_link_opens_the_run(server: ServerProcess, chromium: object) -> None:
    experiment_id, run_id, link = _log_run(server.url, "shell-link")
    # As `mlflow` prints it: "View run <name> at: <uri>/#/experiments/<id>/runs/<run_id>".
    assert link == f"{server.url}/#/experiments/{experiment_id}/runs/{run_id}"
    watched = watched_page(chromium)
    page = watched.page
    page.goto(link)
    page.get_by_role("heading", name="shell-link-run").wait_for()
    assert page.title().startswith("Runyard")
    watched.screenshot("shell-run-link")
    page.goto(f"{server.url}/#/experiments")
    page.get_by_role("link", name="shell-link").first.wait_for()
    watched.screenshot("shell-experiments")
    assert watched.problems() == []


def test_a_workspace_in_the_url_and_the_switcher(server: ServerProcess, chromium: object) -> None:
    created = httpx.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": "vision"})
    assert created.status_code == 201, created.text
    experiment_id, run_id, link = _log_run(server.url, "vision-only", workspace="vision")
    watched = watched_page(chromium)
    page = watched.page
    # The client's link for another workspace names it in the hash (`?workspace=vision`): the page
    # moves below /w/vision/ and opens the run there.
    assert link.endswith("?workspace=vision")
    page.goto(link)
    page.wait_for_url(f"{server.url}/w/vision/#/experiments/{experiment_id}/runs/{run_id}")
    page.get_by_role("heading", name="vision-only-run").wait_for()
    page.goto(f"{server.url}/w/vision/#/experiments")
    page.get_by_role("link", name="vision-only").wait_for()
    assert page.get_by_role("link", name="shell-link").count() == 0
    switcher = page.get_by_label("Workspace")
    assert switcher.input_value() == "vision"
    watched.screenshot("shell-workspace-vision")
    switcher.select_option("default")
    page.wait_for_url(f"{server.url}/#/experiments")
    page.get_by_role("link", name="Default").first.wait_for()
    assert page.get_by_role("link", name="vision-only").count() == 0
    assert watched.problems() == []


def test_signing_in_returns_to_the_route_and_writes_carry_the_csrf_token(chromium: object, tmp_path: Path) -> None:
    with auth_server(tmp_path / "auth", ADMIN_PASSWORD) as (proc, _services):
        watched = watched_page(chromium)
        page = watched.page
        page.goto(f"{proc.url}/#/experiments/0")
        page.wait_for_url("**/login?next=*")
        next_path = parse_qs(urlsplit(page.url).query)["next"][0]
        assert next_path == "/#/experiments/0"
        watched.screenshot("shell-login")
        page.fill("input[name=username]", ADMIN)
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{proc.url}/#/experiments/0")
        page.get_by_text(ADMIN, exact=True).wait_for()
        # A write from the page with its cookie session: refused without the CSRF header, accepted with it.
        statuses = page.evaluate(
            """async () => {
                const token = document.cookie.split('; ').find(c => c.startsWith('runyard_csrf=')).split('=')[1];
                const send = (headers) => fetch('ajax-api/2.0/mlflow/experiments/create', {
                    method: 'POST', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json', ...headers},
                    body: JSON.stringify({name: 'made-in-the-browser-' + Object.keys(headers).length}),
                }).then(r => r.status);
                return [await send({}), await send({'X-CSRF-Token': token})];
            }"""
        )
        assert statuses == [403, 200]
        # Only the first answer (the 401 that sent the browser to sign in) and the refused write failed.
        assert watched.problems(allowed_statuses=(401, 403)) == []
