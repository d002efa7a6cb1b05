"""Seeds a tracking server through the real mlflow client and walks MLflow's web UI over it in
headless Chromium, collecting every failed request (status >= 400) and console error.

Used by `test_mlflow_ui.py` against Runyard, and runnable by hand against any server, e.g. a
reference `mlflow server` 3.17.2 (`--enable-workspaces`, as Runyard has workspaces) to see which
failures the reference itself produces on the same pages:

    python -m tests.browser.ui_pages http://127.0.0.1:5000
"""

from __future__ import annotations

import json
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
WORKSPACE = "default"
EXPERIMENT = "ui-check"
RUN_NAME = "ui-run-7f3a"
PARAM_VALUE = "0.0421"
MODEL_NAME = "ui-model"
CSV_HEADER = "city,population"
CSV_CELL = "Lyon"
JSON_VALUE = "json-value-51c2"
FEATURE = "feature_alpha"
PROOF_TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class Seeded:
    experiment_id: str
    run_id: str
    model_id: str
    model_version: str


def png_bytes(width: int = 16, height: int = 16) -> bytes:
    """A small red-and-blue PNG, written by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(b"\xff\x00\x00" if (x + y) % 2 else b"\x00\x00\xff" for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def seed(tracking_uri: str) -> Seeded:
    """An experiment with one run (params, tags, metrics over steps, PNG/CSV/JSON artifacts) whose
    sklearn model is logged as a logged model and registered as version 1 with a signature."""
    import mlflow
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(tracking_uri)
    experiment_id = mlflow.create_experiment(EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment_id, run_name=RUN_NAME) as run:
        mlflow.log_params({"learning_rate": PARAM_VALUE, "optimizer": "adam"})
        mlflow.set_tags({"team": "vision", "stage": "ui-check"})
        for step in range(5):
            mlflow.log_metrics({"loss": 1.0 / (step + 1), "accuracy": 0.5 + step / 10}, step=step)
        with tempfile.TemporaryDirectory() as folder:
            image = Path(folder) / "plot.png"
            image.write_bytes(png_bytes())
            mlflow.log_artifact(str(image))
        mlflow.log_text(f"{CSV_HEADER}\n{CSV_CELL},522000\nNantes,320000\n", "table.csv")
        mlflow.log_dict({"key": JSON_VALUE, "nested": {"n": 1}}, "data.json")
        features = pd.DataFrame({FEATURE: np.linspace(0, 1, 20), "feature_beta": np.linspace(1, 0, 20)})
        labels = (features[FEATURE] > 0.5).astype(int)
        model = LogisticRegression().fit(features, labels)
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=features.head(2), registered_model_name=MODEL_NAME
        )
        # MLflow 3 keeps a logged model's files with the model, not the run: a model saved into the
        # run's own artifacts too, as older code (and `mlflow.pyfunc.save_model` + `log_artifacts`) does.
        with tempfile.TemporaryDirectory() as folder:
            mlflow.sklearn.save_model(model, str(Path(folder) / "saved_model"))
            mlflow.log_artifacts(str(Path(folder) / "saved_model"), "saved_model")
    return Seeded(experiment_id, run.info.run_id, info.model_id, str(info.registered_model_version))


@dataclass(frozen=True)
class UiPage:
    """A page of the UI (its hash route), what to click on it (the label, if any) and the element
    that proves it rendered."""

    name: str
    route: Callable[[Seeded], str]
    proof: Callable[[Any, Seeded], Any]  # (playwright Page, Seeded) -> Locator
    click: str | None = None


def _with_workspace(route: str) -> str:
    return f"{route}{'&' if '?' in route else '?'}workspace={WORKSPACE}"


PAGES = [
    UiPage("experiments list", lambda s: "/experiments", lambda p, s: p.get_by_text(EXPERIMENT, exact=True).first),
    UiPage(
        "runs table",
        lambda s: f"/experiments/{s.experiment_id}/runs",
        lambda p, s: p.get_by_text(RUN_NAME, exact=True).first,
    ),
    UiPage(
        "runs chart view",
        lambda s: f"/experiments/{s.experiment_id}/runs?compareRunsMode=CHART",
        lambda p, s: p.get_by_text("loss", exact=True).first,
    ),
    UiPage(
        "run overview",
        lambda s: f"/experiments/{s.experiment_id}/runs/{s.run_id}",
        lambda p, s: p.get_by_text(PARAM_VALUE, exact=True).first,
    ),
    UiPage(
        "run artifact: PNG",
        lambda s: f"/experiments/{s.experiment_id}/runs/{s.run_id}/artifacts/plot.png",
        lambda p, s: p.locator("img[src*='plot.png'], img[src^='blob:']").first,
    ),
    UiPage(
        "run artifact: CSV",
        lambda s: f"/experiments/{s.experiment_id}/runs/{s.run_id}/artifacts/table.csv",
        lambda p, s: p.get_by_text(CSV_CELL, exact=True).first,
    ),
    UiPage(
        "run artifact: JSON",
        lambda s: f"/experiments/{s.experiment_id}/runs/{s.run_id}/artifacts/data.json",
        lambda p, s: p.get_by_text(JSON_VALUE).first,
    ),
    UiPage(
        "run artifact: MLmodel",
        lambda s: f"/experiments/{s.experiment_id}/runs/{s.run_id}/artifacts/saved_model/MLmodel",
        lambda p, s: p.get_by_text("sklearn_version").first,
    ),
    UiPage(
        "model version with schema",
        lambda s: f"/models/{MODEL_NAME}/versions/{s.model_version}",
        lambda p, s: p.get_by_text("Inputs (2)", exact=True).first,
    ),
    UiPage(
        "logged model artifacts",
        lambda s: f"/experiments/{s.experiment_id}/models/{s.model_id}/artifacts",
        lambda p, s: p.get_by_text("sklearn_version").first,
        click="MLmodel",
    ),
]


@dataclass
class Observed:
    """What the browser saw while on each page."""

    failed_requests: list[tuple[str, str, str, int]] = field(default_factory=list)  # page, method, path, status
    console_errors: list[tuple[str, str, str]] = field(default_factory=list)  # page, text, source path
    not_rendered: list[str] = field(default_factory=list)  # pages whose proof element never showed
    current: str = "start"


class _Traffic:
    """Requests in flight, to wait until the page's network has been idle for a while."""

    def __init__(self) -> None:
        self.in_flight: set[object] = set()
        self.last_change = time.monotonic()

    def started(self, request: Any) -> None:
        if request.url.endswith(".worker.js"):
            # The UI's telemetry SharedWorker script: Playwright sees the request start but not
            # end (shared workers are outside its network tracking), so it is not waited for.
            return
        self.in_flight.add(request)
        self.last_change = time.monotonic()

    def ended(self, request: object) -> None:
        self.in_flight.discard(request)
        self.last_change = time.monotonic()


def _wait_for_idle(page: Any, traffic: _Traffic, quiet_seconds: float = 0.5, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not traffic.in_flight and time.monotonic() - traffic.last_change >= quiet_seconds:
            return
        page.wait_for_timeout(50)
    print("still in flight:", [getattr(r, "url", r) for r in traffic.in_flight], file=sys.stderr)


@contextmanager
def browser_page() -> Iterator[Any]:
    """One headless Chromium (Debian's, see scripts/install-test-browser), one context, one page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            yield context.new_page()
        finally:
            browser.close()


def visit(page: Any, base_url: str, seeded: Seeded, pages: list[UiPage] = PAGES, ui_path: str = "/mlflow/") -> Observed:
    """Load every page in turn in one tab, waiting for each to render and for the network to go
    idle; returns what failed on the way. Each page is a fresh load (through `about:blank`): the UI
    does not reload an artifact preview when only the hash changes, and a fresh load attributes
    each request to the page that made it (the UI's files come from the browser's cache)."""
    observed = Observed()
    traffic = _Traffic()
    page.on("request", traffic.started)
    page.on("requestfinished", traffic.ended)
    page.on("requestfailed", traffic.ended)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            url = urlsplit(response.url)
            observed.failed_requests.append((observed.current, response.request.method, url.path, response.status))

    def on_console(message: Any) -> None:
        if message.type == "error":
            source = urlsplit(message.location.get("url") or "").path
            observed.console_errors.append((observed.current, message.text, source))

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: observed.console_errors.append((observed.current, f"pageerror: {error}", "")))
    # On Runyard MLflow's UI lives at `/mlflow/` (Runyard's own UI has the root); `mlflow server` serves it at `/`.
    root = base_url.rstrip("/") + ui_path
    for ui_page in pages:
        page.goto("about:blank")
        observed.current = ui_page.name
        page.goto(f"{root}#{_with_workspace(ui_page.route(seeded))}")
        try:
            if ui_page.click:
                page.get_by_text(ui_page.click, exact=True).first.click(timeout=PROOF_TIMEOUT_MS)
            ui_page.proof(page, seeded).wait_for(state="visible", timeout=PROOF_TIMEOUT_MS)
        except Exception:
            observed.not_rendered.append(ui_page.name)
        _wait_for_idle(page, traffic)
    return observed


def main(argv: list[str]) -> int:
    base_url = argv[1] if len(argv) > 1 else "http://127.0.0.1:5000"
    seeded = seed(base_url)
    with browser_page() as page:
        observed = visit(page, base_url, seeded, ui_path="/")
    print(json.dumps({"seeded": seeded.__dict__, **observed.__dict__}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
