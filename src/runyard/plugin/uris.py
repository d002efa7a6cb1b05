"""Runyard tracking URIs and server addresses.

`runyard://host[:port][/prefix]/<workspace>` names a server over HTTPS and one of its workspaces;
`runyard+http://host:port[/prefix]/<workspace>` the same over plain HTTP. A server is also named by
its base URL `http(s)://host:port[/prefix]`, optionally followed by `/w/<workspace>` (the server's
workspace-in-the-URL form). API calls for workspace W go to `<base>/w/W/api/2.0/...`; the OAuth
endpoints live at the base.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote, urlsplit

SCHEMES = {"runyard": "https", "runyard+http": "http"}
HTTP_SCHEMES = ("http", "https")
DEFAULT_WORKSPACE = "default"
WORKSPACE_SEGMENT = "w"
# Path segments at which a request URL leaves the base: `/w/<ws>`, the API roots, OAuth, discovery.
_SERVICE_SEGMENTS = frozenset({"api", "ajax-api", "oauth", ".well-known", "graphql", "version", "health"})


class UriError(ValueError):
    """A URI or server address that does not name a Runyard server."""


@dataclass(frozen=True)
class Target:
    """A server (its base URL: scheme, host, port and any path prefix, no trailing slash) and,
    when named, a workspace."""

    base_url: str
    workspace: str | None = None

    @property
    def api_host(self) -> str:
        """What mlflow's REST helpers take as the host: the base, plus `/w/<workspace>` when named."""
        if self.workspace is None:
            return self.base_url
        return f"{self.base_url}/{WORKSPACE_SEGMENT}/{quote(self.workspace, safe='')}"

    def tracking_uri(self, workspace: str | None = None) -> str:
        """The `runyard://` (https) or `runyard+http://` URI for `workspace` (default: this one, else `default`)."""
        parts = urlsplit(self.base_url)
        scheme = "runyard" if parts.scheme == "https" else "runyard+http"
        name = workspace or self.workspace or DEFAULT_WORKSPACE
        return f"{scheme}://{parts.netloc}{parts.path}/{quote(name, safe='')}"

    def with_workspace(self, workspace: str | None) -> Target:
        return Target(self.base_url, workspace) if workspace else self


def is_runyard_uri(uri: str | None) -> bool:
    return bool(uri) and urlsplit(str(uri)).scheme.lower() in SCHEMES


def _netloc(uri: str, parts_netloc: str, hostname: str | None) -> str:
    if "@" in parts_netloc:
        raise UriError(f"'{_redact(uri)}': credentials do not belong in the URI (use `runyard login` or RUNYARD_TOKEN)")
    if not hostname:
        raise UriError(f"'{uri}': no host")
    return parts_netloc.lower()


def _redact(uri: str) -> str:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparsable URI>"
    return parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment="").geturl()


def _workspace_name(uri: str, segment: str) -> str:
    name = unquote(segment)
    if not name.strip() or "/" in name:
        raise UriError(f"'{uri}': '{name}' is not a workspace name")
    return name


def _split(uri: str) -> SplitResult:
    """`urlsplit`, with a bad port (which urlsplit reports only when asked) refused up front."""
    try:
        parts = urlsplit(uri)
        _ = parts.port
    except ValueError as e:
        raise UriError(f"'{_redact(uri)}': {e}") from None
    return parts


def parse_runyard_uri(uri: str) -> Target:
    """The server and workspace of a `runyard://` or `runyard+http://` URI (no workspace: `default`)."""
    parts = _split(uri)
    scheme = SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise UriError(f"'{_redact(uri)}': expected runyard://host[:port]/<workspace> or runyard+http://...")
    netloc = _netloc(uri, parts.netloc, parts.hostname)
    if parts.query or parts.fragment:
        raise UriError(f"'{_redact(uri)}': a Runyard URI has no query or fragment")
    segments = [s for s in parts.path.split("/") if s]
    workspace = _workspace_name(uri, segments.pop()) if segments else DEFAULT_WORKSPACE
    if segments and segments[-1] == WORKSPACE_SEGMENT:  # `runyard://host/w/<ws>`: the server's own spelling
        segments.pop()
    prefix = "".join(f"/{s}" for s in segments)
    return Target(f"{scheme}://{netloc}{prefix}", workspace)


def parse_server(text: str) -> Target:
    """A server named by a Runyard URI or by its base URL (`http(s)://host:port[/prefix][/w/<ws>]`)."""
    text = text.strip()
    if is_runyard_uri(text):
        return parse_runyard_uri(text)
    parts = _split(text)
    if parts.scheme.lower() not in HTTP_SCHEMES:
        raise UriError(
            f"'{_redact(text)}': expected a server URL (http(s)://host:port) or a runyard:// / runyard+http:// URI"
        )
    netloc = _netloc(text, parts.netloc, parts.hostname)
    if parts.query or parts.fragment:
        raise UriError(f"'{_redact(text)}': a server URL has no query or fragment")
    segments = [s for s in parts.path.split("/") if s]
    workspace = None
    if len(segments) >= 2 and segments[-2] == WORKSPACE_SEGMENT:
        workspace = _workspace_name(text, segments.pop())
        segments.pop()
    prefix = "".join(f"/{s}" for s in segments)
    return Target(f"{parts.scheme.lower()}://{netloc}{prefix}", workspace)


def base_of_request_url(url: str) -> str:
    """The server base of a request URL: everything before `/w/<ws>` or an API, OAuth or
    discovery path (for plain http(s) tracking URIs, whose base is not registered)."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    kept: list[str] = []
    for i, segment in enumerate(segments):
        if segment in _SERVICE_SEGMENTS or (segment == WORKSPACE_SEGMENT and i + 1 < len(segments)):
            break
        kept.append(segment)
    path = "/".join(kept).rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2].lower()}{path}"
