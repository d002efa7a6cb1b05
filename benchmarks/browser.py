"""Headless Chromium for the web-UI workload (W12): launching it, and what the page records for us.

Everything is measured inside the page, on its own clock (`performance.now()`, 0 = the start of the
navigation), so Playwright's round trips do not count: an init script (installed before any of the
page's own scripts run) keeps

- every long task (PerformanceObserver 'longtask': main-thread tasks over 50 ms),
- every `fetch`/`XMLHttpRequest` the page starts, marked done when its resource-timing entry appears
  (the response body fully received) or when it fails or is aborted, so "the chart's data has
  arrived" is known without polling from Python,
- the time of the last `mouseup` (a zoom's drag ends there).

`wait_ready` then polls on every animation frame until a condition holds (an expression counting
what is drawn, requests done) and answers the frame time it held at; `scroll_to_end` scrolls an
element step by step on animation frames, recording the frames' timestamps (the longest gap is the
longest the screen went without a new frame) and sampling `elementFromPoint` to see whether rows
were there. Playwright itself is imported only when a browser is launched: the harness imports
this module without it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (scripts/install-test-browser)
VIEWPORT = {"width": 1400, "height": 900}


class UiTimeout(RuntimeError):
    """A page did not get to the state waited for within the time allowed (the message says how far it got)."""


INIT_SCRIPT = """
(() => {
  if (window.__bench) return;
  const b = (window.__bench = { longTasks: [], calls: [], mouseUp: null });
  try { performance.setResourceTimingBufferSize(1000000); } catch (e) {}
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
  const absolute = (u) => { try { return new URL(u, location.href).href; } catch (e) { return String(u); } };
  const start = (url) => {
    const c = { url: absolute(url), t: performance.now(), done: false };
    b.calls.push(c);
    return c;
  };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const c = b.calls.find((x) => !x.done && x.url === e.name);
        if (c) { c.done = true; c.end = e.responseEnd; }
      }
    }).observe({ type: "resource", buffered: true });
  } catch (e) {}
  const fetch0 = window.fetch;
  window.fetch = function (input, init) {
    const c = start(input instanceof Request ? input.url : input);
    const p = fetch0.apply(this, arguments);
    p.catch(() => { c.done = true; c.end = performance.now(); });
    return p;
  };
  const open0 = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url) {
    const c = start(url);
    const finish = () => { if (!c.done) { c.done = true; c.end = performance.now(); } };
    this.addEventListener("error", finish);
    this.addEventListener("abort", finish);
    this.addEventListener("timeout", finish);
    return open0.apply(this, arguments);
  };
  addEventListener("mouseup", () => { b.mouseUp = performance.now(); }, true);

  b.requests = (pattern, since) => {
    const mine = b.calls.filter((c) => c.url.includes(pattern) && c.t >= since);
    return { issued: mine.length, pending: mine.filter((c) => !c.done).length };
  };

  // Resolves on the animation frame at which `drawn() >= o.minDrawn` (and, with o.quiet, every
  // request matching o.pattern since o.since is done, at least o.minRequests of them) has held for
  // o.frames further frames and then stays true for o.settleMs: the answer is that frame's time.
  b.waitReady = (o, drawn) => new Promise((resolve) => {
    const began = performance.now();
    let okFrames = -1, readyAt = null, heldSince = null;
    const step = () => {
      const now = performance.now();
      const r = b.requests(o.pattern || "", o.since || 0);
      let d = 0;
      try { d = drawn(); } catch (e) { d = 0; }
      const ok = d >= o.minDrawn && r.issued >= (o.minRequests || 0) && (!o.quiet || r.pending === 0);
      if (!ok) { okFrames = -1; readyAt = null; heldSince = null; }
      else {
        okFrames += 1;
        if (okFrames === 0) heldSince = now;
        if (okFrames === o.frames) readyAt = now;
        if (readyAt !== null && now - heldSince >= (o.settleMs || 0)) {
          resolve({ ready: readyAt, drawn: d, issued: r.issued }); return;
        }
      }
      if (now - began > o.timeoutMs) {
        resolve({ timeout: true, drawn: d, issued: r.issued, pending: r.pending, waited: now - began }); return;
      }
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });

  b.scrollable = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (/(auto|scroll)/.test(s.overflowY) && e.scrollHeight > e.clientHeight + 1) return e;
    }
    return document.scrollingElement;
  };

  // Scrolls the element `o.scroller` (else the scrolling ancestor of the first row) by
  // o.stepFraction of its height per animation frame until its end, and on until its height has
  // not grown for o.endQuietMs with no request matching o.pattern pending (more pages loaded on
  // scroll). Every frame, before scrolling, samples three points in the scroller: a sample whose
  // element is not inside a row with o.text is blank.
  b.scrollToEnd = (o) => new Promise((resolve) => {
    const rows = [...document.querySelectorAll(o.row)].filter((r) => r.textContent.includes(o.text));
    const sc = (o.scroller && document.querySelector(o.scroller)) || (rows[0] && b.scrollable(rows[0]));
    if (!sc) { resolve({ error: "no scrolling element" }); return; }
    const frames = [];
    let blankFrames = 0, samples = 0, blankSamples = 0, lastHeight = sc.scrollHeight, grownAt = null;
    const began = performance.now();
    const longBefore = b.longTasks.length;
    const lastRowText = () => {
      const box = sc.getBoundingClientRect();
      let best = null, bottom = -Infinity;
      for (const r of document.querySelectorAll(o.row)) {
        const rc = r.getBoundingClientRect();
        const inView = rc.height > 0 && rc.top < box.bottom && rc.bottom > box.top;
        if (inView && rc.bottom > bottom && r.textContent.includes(o.text)) {
          best = r; bottom = rc.bottom;
        }
      }
      const m = best && best.textContent.match(o.nameRe ? new RegExp(o.nameRe) : /$^/);
      return m ? m[0] : null;
    };
    const step = (ts) => {
      frames.push(ts);
      const box = sc.getBoundingClientRect();
      const top = Math.max(box.top, 0), height = Math.min(box.bottom, innerHeight) - top;
      let blank = false;
      for (const f of [0.35, 0.6, 0.85]) {
        const el = document.elementFromPoint(box.left + Math.min(o.sampleX, box.width / 2), top + height * f);
        const row = el && el.closest(o.row);
        samples += 1;
        if (!row || !row.textContent.includes(o.text)) { blankSamples += 1; blank = true; }
      }
      if (blank) blankFrames += 1;
      if (sc.scrollHeight !== lastHeight) { lastHeight = sc.scrollHeight; grownAt = ts; }
      const atEnd = sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 2;
      const pending = b.requests(o.pattern || "\\u0000", 0).pending;
      const quietSince = grownAt === null ? began : grownAt;
      const done = atEnd && pending === 0 && ts - quietSince >= o.endQuietMs;
      if (done || ts - began > o.timeoutMs) {
        let gap = 0;
        for (let i = 1; i < frames.length; i++) gap = Math.max(gap, frames[i] - frames[i - 1]);
        const longest = b.longTasks.slice(longBefore).reduce((m, t) => Math.max(m, t[1]), 0);
        resolve({
          gap, frames: frames.length, seconds: (ts - began) / 1000, blankFrames, samples, blankSamples,
          scrollHeight: sc.scrollHeight, lastRow: lastRowText(), timedOut: !done, longestTask: longest,
          scroller: sc.className || sc.tagName,
        });
        return;
      }
      if (!atEnd) sc.scrollTop = sc.scrollTop + Math.max(1, Math.round(sc.clientHeight * o.stepFraction));
      requestAnimationFrame(step);
    };
    requestAnimationFrame(() => requestAnimationFrame(step));
  });
})();
"""


@contextmanager
def chromium(executable: str = CHROMIUM) -> Iterator[Browser]:
    """One headless Chromium, closed (with Playwright's driver) on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, init_scripts: tuple[str, ...] = (), timeout_ms: float = 60_000) -> BrowserContext:
    """A fresh context (its own cookies, storage and HTTP cache) with the recorders installed."""
    context = browser.new_context(viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]})
    context.set_default_timeout(timeout_ms)
    context.add_init_script(INIT_SCRIPT)
    for script in init_scripts:
        context.add_init_script(script)
    return context


@dataclass(frozen=True)
class Ready:
    """When a condition first held (ms on the page's clock), what `drawn` counted then, requests issued."""

    at_ms: float
    drawn: int
    issued: int


def wait_ready(
    page: Page,
    drawn_js: str,
    *,
    min_drawn: int = 1,
    pattern: str = "",
    since_ms: float = 0.0,
    min_requests: int = 0,
    quiet: bool = False,
    frames: int = 1,
    settle_ms: float = 0.0,
    timeout_ms: float = 30_000,
    what: str = "the page",
) -> Ready:
    """Wait (on the page's animation frames) until the JS expression `drawn_js` counts at least
    `min_drawn` and, if `quiet`, every request whose URL contains `pattern` started since
    `since_ms` is done (at least `min_requests`), held for `frames` more frames; raises UiTimeout."""
    options = {
        "minDrawn": min_drawn,
        "pattern": pattern,
        "since": since_ms,
        "minRequests": min_requests,
        "quiet": quiet,
        "frames": frames,
        "settleMs": settle_ms,
        "timeoutMs": timeout_ms,
    }
    got: dict[str, Any] = page.evaluate(f"(o) => window.__bench.waitReady(o, () => ({drawn_js}))", options)
    if got.get("timeout"):
        raise UiTimeout(
            f"{what} not ready after {got['waited'] / 1000:.0f} s (drawn {got['drawn']}/{min_drawn}, "
            f"requests '{pattern}' issued {got['issued']}, pending {got['pending']})"
        )
    return Ready(float(got["ready"]), int(got["drawn"]), int(got["issued"]))


@dataclass(frozen=True)
class Scrolled:
    """A scroll to the end: the longest gap between animation frames (ms), the frames, the frames
    with a sample outside a row, the samples and blank samples, the seconds it took, the name of
    the last row in view, the longest task meanwhile (ms), whether it stopped before the end."""

    gap_ms: float
    frames: int
    blank_frames: int
    samples: int
    blank_samples: int
    seconds: float
    last_row: str | None
    longest_task_ms: float
    timed_out: bool


def scroll_to_end(
    page: Page,
    *,
    row: str,
    text: str,
    name_re: str,
    scroller: str | None,
    pattern: str,
    step_fraction: float = 0.75,
    sample_x: float = 120.0,
    end_quiet_ms: float = 1500.0,
    timeout_ms: float = 120_000,
) -> Scrolled:
    """Scroll the table to its end on animation frames, `step_fraction` of its height a frame (see
    the module docstring); `name_re` finds a row's name in its text."""
    options = {
        "row": row,
        "text": text,
        "nameRe": name_re,
        "scroller": scroller,
        "pattern": pattern,
        "stepFraction": step_fraction,
        "sampleX": sample_x,
        "endQuietMs": end_quiet_ms,
        "timeoutMs": timeout_ms,
    }
    got: dict[str, Any] = page.evaluate("(o) => window.__bench.scrollToEnd(o)", options)
    if "error" in got:
        raise UiTimeout(str(got["error"]))
    return Scrolled(
        gap_ms=float(got["gap"]),
        frames=int(got["frames"]),
        blank_frames=int(got["blankFrames"]),
        samples=int(got["samples"]),
        blank_samples=int(got["blankSamples"]),
        seconds=float(got["seconds"]),
        last_row=got.get("lastRow"),
        longest_task_ms=float(got["longestTask"]),
        timed_out=bool(got["timedOut"]),
    )


def mouse_up_ms(page: Page) -> float:
    """The page-clock time of the last mouseup."""
    return float(page.evaluate("() => window.__bench.mouseUp ?? -1"))


def now_ms(page: Page) -> float:
    return float(page.evaluate("() => performance.now()"))


def longest_task_ms(page: Page, until_ms: float) -> tuple[float, float, int]:
    """Long tasks that started before `until_ms`: the longest, their total, how many (ms, ms, n)."""
    got: list[float] = page.evaluate(
        """(until) => {
          const t = window.__bench.longTasks.filter((x) => x[0] < until);
          return [t.reduce((m, x) => Math.max(m, x[1]), 0), t.reduce((s, x) => s + x[1], 0), t.length];
        }""",
        until_ms,
    )
    return float(got[0]), float(got[1]), int(got[2])


def js_string(value: str) -> str:
    """`value` as a JavaScript string literal."""
    return json.dumps(value)
