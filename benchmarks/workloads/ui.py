"""W12: the web UI in headless Chromium — Runyard's own UI (at its `/`) beside the MLflow UI that
`mlflow server` serves (at its `/`), on the same data: the runs table's first rows and a scroll to
its end, a chart of 10 runs x 100,000 steps (interactive, then a zoom), and a run with 200 metric
keys (first chart, longest main-thread task).

What each UI is to the benchmark — its URLs, the selectors for a row, a drawn chart, the zoom
surface, the chart data requests — is in the two `UiSpec`s below (`RUNYARD`, `MLFLOW`), and nowhere
else: adjust them there when a page changes. Browser mechanics are in `benchmarks/browser.py`;
Playwright is imported only when the workload measures.
"""

from __future__ import annotations

import os
import random
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from benchmarks import browser
from benchmarks.api import parallel
from benchmarks.seed import BASE_TIME, HISTORY_EXPERIMENT, MAX_BATCH_METRICS
from benchmarks.workloads.base import Figure, Quantity, Target, Workload
from benchmarks.workloads.history import _history_runs

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


# -- the two UIs: every URL and selector the workload uses ----------------------------------------


def runyard_chart_url(url: str, experiment_id: str, run_ids: list[str]) -> str:
    """Runyard's chart view of the runs `run_ids` of an experiment. (Without a `runs` parameter the
    view charts the selected runs, else the first 10 shown: the W6 experiment holds just these.)"""
    return f"{url}/#/experiments/{quote(experiment_id)}?view=chart&runs={','.join(run_ids)}"


@dataclass(frozen=True)
class UiSpec:
    """How the benchmark finds its way around one UI."""

    table_url: Callable[[str, str], str]  # (base URL, experiment id) -> the runs table
    chart_url: Callable[[str, str, list[str]], str]  # (base URL, experiment id, run ids) -> a chart of the runs
    run_charts_url: Callable[[str, str, str], str]  # (base URL, experiment id, run id) -> the run's metric charts
    row: str  # a row of the runs table (a seeded run's row contains its name)
    scroller: str | None  # the runs table's scrolling element (None: the scrolling ancestor of a row)
    search_request: str  # part of the URL of the table's page requests
    chart_request: str  # part of the URL of the charts' data requests
    # A JS expression: the number of lines drawn in each chart that is drawn (an array).
    lines_js: str
    zoom_surface: str  # where a mouse drag selects an x range (on the first chart)
    init_scripts: tuple[str, ...] = ()  # run before the page's own scripts (e.g. dismissed first-run panels)
    table_note: str = ""


RUNYARD = UiSpec(
    table_url=lambda url, exp: f"{url}/#/experiments/{quote(exp)}",
    chart_url=runyard_chart_url,
    run_charts_url=lambda url, exp, run: f"{url}/#/experiments/{quote(exp)}/runs/{quote(run)}/charts",
    row="[role=row]",
    scroller=None,  # .runs-table
    search_request="/runs/search",
    chart_request="ajax-api/2.0/runyard/metrics/downsampled",
    # A chart (.metric-chart) is drawn once it has its uPlot canvas and no message ("Loading…");
    # its lines are the legend's runs that have points.
    lines_js="""[...document.querySelectorAll('.metric-chart')]
        .filter((c) => c.querySelector('.uplot canvas') && !c.querySelector('.chart-message'))
        .map((c) => {
          const items = [...c.querySelectorAll('.legend-item')];
          return items.length ? items.filter((i) => !i.textContent.includes('(none)')).length : 1;
        })""",
    zoom_surface=".uplot .u-over",
)

# MLflow 3.17.2: the experiment page opens on its GenAI overview, the runs table is its "/runs" tab;
# the chart view is that tab's compareRunsMode=CHART (plotly); the run page's "Model metrics" tab.
# Each run is drawn twice in a chart (the line, and a faint unsmoothed copy under it): only the
# opaque lines count. The assistant panel that opens on a first visit is marked as seen.
MLFLOW = UiSpec(
    table_url=lambda url, exp: f"{url}/#/experiments/{quote(exp)}/runs",
    chart_url=lambda url, exp, runs: f"{url}/#/experiments/{quote(exp)}/runs?compareRunsMode=CHART",
    run_charts_url=lambda url, exp, run: f"{url}/#/experiments/{quote(exp)}/runs/{quote(run)}/model-metrics",
    row="[role=row]",
    scroller=None,  # ag-grid's .ag-body-viewport
    search_request="/runs/search",
    chart_request="/metrics/get-history",
    lines_js="""[...document.querySelectorAll('.js-plotly-plot')]
        .map((p) => [...p.querySelectorAll('.scatterlayer path.js-line')]
          .filter((l) => (l.getAttribute('d') || '').length > 1)
          .filter((l) => Number(getComputedStyle(l).strokeOpacity) > 0.5).length)
        .filter((n) => n > 0)""",
    zoom_surface=".js-plotly-plot .nsewdrag",
    init_scripts=(
        "try { localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');"
        " localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false'); } catch (e) {}",
    ),
    table_note="shows 100 rows and a 'Load more' button (not clicked): scrolled through those",
)

UIS = {"runyard": RUNYARD, "mlflow": MLFLOW}

# A folder to save a screenshot of each page into (the last load of each), to see what was measured.
SCREENSHOTS_VAR = "RUNYARD_BENCH_SCREENSHOTS"

# -- the data ------------------------------------------------------------------------------------

TABLE_EXPERIMENT = "bench-ui-table"
KEYS_EXPERIMENT = "bench-ui-keys"
RUN_PREFIX = "ui-run-"
NAME_RE = r"ui-run-\d{5}"
TABLE_PARAMS, TABLE_METRICS, TABLE_TAGS = 20, 20, 10


def run_name(i: int) -> str:
    return f"{RUN_PREFIX}{i:05d}"


def seed_table(target: Target, runs: int, workers: int) -> str:
    """`runs` runs named ui-run-00000 … with 20 params, 20 metrics (step 0) and 10 tags each."""
    api = target.api
    experiment = api.experiment(TABLE_EXPERIMENT)

    def one(i: int) -> None:
        rng = random.Random(i)
        tags = [(f"tag{k}", f"t{k}-{rng.randrange(8)}") for k in range(TABLE_TAGS)]
        run_id = api.create_run(experiment, run_name(i), BASE_TIME + i * 1000, tags)
        ts = BASE_TIME + i * 1000
        api.log_batch(
            run_id,
            metrics=[
                {"key": f"metric{k}", "value": round(rng.random(), 6), "timestamp": ts, "step": 0}
                for k in range(TABLE_METRICS)
            ],
            params=[{"key": f"param{k}", "value": f"v{k}-{rng.randrange(10)}"} for k in range(TABLE_PARAMS)],
        )

    parallel(one, range(runs), workers)
    return experiment


def key_value(key: int, step: int) -> float:
    return ((step * 7919 + key * 31) % 1009) / 1009.0


def seed_many_keys(target: Target, keys: int, steps: int, workers: int) -> tuple[str, str]:
    """One run with `keys` metric keys of `steps` steps each; (experiment id, run id)."""
    api = target.api
    experiment = api.experiment(KEYS_EXPERIMENT)
    run_id = api.create_run(experiment, "ui-keys-run", BASE_TIME)
    points = [(k, s) for s in range(steps) for k in range(keys)]
    chunks = [points[i : i + MAX_BATCH_METRICS] for i in range(0, len(points), MAX_BATCH_METRICS)]

    def one(chunk: list[tuple[int, int]]) -> None:
        metrics = [
            {"key": f"key{k:03d}", "value": key_value(k, s), "timestamp": BASE_TIME + s, "step": s} for k, s in chunk
        ]
        api.log_batch(run_id, metrics=metrics)

    parallel(one, chunks, workers)
    finish(target, [run_id], BASE_TIME + steps)
    return experiment, run_id


def finish(target: Target, run_ids: list[str], end_time: int) -> None:
    """Mark runs FINISHED: both UIs keep polling the charts of running runs."""
    for run_id in run_ids:
        target.api.call("POST", "/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": end_time})


# -- the workload --------------------------------------------------------------------------------


class WebUi(Workload):
    id = "W12"
    title = "web UI (headless Chromium)"
    has_floor = False
    quantities = [
        Quantity("table_first_rows", "runs table: navigation to first rows", "ms", "lower"),
        Quantity("table_scroll_gap", "runs table: longest frame gap scrolling to the end", "ms", "lower"),
        Quantity("table_blank_frames", "runs table: frames with a blank sample while scrolling", "count", "lower"),
        Quantity("chart_interactive", "chart of W6's runs: navigation to all lines drawn", "ms", "lower"),
        Quantity("chart_zoom", "chart: zoom drag to refetched and redrawn", "ms", "lower"),
        Quantity("many_keys_open", "run with many keys: navigation to first chart", "ms", "lower"),
        Quantity("many_keys_longest_task", "run with many keys: longest task, first 5 s", "ms", "lower"),
    ]

    def runs_on(self, server: str) -> bool:
        return server in UIS

    def seed(self, target: Target) -> None:
        s = self.sizes
        target.state["ui_table"] = seed_table(target, s.w12_runs, s.seed_workers)
        runs = _history_runs(self, target, s.w6_runs)
        finish(target, runs, BASE_TIME + max(s.w5_points, s.w6_steps))
        target.state["ui_chart"] = (target.api.experiment(HISTORY_EXPERIMENT), runs)
        target.state["ui_keys"] = seed_many_keys(target, s.w12_keys, s.w12_key_steps, s.seed_workers)

    def measure(self, target: Target) -> dict[str, Figure]:
        ui = UIS[target.name]
        page = target.api.client().get("/")
        if page.status_code != 200 or "html" not in page.headers.get("content-type", ""):
            missing = Figure.missing(f"n/a (its page at / answered {page.status_code}: {page.text[:160]})")
            return {q.key: missing for q in self.quantities}
        out: dict[str, Figure] = {}
        with browser.chromium() as chromium:
            for keys, fn in (
                (("table_first_rows",), self._table_first_rows),
                (("table_scroll_gap", "table_blank_frames"), self._table_scroll),
                (("chart_interactive", "chart_zoom"), self._chart),
                (("many_keys_open", "many_keys_longest_task"), self._many_keys),
            ):
                context = browser.new_context(chromium, ui.init_scripts, self.sizes.w12_timeout_s * 1000)
                try:
                    out.update(fn(target, ui, context))
                except Exception as e:  # one page failing must not lose the others
                    for key in keys:
                        out[key] = Figure.missing(f"error: {type(e).__name__}: {e}"[:300])
                finally:
                    context.close()
        return out

    # -- helpers ----------------------------------------------------------------------------------

    @property
    def _timeout_ms(self) -> float:
        return self.sizes.w12_timeout_s * 1000.0

    def _reps(self, reps: int, one: Callable[[], float]) -> Figure:
        """One warm-up (fills the HTTP cache with the UI's files), then `reps` measured loads."""
        one()
        samples = [one() for _ in range(reps)]
        return Figure(statistics.median(samples), samples)

    def _open(self, context: BrowserContext, url: str) -> Page:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        return page

    def _close(self, page: Page, target: Target, name: str) -> None:
        """Close the page, after a screenshot if $RUNYARD_BENCH_SCREENSHOTS names a folder."""
        folder = os.environ.get(SCREENSHOTS_VAR)
        try:
            if folder:
                os.makedirs(folder, exist_ok=True)
                page.screenshot(path=os.path.join(folder, f"w12-{target.name}-{name}.png"))
        finally:
            page.close()

    def _rows_js(self, ui: UiSpec) -> str:
        return (
            f"[...document.querySelectorAll({browser.js_string(ui.row)})].filter((r) => "
            f"r.textContent.includes({browser.js_string(RUN_PREFIX)}) && "
            "((b) => b.height > 0 && b.bottom > 0 && b.top < innerHeight)(r.getBoundingClientRect())).length"
        )

    def _first_rows(self, ui: UiSpec, page: Page) -> float:
        return browser.wait_ready(page, self._rows_js(ui), timeout_ms=self._timeout_ms, what="the runs table").at_ms

    # -- 1. the runs table's first rows -------------------------------------------------------------

    def _table_first_rows(self, target: Target, ui: UiSpec, context: BrowserContext) -> dict[str, Figure]:
        url = ui.table_url(target.url, target.state["ui_table"])

        def one() -> float:
            page = self._open(context, url)
            try:
                return self._first_rows(ui, page)
            finally:
                self._close(page, target, "table")

        return {"table_first_rows": self._reps(self.sizes.w12_reps, one)}

    # -- 2. scrolling it to the end ------------------------------------------------------------------

    def _table_scroll(self, target: Target, ui: UiSpec, context: BrowserContext) -> dict[str, Figure]:
        url = ui.table_url(target.url, target.state["ui_table"])
        results: list[browser.Scrolled] = []

        def one() -> float:
            page = self._open(context, url)
            try:
                self._first_rows(ui, page)
                got = browser.scroll_to_end(
                    page,
                    row=ui.row,
                    text=RUN_PREFIX,
                    name_re=NAME_RE,
                    scroller=ui.scroller,
                    pattern=ui.search_request,
                    timeout_ms=self._timeout_ms * 4,
                )
            finally:
                self._close(page, target, "scroll")
            results.append(got)
            return got.gap_ms

        gap = self._reps(self.sizes.w12_scroll_reps, one)
        measured = results[1:]
        blanks = [float(r.blank_frames) for r in measured]
        last = measured[-1]
        parts = [
            ui.table_note,
            f"scrolled {self._rows_reached(last.last_row)} of {self.sizes.w12_runs:,} rows in {last.seconds:.1f} s "
            f"({last.frames} frames, longest task {last.longest_task_ms:.0f} ms)",
            "did not reach the end in time" if any(r.timed_out for r in measured) else "",
        ]
        gap.note = "; ".join(p for p in parts if p)
        note = f"{last.blank_samples} of {last.samples} elementFromPoint samples (3 a frame) outside a row"
        blank = Figure(statistics.median(blanks), blanks, note)
        return {"table_scroll_gap": gap, "table_blank_frames": blank}

    def _rows_reached(self, last_row: str | None) -> str:
        """How many rows the scroll went through, from the name of the last row in view (the
        table is newest first: ui-run-00000 is row N)."""
        if last_row is None or re.fullmatch(NAME_RE, last_row) is None:
            return "?"
        return f"{self.sizes.w12_runs - int(last_row[len(RUN_PREFIX) :]):,}"

    # -- 3./4. the chart of W6's runs, and a zoom --------------------------------------------------

    def _chart(self, target: Target, ui: UiSpec, context: BrowserContext) -> dict[str, Figure]:
        experiment, run_ids = target.state["ui_chart"]
        url = ui.chart_url(target.url, experiment, run_ids)
        lines = f"Math.max(0, ...({ui.lines_js}))"
        zooms: list[float] = []
        zoom_failure: list[str] = []

        def load(page: Page) -> float:
            return browser.wait_ready(
                page,
                lines,
                min_drawn=len(run_ids),
                pattern=ui.chart_request,
                min_requests=1,
                quiet=True,
                frames=2,
                settle_ms=300,
                timeout_ms=self._timeout_ms,
                what=f"the chart of {len(run_ids)} runs",
            ).at_ms

        def one() -> float:
            page = self._open(context, url)
            try:
                ready = load(page)
                if not zoom_failure:
                    try:
                        zooms.append(self._zoom(page, ui, lines, len(run_ids)))
                    except Exception as e:
                        zoom_failure.append(f"{type(e).__name__}: {e}"[:300])
                return ready
            finally:
                self._close(page, target, "chart")

        interactive = self._reps(self.sizes.w12_reps, one)
        interactive.note = f"{len(run_ids)} runs x {max(self.sizes.w5_points, self.sizes.w6_steps):,} steps"
        measured = zooms[1:]
        if zoom_failure or not measured:
            zoom = Figure.missing("n/a: " + (zoom_failure[0] if zoom_failure else "no zoom measured"))
        else:
            zoom = Figure(statistics.median(measured), measured, "from mouseup: refetch answered + 2 frames")
        return {"chart_interactive": interactive, "chart_zoom": zoom}

    def _zoom(self, page: Page, ui: UiSpec, lines: str, runs: int) -> float:
        """Drag over 30 % … 50 % of the first chart's width; ms from the mouseup to the refetch's
        answer (every chart request since the mouseup done) and two frames after."""
        surface = page.locator(ui.zoom_surface).first
        box = surface.bounding_box()
        if box is None:
            raise browser.UiTimeout(f"no zoom surface {ui.zoom_surface!r}")
        x0, x1, y = box["x"] + box["width"] * 0.3, box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
        page.mouse.move(x0, y)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, y, steps=4)
        page.mouse.move(x1, y, steps=4)
        page.mouse.up()
        up = browser.mouse_up_ms(page)
        ready = browser.wait_ready(
            page,
            lines,
            min_drawn=runs,
            pattern=ui.chart_request,
            since_ms=up,
            min_requests=1,
            quiet=True,
            frames=2,
            timeout_ms=min(self._timeout_ms, 10_000),
            what="the zoomed chart",
        )
        return ready.at_ms - up

    # -- 5. a run with many metric keys -----------------------------------------------------------

    def _many_keys(self, target: Target, ui: UiSpec, context: BrowserContext) -> dict[str, Figure]:
        experiment, run_id = target.state["ui_keys"]
        url = ui.run_charts_url(target.url, experiment, run_id)
        window_ms = self.sizes.w12_window_s * 1000
        tasks: list[tuple[float, float, int]] = []
        mounted: list[int] = []

        def one() -> float:
            page = self._open(context, url)
            try:
                first = browser.wait_ready(
                    page,
                    f"({ui.lines_js}).length",
                    min_drawn=1,
                    timeout_ms=self._timeout_ms,
                    what="the first chart of the run",
                ).at_ms
                left = window_ms - browser.now_ms(page)
                if left > 0:
                    page.wait_for_timeout(left)
                tasks.append(browser.longest_task_ms(page, window_ms))
                mounted.append(int(page.evaluate(f"({ui.lines_js}).length")))
                return first
            finally:
                self._close(page, target, "keys")

        opened = self._reps(self.sizes.w12_reps, one)
        measured = tasks[1:]
        longest = [t[0] for t in measured]
        task = Figure(statistics.median(longest), longest)
        task.note = (
            f"{self.sizes.w12_keys} keys x {self.sizes.w12_key_steps:,} steps; in the first "
            f"{self.sizes.w12_window_s:.0f} s: {measured[-1][2]} long tasks, {measured[-1][1]:.0f} ms in all; "
            f"{mounted[-1]} charts drawn at the end"
        )
        return {"many_keys_open": opened, "many_keys_longest_task": task}
