"""The loopback redirect receiver of the browser sign-in (RFC 8252 §7.3): an HTTP server on
127.0.0.1 at a random port that waits for `GET /callback?code=...&state=...` (or `?error=...`).

A callback whose `state` differs from the one expected is answered 400 and ignored (it is not the
sign-in this process started); anything but `/callback` answers 404.
"""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"
_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Runyard</title></head>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p></body></html>"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    expected_state: str
    result: dict[str, str] | None
    done: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._page(404, "Not found", "This is the Runyard sign-in receiver.")
            return
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if query.get("state") != self.server.expected_state:
            self._page(400, "Sign-in not recognised", "This answer is not for the sign-in in progress.")
            return
        if "error" in query:
            self._page(
                200, "Sign-in not completed", f"The server answered: {query['error']}. You may close this window."
            )
        else:
            self._page(200, "Signed in to Runyard", "You may close this window and return to the terminal.")
        if self.server.result is None:
            self.server.result = query
            self.server.done.set()

    def _page(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: never logged
        return


class LoopbackReceiver:
    def __init__(self, state: str, host: str = "127.0.0.1"):
        self._server = _Server((host, 0), _Handler)
        self._server.expected_state = state
        self._server.result = None
        self._server.done = threading.Event()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="runyard-login", daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{CALLBACK_PATH}"

    def __enter__(self) -> LoopbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The callback's parameters, or None when `timeout` seconds passed first."""
        # Short waits so Ctrl+C is seen promptly.
        remaining = timeout
        while remaining > 0:
            if self._server.done.wait(min(remaining, 0.5)):
                return self._server.result
            remaining -= 0.5
        return None
