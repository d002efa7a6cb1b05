"""Guards every HTTP request before routing against attacks driven from a web browser.

- DNS rebinding: the `Host` header must be one the server answers to (`--allowed-hosts`, plus
  localhost names and the bound address); anything else is refused with 403.
- Cross-site requests: a state-changing request (POST/PUT/PATCH/DELETE) that carries an `Origin`
  other than the server's own (the `Host` it was sent to) or one listed in `--cors-allowed-origins`
  is refused with 403, whatever its content type. Requests without `Origin` (the mlflow client,
  curl, scripts) are not affected: browsers always send it on cross-origin writes.
- CORS: only listed origins get `Access-Control-Allow-*` headers and an answer to a preflight.
- Cookie sessions: a state-changing request that carries the session cookie must also carry the
  `X-CSRF-Token` header equal to the CSRF cookie (double submit), compared in constant time.
- JSON endpoints refuse bodies that are not `application/json` (`require_json_body`, applied per
  route by `runyard.api.routing.mount`), so no "simple" cross-origin form post reaches a handler.

Per request the middleware makes one pass over the header list and one dictionary lookup for the
`Host`; the origin and cookie rules run only when a browser sent those headers.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runyard.api.http import error_response
from runyard.domain.errors import PERMISSION_DENIED, MlflowError, invalid

# The cookie the web UI's login (to come) sets, and the double-submit CSRF pair every
# state-changing request that carries it must present. (MLflow's UI, served on the same origin,
# sends the session cookie too but cannot read `runyard_csrf`; its fetch wrapper turns every cookie
# named `mlflow-request-header-<Name>` into a `<Name>` request header, so a login that also sets
# `mlflow-request-header-X-CSRF-Token` keeps that UI's writes working.)
SESSION_COOKIE = "runyard_session"
CSRF_COOKIE = "runyard_csrf"
CSRF_HEADER = "X-CSRF-Token"

INVALID_HOST_MESSAGE = "Invalid Host header - possible DNS rebinding attack detected"
CROSS_ORIGIN_MESSAGE = "Cross-origin request blocked"
CSRF_MESSAGE = (
    f"Cross-site request forgery check failed: a request authenticated by the '{SESSION_COOKIE}' cookie "
    f"that changes state must send the {CSRF_HEADER} header equal to the '{CSRF_COOKIE}' cookie."
)

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The server-rendered pages' forms (a plain HTML form cannot set a header): their handlers apply the
# same double-submit check to a `csrf_token` form field (`runyard.api.oauth.pages.form_csrf_ok`).
FORM_PAGES = frozenset({"/login", "/logout", "/device"})
LOCALHOST_NAMES = ("localhost", "127.0.0.1", "[::1]")
# Probes answer load balancers and orchestrators, which address the server by whatever name or
# address they know it by (as the reference server does for /health and /version).
PROBE_PATHS = frozenset({"/health", "/version"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})

_CORS_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
_PREFLIGHT_MAX_AGE = b"600"
# Distinct Host/Origin values remembered per process; beyond it answers are computed, not stored.
_CACHE_LIMIT = 1024


def new_csrf_token() -> str:
    """A fresh value for the CSRF cookie (the login code sets it next to the session cookie)."""
    return secrets.token_urlsafe(32)


def _split_port(value: str) -> tuple[str, str | None]:
    """`name[:port]` (IPv6 in brackets) as (name, port); the port is None when absent."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return value, None
        rest = value[end + 1 :]
        return value[: end + 1], rest[1:] if rest.startswith(":") else None
    name, sep, port = value.rpartition(":")
    if sep and ":" not in name:
        return name, port
    return value, None


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


@dataclass(frozen=True)
class _HostPattern:
    name: str | re.Pattern[str]
    port: str | None  # None: any port

    def matches(self, name: str, port: str | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if isinstance(self.name, str):
            return self.name == name
        return self.name.fullmatch(name) is not None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]") else name)
    except ValueError:
        return False
    return ":" not in name or name.startswith("[")


class HostRules:
    """Which `Host` header values the server answers to.

    A pattern is `name` (any port), `name:port`, or either with `*` standing for any run of
    characters (`*.example.com`, `192.168.*`, `localhost:*`); `*` alone allows every host.
    Names compare case-insensitively.
    """

    def __init__(self, patterns: Iterable[str], any_ip_address: bool = False) -> None:
        self.allow_all = False
        self.any_ip_address = any_ip_address
        self._patterns: list[_HostPattern] = []
        for raw in patterns:
            pattern = raw.strip().lower()
            if not pattern:
                continue
            if pattern == "*":
                self.allow_all = True
                continue
            name, port = _split_port(pattern)
            if port == "*":
                port = None
            self._patterns.append(_HostPattern(_wildcard(name) if "*" in name else name, port))
        self._cache: dict[str, bool] = {}

    def allows(self, host: str) -> bool:
        known = self._cache.get(host)
        if known is not None:
            return known
        answer = self._decide(host)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[host] = answer
        return answer

    def _decide(self, host: str) -> bool:
        if self.allow_all:
            return True
        if not host:
            return False
        name, port = _split_port(host.lower())
        if port is not None and not port.isdigit():
            return False
        if self.any_ip_address and _is_ip_literal(name):
            return True
        return any(p.matches(name, port) for p in self._patterns)


def default_allowed_hosts(bind_host: str) -> tuple[list[str], bool]:
    """The hosts a server bound to `bind_host` answers to by default, and whether any IP literal is.

    Bound to one address: the localhost names and that address, on any port. Bound to every
    interface (`0.0.0.0`, `::`): also the machine's host name and any IP address literal. The
    reference server allows private-network addresses there; any address is as safe (a rebinding
    attack sends the attacker's *name* as `Host`, never an address) and also works on a public IP.
    """
    hosts = list(LOCALHOST_NAMES)
    if bind_host in WILDCARD_BINDS:
        hostname = socket.gethostname().lower()
        if hostname:
            hosts.append(hostname)
        return hosts, True
    hosts.append(f"[{bind_host}]" if ":" in bind_host and not bind_host.startswith("[") else bind_host)
    return hosts, False


class OriginRules:
    """Which foreign origins (`scheme://host[:port]`, `*` wildcards allowed) may call the API.

    `*` alone allows every origin; it is answered with `Access-Control-Allow-Origin: *` and no
    credentials, as the reference server does.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.allow_all = False
        self._exact: set[str] = set()
        self._wild: list[re.Pattern[str]] = []
        for raw in patterns:
            pattern = raw.strip().lower().rstrip("/")
            if not pattern:
                continue
            if pattern == "*":
                self.allow_all = True
            elif "*" in pattern:
                self._wild.append(_wildcard(pattern))
            else:
                self._exact.add(pattern)
        self._cache: dict[str, bool] = {}

    @property
    def empty(self) -> bool:
        return not (self.allow_all or self._exact or self._wild)

    def allows(self, origin: str) -> bool:
        known = self._cache.get(origin)
        if known is not None:
            return known
        value = origin.lower()
        answer = self.allow_all or value in self._exact or any(w.fullmatch(value) for w in self._wild)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[origin] = answer
        return answer


def is_same_origin(origin: str, host: str) -> bool:
    """Whether `origin` is the server itself as the browser reached it (the validated `Host`)."""
    scheme, sep, rest = origin.partition("://")
    return bool(sep) and scheme.lower() in ("http", "https") and rest.lower() == host.lower()


class SecurityMiddleware:
    """Pure ASGI middleware applying the Host, Origin, CORS and CSRF rules (see the module doc)."""

    def __init__(self, app: ASGIApp, hosts: HostRules, origins: OriginRules) -> None:
        self.app = app
        self.hosts = hosts
        self.origins = origins
        self._host_refusal = error_response(MlflowError(INVALID_HOST_MESSAGE, PERMISSION_DENIED))
        self._origin_refusal = error_response(MlflowError(CROSS_ORIGIN_MESSAGE, PERMISSION_DENIED))
        self._csrf_refusal = error_response(MlflowError(CSRF_MESSAGE, PERMISSION_DENIED))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = origin = cookie = b""
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
            elif key == b"origin":
                origin = value
            elif key == b"cookie":
                cookie = value
        host_text = host.decode("latin-1")
        if not self.hosts.allows(host_text) and scope["path"] not in PROBE_PATHS:
            await self._host_refusal(scope, receive, send)
            return
        method: str = scope["method"]
        listed = False
        if origin:
            origin_text = origin.decode("latin-1")
            own = is_same_origin(origin_text, host_text)
            listed = not own and self.origins.allows(origin_text)
            if method == "OPTIONS" and _header(scope, b"access-control-request-method") is not None:
                await self._preflight(scope, receive, send, origin, listed)
                return
            if method in STATE_CHANGING and not (own or listed):
                await self._origin_refusal(scope, receive, send)
                return
        if cookie and method in STATE_CHANGING and scope["path"] not in FORM_PAGES and not _csrf_ok(scope, cookie):
            await self._csrf_refusal(scope, receive, send)
            return
        if listed:
            await self.app(scope, receive, self._with_cors(send, origin))
        else:
            await self.app(scope, receive, send)

    def _cors_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        if self.origins.allow_all:
            return [(b"access-control-allow-origin", b"*")]
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"Origin"),
        ]

    def _with_cors(self, send: Send, origin: bytes) -> Send:
        extra = self._cors_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return send_with_cors

    async def _preflight(self, scope: Scope, receive: Receive, send: Send, origin: bytes, listed: bool) -> None:
        if not listed:
            await self._origin_refusal(scope, receive, send)
            return
        headers = [
            *self._cors_headers(origin),
            (b"access-control-allow-methods", _CORS_METHODS),
            (b"access-control-max-age", _PREFLIGHT_MAX_AGE),
            (b"content-length", b"0"),
        ]
        requested = _header(scope, b"access-control-request-headers")
        if requested:
            headers.append((b"access-control-allow-headers", requested))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _csrf_ok(scope: Scope, cookie_header: bytes) -> bool:
    """True unless the request is authenticated by the session cookie without a matching CSRF token."""
    text = cookie_header.decode("latin-1")
    if SESSION_COOKIE not in text:
        return True
    cookies = cookie_parser(text)
    if SESSION_COOKIE not in cookies:
        return True
    expected = cookies.get(CSRF_COOKIE, "")
    sent = _header(scope, CSRF_HEADER.lower().encode())
    if not expected or sent is None:
        return False
    return hmac.compare_digest(expected.encode("latin-1"), sent.strip())


def security_rules(
    bind_host: str, allowed_hosts: Iterable[str], cors_allowed_origins: Iterable[str]
) -> tuple[HostRules, OriginRules]:
    """The rules for a server bound to `bind_host`, with the operator's extra hosts (added to the
    defaults) and origins."""
    defaults, any_ip = default_allowed_hosts(bind_host)
    return HostRules([*defaults, *allowed_hosts], any_ip_address=any_ip), OriginRules(cors_allowed_origins)


# --- JSON endpoints ----------------------------------------------------------------------------

JSON_MEDIA_TYPE = "application/json"


def require_json_body(request: Request) -> None:
    """Refuse (400) a body that is not `application/json` (a charset parameter is fine), or a
    non-empty body without a Content-Type. An empty body without one reads as `{}`."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        if _has_body(request):
            raise invalid(f"Bad Request. Content-Type header is missing: send the request body as {JSON_MEDIA_TYPE}.")
        return
    media = content_type.partition(";")[0].strip().lower()
    if media != JSON_MEDIA_TYPE:
        shown = content_type if len(content_type) <= 100 else content_type[:100] + "..."
        raise invalid(f"Bad Request. Content-Type must be one of ['{JSON_MEDIA_TYPE}'], got '{shown}'.")


def _has_body(request: Request) -> bool:
    headers = request.headers
    if "transfer-encoding" in headers:
        return True
    length = headers.get("content-length", "0").strip()
    return length.isdigit() and int(length) > 0
