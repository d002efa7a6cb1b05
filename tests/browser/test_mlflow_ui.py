"""MLflow's web UI, served by Runyard, works in a real browser: headless Chromium (Debian's, from
`scripts/install-test-browser`) opens the experiments list, a runs table and its charts, a run with
its PNG/CSV/JSON/MLmodel previews, a model version's schema and a logged model's files, over data
logged by the real mlflow client. Every page must render (a visible element proves it, after the
network went idle), and no request may fail and no console error appear unless `mlflow server`
3.17.2 does the same on the same pages (the allow-lists below, recorded with
`python -m tests.browser.ui_pages <url>` against `mlflow server --enable-workspaces`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from tests.browser.ui_pages import CHROMIUM, Observed, Seeded, browser_page, seed, visit
from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser

# Failed requests the reference produces on these pages too: (method, path, status).
REFERENCE_FAILED_REQUESTS = {
    # The UI asks who is logged in on every page; without the auth app (`mlflow server
    # --app-name basic-auth`) the reference has no such endpoint, and neither has Runyard yet
    # (identity comes with issue 12). The UI treats the 404 as "no login".
    ("GET", "/mlflow/ajax-api/2.0/mlflow/users/current", 404),
}

# Console errors the reference produces on these pages too, as patterns of the message.
REFERENCE_CONSOLE_ERRORS = [
    # Chromium's line for each failed request; allowed exactly when the request itself is allowed
    # (matched on the request's path, see `unexpected_console_errors`).
    re.compile(r"Failed to load resource: the server responded with a status of \d+"),
    # Layout noise of the charts view (a resize callback that re-laid out within one frame);
    # the reference shows it on the same page.
    re.compile(r"ResizeObserver loop completed with undelivered notifications"),
]
_RESOURCE_FAILURE = REFERENCE_CONSOLE_ERRORS[0]


def normalised(path: str, seeded: Seeded) -> str:
    """A request path with the seeded ids replaced by placeholders (for the allow-list and the report)."""
    return path.replace(seeded.run_id, "{run_id}").replace(seeded.model_id, "{model_id}")


def unexpected_requests(observed: Observed, seeded: Seeded) -> dict[tuple[str, str, int], list[str]]:
    """Failed requests the reference does not produce: (method, path, status) -> pages."""
    out: dict[tuple[str, str, int], list[str]] = {}
    for page, method, path, status in observed.failed_requests:
        key = (method, normalised(path, seeded), status)
        if key not in REFERENCE_FAILED_REQUESTS and page not in out.setdefault(key, []):
            out[key].append(page)
    return out


def unexpected_console_errors(observed: Observed, seeded: Seeded) -> dict[str, list[str]]:
    """Console errors the reference does not produce: message (and source) -> pages."""
    allowed_paths = {path for _method, path, _status in REFERENCE_FAILED_REQUESTS}
    out: dict[str, list[str]] = {}
    for page, text, source in observed.console_errors:
        if _RESOURCE_FAILURE.search(text):
            if normalised(source, seeded) in allowed_paths:
                continue
            text = f"{text} [{normalised(source, seeded)}]"
        elif any(pattern.search(text) for pattern in REFERENCE_CONSOLE_ERRORS):
            continue
        if page not in out.setdefault(text, []):
            out[text].append(page)
    return out


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("mlflow-ui")).start()
    yield server
    server.stop()


def test_the_mlflow_ui_works_in_a_browser(ui_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run scripts/install-test-browser"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", ui_server.url)
    try:
        seeded = seed(ui_server.url)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # mlflow unsets the URI on None; its hint leaves None out
    with browser_page() as page:
        observed = visit(page, ui_server.url, seeded)

    requests = unexpected_requests(observed, seeded)
    console = unexpected_console_errors(observed, seeded)
    report = [f"pages that did not render: {observed.not_rendered}"] if observed.not_rendered else []
    report += [f"{m} {p} -> {s}   on: {', '.join(pages)}" for (m, p, s), pages in sorted(requests.items())]
    report += [f"console: {text}   on: {', '.join(pages)}" for text, pages in sorted(console.items())]
    assert not report, "the MLflow UI against Runyard:\n" + "\n".join(report)


def test_the_allow_lists_judge_what_they_should() -> None:
    """The comparison itself: reference noise passes, anything else is reported with its pages."""
    seeded = Seeded("1", "r" * 32, "m-" + "a" * 32, "1")
    observed = Observed(
        failed_requests=[
            ("runs table", "GET", "/mlflow/ajax-api/2.0/mlflow/users/current", 404),
            ("runs table", "POST", "/graphql", 404),
            ("run overview", "POST", "/graphql", 404),
            ("logged model", "GET", f"/ajax-api/2.0/mlflow/logged-models/{seeded.model_id}/artifacts/files", 404),
        ],
        console_errors=[
            (
                "runs table",
                "Failed to load resource: the server responded with a status of 404 (Not Found)",
                "/mlflow/ajax-api/2.0/mlflow/users/current",
            ),
            (
                "runs table",
                "Failed to load resource: the server responded with a status of 404 (Not Found)",
                "/graphql",
            ),
            ("charts", "null ResizeObserver loop completed with undelivered notifications.", ""),
            ("charts", "pageerror: TypeError: x is undefined", ""),
        ],
    )
    assert unexpected_requests(observed, seeded) == {
        ("POST", "/graphql", 404): ["runs table", "run overview"],
        ("GET", "/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files", 404): ["logged model"],
    }
    assert unexpected_console_errors(observed, seeded) == {
        "Failed to load resource: the server responded with a status of 404 (Not Found) [/graphql]": ["runs table"],
        "pageerror: TypeError: x is undefined": ["charts"],
    }
