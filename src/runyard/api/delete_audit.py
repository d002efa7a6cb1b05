"""Every successful delete goes to the audit log: routes whose rule is `<kind>:delete`, and the
DELETE method on `<kind>:admin` routes (a workspace). After a 2xx answer, one event
`<kind>.delete` with the actor, the client address, and as resource the request path plus the ids
the request named (only the fields in `ID_FIELDS`, from the query string and a JSON body: never
anything else a body holds)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.authentication import PRINCIPAL_SCOPE_KEY, client_address
from runyard.api.http import call, read_body
from runyard.domain.access_rules import AccessRule
from runyard.domain.identity import Principal
from runyard.services.identity.audit import Actor

Handler = Callable[[Request], Awaitable[Response]]

ID_FIELDS = ("experiment_id", "run_id", "model_id", "name", "version", "alias", "path", "key")
_MAX_VALUE = 200


def deleted_kind(rule: AccessRule, method: str) -> str | None:
    """The kind of resource a route deletes (None: it deletes nothing worth an audit event)."""
    kind, sep, action = rule.text.partition(":")
    if not sep:
        return None
    if action == "delete" or (rule.admin and method == "DELETE"):
        return kind
    return None


def describe(request: Request, body: bytes) -> str:
    """The request path and the ids it names (`name=x version=2`), for the audit log."""
    ids: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in ID_FIELDS:
            ids[key] = value
    if body.strip():
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            for field in ID_FIELDS:
                given: object = data.get(field)
                if isinstance(given, str | int) and not isinstance(given, bool):
                    ids[field] = str(given)
    parts = [request.url.path[:_MAX_VALUE]]
    parts += [f"{key}={value[:_MAX_VALUE]}" for key, value in ids.items()]
    return " ".join(parts)


def audited(handler: Handler, kind: str, *, json_body: bool) -> Handler:
    """`handler`, recording `<kind>.delete` after each 2xx answer."""

    @functools.wraps(handler)
    async def audited_delete(request: Request) -> Response:
        body = b""
        if json_body:
            body = await read_body(request)
            request._body = body  # the handler reads the same bytes (Request.stream yields `_body`)
        response = await handler(request)
        if 200 <= response.status_code < 300:
            principal: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
            actor = Actor(principal.name if principal is not None else None, client_address(request))
            audit = request.app.state.services.identity.audit
            await call(audit.record, actor, f"{kind}.delete", describe(request, body))
        return response

    return audited_delete
