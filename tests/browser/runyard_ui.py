"""What the tests of Runyard's own web UI share: a headless Chromium page that records console
errors, failed requests and page errors; screenshots saved where a person can look at them; and
waiting for the page's requests to settle.

Screenshots go to `$RUNYARD_SCREENSHOTS` if set, else `tests/browser/screenshots/` (not committed),
one PNG per page a test visits, named by the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.browser.ui_pages import CHROMIUM

SCREENSHOTS = Path(os.environ.get("RUNYARD_SCREENSHOTS") or Path(__file__).parent / "screenshots")
TIMEOUT_MS = 15_000


@dataclass
class Watched:
    """A page and what went wrong on it: console errors, page errors, failed requests (status >= 400)."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[tuple[str, str, int]] = field(default_factory=list)

    def problems(self, *, allowed_statuses: tuple[int, ...] = ()) -> list[str]:
        """Everything that went wrong, but requests the test expected to fail. (Chromium's console
        line for a failed request is left out: the request itself is listed, with its URL.)"""
        unexpected = [f"{m} {u} -> {s}" for m, u, s in self.failed_requests if s not in allowed_statuses]
        return unexpected + [e for e in self.console_errors if not _RESOURCE_LINE.search(e)]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


_RESOURCE_LINE = re.compile(r"Failed to load resource: the server responded with a status of \d+")


@contextmanager
def browser(viewport: tuple[int, int] = (1400, 900)) -> Iterator[Any]:
    """One headless Chromium (Debian's, see scripts/install-test-browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def watched_page(chromium: Any, viewport: tuple[int, int] = (1400, 900)) -> Watched:
    """A fresh context (its own cookies) and page, with its failures recorded."""
    context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watched = Watched(page)

    def on_console(message: Any) -> None:
        if message.type == "error":
            watched.console_errors.append(message.text)

    def on_response(response: Any) -> None:
        if response.status >= 400:
            watched.failed_requests.append((response.request.method, response.url, response.status))

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.console_errors.append(f"pageerror: {error}"))
    page.on("response", on_response)
    return watched
