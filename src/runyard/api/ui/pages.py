"""The web UI's page and files: the bundle built from `ui/` (by the package build, see `setup.py`)
into `bundle/` beside this module, served at `/` and, for a workspace named in the URL, at
`/w/<workspace>/` (the middleware in `api.workspace_url` moves the prefix out of the path, so the
same two routes answer both). The page's own URLs are relative, so below `/w/<workspace>/` it calls
that workspace's API.

The page and its files are public: they hold no data, and with `--auth on` the page itself sends an
unsigned browser to the login page (its first API call answers 401), keeping the hash route in
`next` so the user lands where the link pointed. Every data call is checked as any API call is.

The page carries a Content-Security-Policy that allows scripts only from this server (no inline
script, no CDN), frames only from this server, blobs and `data:` images (previews), and no framing
by other sites.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runyard.api.http import check_request_strings
from runyard.api.static_files import REVALIDATE, StaticFolder, not_found

BUNDLE: Final = Path(__file__).parent / "bundle"
INDEX: Final = "index.html"
ASSETS: Final = "assets"
ACCESS: Final = "public"

NOT_BUILT: Final = (
    "Runyard's web UI was not built into this installation: its bundle is made from the ui/ sources "
    "when the package is installed with Node.js present (pip install . runs `npm ci && npm run build`). "
    "The REST API works without it: point MLFLOW_TRACKING_URI at this server."
)

CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # uPlot and React set element styles; no style sheet comes from elsewhere.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        # HTML artifacts are previewed in a sandboxed frame (no scripts, a unique origin).
        "frame-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cache-Control": REVALIDATE,
}


class WebUi:
    """The handlers over one bundle folder (no folder, or no page in it: answers say how to build it)."""

    def __init__(self, bundle: Path = BUNDLE) -> None:
        self.files = StaticFolder(bundle) if (bundle / INDEX).is_file() else None

    async def page(self, request: Request) -> Response:
        check_request_strings(request)
        if self.files is None:
            return not_found(NOT_BUILT)
        response = self.files.response(request, INDEX)
        response.headers.update(PAGE_HEADERS)
        return response

    async def asset(self, request: Request) -> Response:
        check_request_strings(request)
        if self.files is None:
            return not_found(NOT_BUILT)
        return self.files.response(request, f"{ASSETS}/{request.path_params['path']}")


def ui_routes(bundle: Path = BUNDLE) -> list[Route]:
    ui = WebUi(bundle)
    page = Route("/", ui.page, methods=["GET"], name="ui:page")
    asset = Route(f"/{ASSETS}/{{path:path}}", ui.asset, methods=["GET"], name="ui:asset")
    for route in (page, asset):
        route.access = ACCESS  # type: ignore[attr-defined]
    return [page, asset]
