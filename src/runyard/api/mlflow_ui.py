"""MLflow's own web UI, served when the `mlflow` package is installed beside Runyard
(`pip install 'runyard[mlflow-ui]'`).

The built UI ships inside the `mlflow` distribution (`mlflow/server/js/build`). It is found through
the distribution's metadata — `mlflow` is never imported — and served as `mlflow server` serves
it: the page at `<prefix>/`, its files at `<prefix>/static-files/<path>`. The page asks for
everything else relative to itself (`ajax-api/2.0/mlflow/...`, `get-artifact?...`,
`static-files/...`), so below the prefix the whole API is visible as well.

`PREFIX` is where the UI lives: `/mlflow/`, since Runyard's own UI (`runyard.api.ui`) takes `/`. The
MLflow UI is mounted there together with the API it calls (`/mlflow/ajax-api/...`).

With workspaces in the URL (`/w/<workspace>/`, see `runyard.api.workspace_url`) the page is not
served again: the UI picks the workspace itself (its `?workspace=` route parameter, sent as the
`X-MLFLOW-WORKSPACE` header), and a page below `/w/a/` whose user switched to workspace `b` would
name two workspaces in every call. `/w/<workspace>/mlflow/` redirects to the UI opened on that
workspace.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from runyard.api.authentication import authorize_request
from runyard.api.http import check_request_strings
from runyard.api.routing import WORKSPACE_SCOPE_KEY
from runyard.api.static_files import REVALIDATE, StaticFolder, not_found
from runyard.domain.access_rules import parse_rule

# Where the MLflow UI is mounted (no trailing slash; "" would be the root, which Runyard's UI has).
PREFIX: Final = "/mlflow"

DISTRIBUTION: Final = "mlflow"
BUILD_DIR: Final = "mlflow/server/js/build"
INDEX: Final = "index.html"
# With `--auth on` the page and its files need a signed-in caller (the browser asks for a password
# on the 401's Basic challenge), through the same rule check as every API route.
INDEX_ACCESS: Final = "mlflow-ui:index"
STATIC_ACCESS: Final = "mlflow-ui:static"

NOT_INSTALLED: Final = (
    "The MLflow web UI is not installed on this server. Runyard serves MLflow's own UI when the mlflow "
    "package is installed beside it: pip install 'runyard[mlflow-ui]', then restart `runyard server`. "
    "The REST API works without it: point MLFLOW_TRACKING_URI at this server (the MLflow API is below "
    "/api/2.0/mlflow/)."
)


def locate_build(distribution: str = DISTRIBUTION) -> Path | None:
    """The folder of the built UI inside the installed distribution, or None if the distribution
    is not installed or has no built UI (a source checkout of mlflow). Reads package metadata only."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    folder = Path(str(dist.locate_file(BUILD_DIR)))
    return folder if (folder / INDEX).is_file() else None


class MlflowUi:
    """The handlers for one build folder (None: the UI is not installed)."""

    def __init__(self, build: Path | None) -> None:
        self.files = StaticFolder(build) if build is not None else None

    async def index(self, request: Request) -> Response:
        check_request_strings(request)
        await _signed_in(request, INDEX_ACCESS)
        workspace = request.scope.get(WORKSPACE_SCOPE_KEY)
        if workspace:
            return _open_on_workspace(request, workspace)
        if self.files is None:
            return not_found(NOT_INSTALLED)
        response = self.files.response(request, INDEX)
        # The page is never framed by another site (clickjacking), as `mlflow server` does by default.
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Cache-Control"] = REVALIDATE
        return response

    async def static_file(self, request: Request) -> Response:
        check_request_strings(request)
        await _signed_in(request, STATIC_ACCESS)
        if self.files is None:
            return not_found(NOT_INSTALLED)
        return self.files.response(request, request.path_params["path"])


async def _signed_in(request: Request, rule: str) -> None:
    """The route's rule, as `routing` applies it to API routes (an application built without the
    server's services, as the UI's own tests build it, has no identity: authentication is off)."""
    if getattr(request.app.state, "services", None) is not None:
        await authorize_request(request, parse_rule(rule))


def _open_on_workspace(request: Request, workspace: str) -> Response:
    """A redirect from `/w/<workspace>/` to the UI's own route for that workspace."""
    root: str = request.scope.get("root_path", "")
    base = root.replace(f"/w/{workspace}", "", 1)
    return RedirectResponse(f"{base}/#/experiments?workspace={quote(workspace, safe='')}", status_code=302)


def ui_routes(build: Path | None) -> list[Route]:
    """The UI's own routes (the page and its files), relative to where the UI is mounted."""
    ui = MlflowUi(build)

    async def page(request: Request) -> Response:
        return await ui.index(request)

    async def files(request: Request) -> Response:
        return await ui.static_file(request)

    # Marked with the rule they apply (`_signed_in`), as `routing._checked` marks API endpoints.
    page.access_rule = parse_rule(INDEX_ACCESS)  # type: ignore[attr-defined]
    files.access_rule = parse_rule(STATIC_ACCESS)  # type: ignore[attr-defined]
    index = Route("/", page, methods=["GET"], name="mlflow-ui:index")
    static = Route("/static-files/{path:path}", files, methods=["GET"], name="mlflow-ui:static")
    index.access = INDEX_ACCESS  # type: ignore[attr-defined]
    static.access = STATIC_ACCESS  # type: ignore[attr-defined]
    return [index, static]


def mounted(api: list[BaseRoute], build: Path | None, prefix: str = PREFIX) -> list[BaseRoute]:
    """The UI's routes placed at `prefix`. At the root they sit beside the API; below a prefix
    they are mounted together with the API routes, which the page calls relative to itself
    (`/mlflow/ajax-api/...`). `/mlflow` without the slash is redirected to `/mlflow/` by the router."""
    if not prefix:
        return list(ui_routes(build))
    return [Mount(prefix, routes=[*ui_routes(build), *api], name="mlflow-ui")]
