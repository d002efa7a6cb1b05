"""The page-side recorders of the web-UI benchmark (benchmarks/browser.py) on a synthetic page in
headless Chromium: waiting for a fetch's data to be drawn, a timeout saying how far it got, a scroll
to the end of a table that grows on scroll (rows seen at every frame, the last row's name, the
longest frame gap covering a long task), blank samples where no row is, and long tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from benchmarks import browser

pytestmark = pytest.mark.browser

ORIGIN = "http://bench.test"
# requestAnimationFrame's timestamps are frame starts, 1/60 s apart: the frame gap around the page's
# 150-ms long task is at least 150 ms less one frame (133.3 ms when the task begins just after a frame).
FRAME_MS = 1000 / 60
NAME_RE = r"ui-run-\d{5}"

PAGE = """<!doctype html><html><body style="margin:0">
<div id="table" style="height:600px; overflow:auto">
  <div id="body"></div>
</div>
<script>
  const body = document.getElementById("body");
  let next = 0;
  const add = (n, gapAt) => {
    for (let i = 0; i < n; i++, next++) {
      if (next === gapAt) {
        const gap = document.createElement("div"); gap.style.height = "1200px"; body.appendChild(gap);
      }
      const r = document.createElement("div");
      r.setAttribute("role", "row"); r.style.height = "30px";
      r.textContent = "ui-run-" + String(99999 - next).padStart(5, "0");
      body.appendChild(r);
    }
  };
  const params = new URLSearchParams(location.search);
  add(200, Number(params.get("gapAt") ?? -1));
  let pages = 1;
  document.getElementById("table").addEventListener("scroll", (e) => {
    const t = e.target;
    if (pages < 3 && t.scrollTop + t.clientHeight > t.scrollHeight - 300) {
      pages++;
      fetch("/page").then((r) => r.json()).then(() => {
        const until = performance.now() + 150; while (performance.now() < until) {}  // a long task
        add(200, -1);
      });
    }
  });
  fetch("/data").then((r) => r.json()).then((d) => {
    const line = document.createElement("i"); line.className = "line"; line.textContent = d.v; body.appendChild(line);
  });
</script></body></html>"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser.chromium() as launched:
        yield launched


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = browser.new_context(chromium, timeout_ms=15_000)

    def serve(route: Any) -> None:
        path = route.request.url[len(ORIGIN) :]
        if path.startswith("/data") or path.startswith("/page"):
            route.fulfill(status=200, content_type="application/json", body=json.dumps({"v": "x"}))
        else:
            route.fulfill(status=200, content_type="text/html", body=PAGE)

    context.route(f"{ORIGIN}/**", serve)
    yield context.new_page()
    context.close()


def test_wait_ready_answers_when_the_data_is_drawn(page: Any) -> None:
    page.goto(f"{ORIGIN}/", wait_until="commit")
    ready = browser.wait_ready(
        page, "document.querySelectorAll('.line').length", pattern="/data", min_requests=1, quiet=True, frames=2
    )
    assert ready.drawn == 1 and ready.issued == 1 and 0 < ready.at_ms < browser.now_ms(page)


def test_wait_ready_times_out_with_how_far_it_got(page: Any) -> None:
    page.goto(f"{ORIGIN}/", wait_until="commit")
    with pytest.raises(browser.UiTimeout, match=r"x not ready .*drawn 0/3.*issued 1"):
        browser.wait_ready(page, "0", min_drawn=3, pattern="/data", min_requests=1, timeout_ms=300, what="x")


def test_scroll_to_end_follows_a_growing_table(page: Any) -> None:
    page.goto(f"{ORIGIN}/", wait_until="commit")
    browser.wait_ready(page, "document.querySelectorAll('[role=row]').length")
    got = browser.scroll_to_end(
        page, row="[role=row]", text="ui-run-", name_re=NAME_RE, scroller=None, pattern="/page", end_quiet_ms=300
    )
    assert not got.timed_out and got.last_row == "ui-run-99400"  # 3 pages of 200 rows
    assert got.blank_frames == 0 and got.samples == 3 * got.frames
    assert got.longest_task_ms >= 140 and got.gap_ms >= 150 - FRAME_MS - 1
    longest, total, count = browser.longest_task_ms(page, browser.now_ms(page))
    assert longest >= 140 and total >= 2 * 140 and count >= 2


def test_scroll_to_end_counts_frames_without_rows(page: Any) -> None:
    page.goto(f"{ORIGIN}/?gapAt=100", wait_until="commit")
    browser.wait_ready(page, "document.querySelectorAll('[role=row]').length")
    got = browser.scroll_to_end(
        page, row="[role=row]", text="ui-run-", name_re=NAME_RE, scroller="#table", pattern="/page"
    )
    assert got.blank_frames > 0 and got.blank_samples > 0
