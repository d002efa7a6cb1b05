"""Runyard's run page, artifact previews, metric charts and model pages in headless Chromium, over
data logged by the real mlflow client: the client's "View run" link opens the overview (params,
metrics with sparklines, tags, datasets, models, parent and children); tags and the description
are edited from the page; every preview type renders (text with line numbers, JSON, YAML, CSV
table, PNG and SVG images, the MLmodel card, HTML in a sandboxed frame); two runs' charts overlay
with a legend, a drag zooms and refetches the range from the server, a running run's chart polls;
200 metric keys mount only the charts in view; the registry pages a client links to render.

One server and one seeded experiment for the module; a screenshot of each page goes to
`$RUNYARD_SCREENSHOTS` (or tests/browser/screenshots/).
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.browser.runyard_ui import Watched, browser, watched_page
from tests.browser.ui_pages import png_bytes
from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser

RUN = "rp-train-4c1d"
OTHER = "rp-other-9e2b"
CHILD = "rp-child-71aa"
LIVE = "rp-live-0d5e"
MANY = "rp-many-keys"
MODEL = "rp-ui-model"
PARAM_VALUE = "0.0123"
JSON_VALUE = "json-value-2f7c"
CSV_CELL = "Saint, Etienne"
LOG_LINES = 300
BIG_LOG_LINES = 12_000  # 1.2 MB: over the preview's 1 MiB
MANY_KEYS = 200
# Chromium's console line when the sandboxed HTML preview's script is refused: the proof that the
# sandbox works, so expected on that page.
SANDBOX_REFUSAL = re.compile(r"Blocked script execution in 'about:srcdoc'.*sandboxed")


@dataclass(frozen=True)
class Seeded:
    experiment_id: str
    run_id: str
    other_id: str
    child_id: str
    live_id: str
    many_id: str
    model_id: str
    version: str


def _seed(uri: str) -> Seeded:
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.entities import Metric
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    experiment_id = mlflow.create_experiment("rp-run-page")
    with mlflow.start_run(experiment_id=experiment_id, run_name=RUN) as run:
        mlflow.log_params({"learning_rate": PARAM_VALUE, "optimizer": "adam"})
        mlflow.set_tags({"team": "vision", "doomed": "yes", "mlflow.note.content": "First description"})
        # 3,000 steps with one spike: sampled by the server, the spike kept.
        history = [
            Metric("loss", 1 / (1 + s / 100) + (5.0 if s == 1234 else 0.0), 1_700_000_000_000 + s * 10, s)
            for s in range(3000)
        ]
        history += [Metric("odd", v, 1_700_000_000_000 + s, s) for s, v in enumerate([math.nan, 1.0, math.inf, 2.0])]
        for i in range(0, len(history), 1000):
            client.log_batch(run.info.run_id, metrics=history[i : i + 1000])
        mlflow.log_text("\n".join(f"log line {i}" for i in range(1, LOG_LINES + 1)), "logs/train.log")
        mlflow.log_text("".join(f"{i:09d} {'x' * 90}\n" for i in range(BIG_LOG_LINES)), "logs/big.log")
        mlflow.log_dict({"key": JSON_VALUE, "nested": {"n": 1}}, "data.json")
        mlflow.log_text("model:\n  name: resnet\n  layers: [1, 2]\n# tuned by hand\nlr: 0.01\n", "config.yaml")
        mlflow.log_text(f'city,population\nLyon,522000\n"{CSV_CELL}",170000\n', "table.csv")
        mlflow.log_text(
            '<html><body><h1>Report heading</h1><script>document.body.dataset.ran = "yes"</script></body></html>',
            "report.html",
        )
        mlflow.log_text(
            '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="15"/></svg>',
            "icon.svg",
        )
        with tempfile.TemporaryDirectory() as folder:
            image = Path(folder) / "plot.png"
            image.write_bytes(png_bytes(24, 24))
            mlflow.log_artifact(str(image), "images")
        features = pd.DataFrame({"feature_alpha": np.linspace(0, 1, 20), "feature_beta": np.linspace(1, 0, 20)})
        labels = (features["feature_alpha"] > 0.5).astype(int)
        mlflow.log_input(from_pandas(features, name="train-set"), context="training")
        model = LogisticRegression().fit(features, labels)
        # Requirements named: inferring them runs a subprocess that imports the model (seconds).
        requirements = ["scikit-learn"]
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            input_example=features.head(2),
            registered_model_name=MODEL,
            pip_requirements=requirements,
        )
        with tempfile.TemporaryDirectory() as folder:
            mlflow.sklearn.save_model(
                model, str(Path(folder) / "m"), input_example=features.head(2), pip_requirements=requirements
            )
            mlflow.log_artifacts(str(Path(folder) / "m"), "saved_model")
        with mlflow.start_run(experiment_id=experiment_id, run_name=CHILD, nested=True) as child:
            mlflow.log_metric("loss", 0.5, step=0)
    with mlflow.start_run(experiment_id=experiment_id, run_name=OTHER) as other:
        client.log_batch(other.info.run_id, metrics=[Metric("loss", 2 / (1 + s), 0, s) for s in range(0, 3000, 3)])
    live = client.create_run(experiment_id, run_name=LIVE)  # stays RUNNING
    client.log_batch(live.info.run_id, metrics=[Metric("loss", 1 / (1 + s), 0, s) for s in range(50)])
    many = client.create_run(experiment_id, run_name=MANY)
    points = [Metric(f"key_{k:03d}", math.sin(k + s), 0, s) for k in range(MANY_KEYS) for s in range(5)]
    for i in range(0, len(points), 1000):
        client.log_batch(many.info.run_id, metrics=points[i : i + 1000])
    client.set_terminated(many.info.run_id)
    return Seeded(
        experiment_id,
        run.info.run_id,
        other.info.run_id,
        child.info.run_id,
        live.info.run_id,
        many.info.run_id,
        info.model_id,
        str(info.registered_model_version),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir=tmp_path_factory.mktemp("ui-run-page")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def seeded(server: ServerProcess) -> Seeded:
    return _seed(server.url)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with browser() as launched:
        yield launched


def _problems(watched: Watched) -> list[str]:
    return [p for p in watched.problems() if not SANDBOX_REFUSAL.search(p)]


def _run_url(server: ServerProcess, s: Seeded, rest: str = "") -> str:
    return f"{server.url}/#/experiments/{s.experiment_id}/runs/{s.run_id}{rest}"


def _downsampled(requests: list[str]) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(u).query) for u in requests if "/runyard/metrics/downsampled" in u]


def _wait_until(page: Any, condition: Any, timeout_ms: int = 10_000) -> None:
    waited = 0
    while not condition():
        assert waited < timeout_ms, "condition not met in time"
        page.wait_for_timeout(50)
        waited += 50


def _record_requests(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    return seen


def test_the_view_run_link_opens_the_overview(server: ServerProcess, seeded: Seeded, chromium: object) -> None:
    watched = watched_page(chromium)
    page = watched.page
    # As `mlflow` prints it: "View run <name> at: <uri>/#/experiments/<id>/runs/<run_id>".
    page.goto(_run_url(server, seeded))
    page.get_by_role("heading", name=RUN).wait_for()
    assert page.title().startswith("Runyard")
    header = page.locator(".run-header")
    assert seeded.run_id in header.inner_text()
    assert "rp-run-page" in header.inner_text()  # the experiment's link
    params = page.locator(".params-table")
    assert params.get_by_text(PARAM_VALUE, exact=True).is_visible()
    metrics = page.locator(".metrics-table")
    assert metrics.get_by_role("link", name="loss").is_visible()
    # The sparkline is drawn from the downsampling endpoint (about 60 points of 3,000).
    spark = page.get_by_role("img", name="History of loss")
    page.wait_for_function("el => Number(el.dataset.points) > 10", arg=spark.element_handle())
    assert int(spark.get_attribute("data-points") or 0) <= 60
    tags = page.locator(".tags-table")
    assert tags.get_by_text("vision", exact=True).is_visible()
    assert tags.get_by_text("mlflow.user", exact=True).count() == 0  # system tags hidden...
    page.get_by_label(re.compile("Show system tags")).check()
    assert tags.get_by_text("mlflow.user", exact=True).is_visible()  # ...until asked for
    assert page.locator(".description-text").inner_text() == "First description"
    assert page.get_by_role("link", name=CHILD).is_visible()
    datasets = page.locator(".datasets-table")
    assert datasets.get_by_text("train-set").is_visible()
    assert datasets.get_by_text("training").is_visible()
    datasets.get_by_role("button", name="Details of train-set").click()
    assert datasets.get_by_text("feature_alpha").is_visible()
    models = page.locator(".models-table")
    models.get_by_text(seeded.model_id).wait_for()
    assert models.get_by_role("link", name="Artifacts").get_attribute("href") == (
        f"#/experiments/{seeded.experiment_id}/models/{seeded.model_id}/artifacts"
    )
    version = page.get_by_role("link", name=f"Version {seeded.version}")
    assert version.get_attribute("href") == f"#/models/{MODEL}/versions/{seeded.version}"
    watched.screenshot("run-overview")
    # The child's page links back to its parent.
    page.get_by_role("link", name=CHILD).click()
    page.get_by_role("heading", name=CHILD).wait_for()
    page.locator(".parent-link").get_by_text(RUN).wait_for()
    assert _problems(watched) == []


def test_tags_and_the_description_are_edited_from_the_page(
    server: ServerProcess, seeded: Seeded, chromium: object
) -> None:
    watched = watched_page(chromium)
    page = watched.page
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(_run_url(server, seeded))
    tags = page.locator(".tags-table")
    tags.get_by_text("vision", exact=True).wait_for()
    page.get_by_label("New tag key").fill("added-in-ui")
    page.get_by_label("New tag value").fill("first value")
    page.get_by_role("button", name="Add tag").click()
    tags.get_by_text("first value").wait_for()
    page.get_by_role("button", name="Edit tag added-in-ui").click()
    page.get_by_label("Value of added-in-ui").fill("second value")
    page.get_by_role("button", name="Save").click()
    tags.get_by_text("second value").wait_for()
    page.get_by_role("button", name="Delete tag doomed").click()
    tags.locator("[data-tag=doomed]").wait_for(state="detached")
    page.locator(".description").get_by_role("button", name="Edit").click()
    page.get_by_role("textbox", name="Description").fill("Edited in the browser")
    page.locator(".description").get_by_role("button", name="Save").click()
    page.locator(".description-text").get_by_text("Edited in the browser").wait_for()
    watched.screenshot("run-tags-edited")
    run = httpx.get(f"{server.url}/api/2.0/mlflow/runs/get", params={"run_id": seeded.run_id}).json()["run"]
    stored = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert stored["added-in-ui"] == "second value"
    assert "doomed" not in stored
    assert stored["mlflow.note.content"] == "Edited in the browser"
    assert _problems(watched) == []


def _artifact(page: Any, server: ServerProcess, s: Seeded, path: str) -> Any:
    page.goto("about:blank")
    page.goto(_run_url(server, s, f"/artifacts/{path}"))
    preview = page.locator(".artifact-preview")
    preview.locator(".preview-path").get_by_text(path, exact=True).wait_for()
    return preview


def test_artifact_previews(server: ServerProcess, seeded: Seeded, chromium: object) -> None:
    watched = watched_page(chromium)
    page = watched.page

    preview = _artifact(page, server, seeded, "logs/train.log")
    viewer = preview.locator(".text-viewer")
    viewer.get_by_text("log line 1", exact=True).wait_for()
    assert viewer.locator(".line-no").first.inner_text() == "1"
    # The tree opened the file's folder and marks it.
    assert page.locator(".artifact-tree .selected").inner_text().startswith("train.log")
    download = preview.get_by_role("link", name="Download")
    assert download.get_attribute("download") == "train.log"
    query = parse_qs(urlsplit(download.get_attribute("href") or "").query)
    assert query == {"path": ["logs/train.log"], "run_uuid": [seeded.run_id]}
    watched.screenshot("artifact-text")

    # A log over the cap: its first MiB, and a notice saying so.
    preview = _artifact(page, server, seeded, "logs/big.log")
    preview.get_by_role("note").get_by_text("Showing the first 1.0 MiB of 1.2 MiB").wait_for()
    assert preview.locator(".line-no").first.inner_text() == "1"

    preview = _artifact(page, server, seeded, "data.json")
    preview.locator(".tok-key").get_by_text('"key"').wait_for()
    assert preview.get_by_text(f'"{JSON_VALUE}"').is_visible()
    assert preview.locator(".line-no").count() >= 6  # pretty-printed over lines
    watched.screenshot("artifact-json")

    preview = _artifact(page, server, seeded, "config.yaml")
    preview.locator(".tok-key").get_by_text("layers").wait_for()
    assert preview.locator(".tok-comment").get_by_text("# tuned by hand").is_visible()
    watched.screenshot("artifact-yaml")

    preview = _artifact(page, server, seeded, "table.csv")
    table = preview.get_by_role("table", name="Table preview")
    table.get_by_role("cell", name=CSV_CELL, exact=True).wait_for()
    assert table.get_by_role("columnheader", name="population").is_visible()
    watched.screenshot("artifact-csv")

    preview = _artifact(page, server, seeded, "images/plot.png")
    image = preview.locator("img.image-preview")
    page.wait_for_function("img => img.complete && img.naturalWidth === 24", arg=image.element_handle())
    watched.screenshot("artifact-png")

    preview = _artifact(page, server, seeded, "icon.svg")
    image = preview.locator("img.image-preview")
    image.wait_for()
    assert (image.get_attribute("src") or "").startswith("blob:")  # drawn as an image: its scripts never run
    page.wait_for_function("img => img.complete && img.naturalWidth === 40", arg=image.element_handle())

    preview = _artifact(page, server, seeded, "saved_model/MLmodel")
    card = preview.get_by_test_id("model-card")
    card.get_by_text("Inputs (2)").wait_for()
    for text in ("feature_alpha", "feature_beta", "sklearn", "python_function", "Outputs (1)"):
        assert card.get_by_text(text, exact=True).first.is_visible(), text
    assert card.get_by_text("sklearn version").is_visible()
    card.locator(".input-example").get_by_text('"columns"').wait_for()
    watched.screenshot("artifact-mlmodel")

    # A folder holding an MLmodel shows the card when selected.
    page.goto(_run_url(server, seeded, "/artifacts/saved_model"))
    page.get_by_test_id("model-card").get_by_text("Inputs (2)").wait_for()

    preview = _artifact(page, server, seeded, "report.html")
    frame = preview.locator("iframe.html-preview")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == ""
    inner = preview.frame_locator("iframe.html-preview")
    inner.get_by_role("heading", name="Report heading").wait_for()
    assert inner.locator("body").get_attribute("data-ran") is None  # the script did not run
    watched.screenshot("artifact-html")
    assert _problems(watched) == []


def test_two_runs_overlay_and_a_drag_zooms_into_the_server_data(
    server: ServerProcess, seeded: Seeded, chromium: object
) -> None:
    watched = watched_page(chromium)
    page = watched.page
    requests = _record_requests(page)
    page.goto(_run_url(server, seeded, f"/charts?runs={seeded.other_id}"))
    chart = page.locator(".metric-chart[data-metric=loss]")
    legend = chart.get_by_role("list", name="Legend of loss")
    legend.get_by_text(RUN).wait_for()
    assert legend.get_by_text(OTHER).is_visible()
    chart.locator("canvas").wait_for()
    chart.get_by_text("sampled").wait_for()  # 3,000 steps at about one point per pixel
    loss = [q for q in _downsampled(requests) if q["metric_key"] == ["loss"]]
    assert loss and set(loss[-1]["run_id"]) == {seeded.run_id, seeded.other_id}
    assert "min_x" not in loss[-1]
    watched.screenshot("charts-overlay")

    before = len(requests)
    over = chart.locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=6)
    page.mouse.up()
    chart.get_by_role("button", name="Reset zoom").wait_for()
    _wait_until(page, lambda: any("min_x" in q for q in _downsampled(requests[before:])))
    zoomed = [q for q in _downsampled(requests[before:]) if "min_x" in q]
    assert zoomed, requests[before:]
    low, high = int(zoomed[-1]["min_x"][0]), int(zoomed[-1]["max_x"][0])
    assert 300 < low < high < 2000, (low, high)
    watched.screenshot("charts-zoomed")

    # Smoothing and a log scale redraw from the same data.
    page.get_by_label("Smoothing", exact=True).fill("0.8")
    page.get_by_label("Log scale").check()
    chart.locator("canvas").wait_for()
    assert page.locator(".smoothing-value").inner_text() == "0.80"
    watched.screenshot("charts-smoothed-log")

    before = len(requests)
    over.dblclick()
    chart.get_by_role("button", name="Reset zoom").wait_for(state="detached")
    _wait_until(page, lambda: any("min_x" not in q for q in _downsampled(requests[before:])))

    # The x axis choice refetches on that axis and is kept in the URL.
    page.get_by_label("X axis").select_option("relative")
    page.wait_for_function("() => location.hash.includes('x=relative')")
    _wait_until(page, lambda: any(q.get("x_axis") == ["relative"] for q in _downsampled(requests)))
    assert _problems(watched) == []


def test_a_running_runs_chart_polls(server: ServerProcess, seeded: Seeded, chromium: object) -> None:
    watched = watched_page(chromium)
    page = watched.page
    requests = _record_requests(page)
    page.goto(f"{server.url}/#/experiments/{seeded.experiment_id}/runs/{seeded.live_id}/charts")
    page.locator(".metric-chart[data-metric=loss] canvas").wait_for()
    page.wait_for_timeout(5600)
    polled = [q for q in _downsampled(requests) if q["metric_key"] == ["loss"] and q["points"] != ["60"]]
    assert len(polled) >= 2, polled
    assert _problems(watched) == []


def test_two_hundred_metric_keys_mount_only_the_charts_in_view(
    server: ServerProcess, seeded: Seeded, chromium: object
) -> None:
    watched = watched_page(chromium)
    page = watched.page
    requests = _record_requests(page)
    page.goto(f"{server.url}/#/experiments/{seeded.experiment_id}/runs/{seeded.many_id}/charts")
    page.locator(".metric-chart canvas").first.wait_for()
    cells = page.locator(".chart-cell")
    assert cells.count() == MANY_KEYS
    mounted = page.locator(".chart-cell[data-mounted=true]").count()
    assert 0 < mounted < 40, mounted
    assert len(_downsampled(requests)) < 40
    watched.screenshot("charts-many-keys")
    page.get_by_label("Filter metrics").fill("key_19")
    page.get_by_text("10 of 200 charts").wait_for()
    page.locator(".metric-chart[data-metric=key_199] canvas").wait_for()
    assert _problems(watched) == []


def test_model_pages(server: ServerProcess, seeded: Seeded, chromium: object) -> None:
    watched = watched_page(chromium)
    page = watched.page
    page.goto(f"{server.url}/#/models")
    page.get_by_role("link", name=MODEL).wait_for()
    watched.screenshot("models-list")
    page.get_by_role("link", name=MODEL).click()
    page.get_by_role("heading", name=MODEL).wait_for()
    page.locator(".versions-table").get_by_role("link", name=f"Version {seeded.version}").wait_for()
    watched.screenshot("model")
    # As a client prints it: "... at <uri>/#/models/<name>/versions/<v>".
    page.goto(f"{server.url}/#/models/{MODEL}/versions/{seeded.version}")
    page.get_by_role("heading", name=f"{MODEL} version {seeded.version}").wait_for()
    card = page.get_by_test_id("model-card")
    card.get_by_text("Inputs (2)").wait_for()
    assert card.get_by_text("feature_alpha", exact=True).is_visible()
    run_link = page.locator(".source-run-link")
    run_link.get_by_text(RUN).wait_for()
    assert run_link.get_attribute("href") == f"#/experiments/{seeded.experiment_id}/runs/{seeded.run_id}"
    assert page.locator(".logged-model-link").get_by_text(seeded.model_id).is_visible()
    watched.screenshot("model-version")
    # The logged model's own files (MLflow 3 keeps them with the model), the card at its root.
    page.locator(".logged-model-link").click()
    page.get_by_role("heading", name="model", exact=True).wait_for()
    page.get_by_test_id("model-card").get_by_text("Inputs (2)").wait_for()
    assert page.locator(".artifact-tree").get_by_role("link", name="MLmodel").is_visible()
    watched.screenshot("logged-model")
    assert _problems(watched) == []
