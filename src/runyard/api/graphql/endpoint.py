"""`POST /graphql`: one GraphQL operation per request, answered as the reference answers it.

The answer is `{"data": ..., "errors": [<message>, ...] | null}` with status 200, for results,
resolver failures (a run that does not exist), validation errors and the document caps alike; the
reference writes each error as its bare message. A body that is not one GraphQL request — not JSON,
a JSON array (a batch: refused, see CVE-2025-0453), no `query` string — is a 400 with an MLflow error.

Parsing, the caps, validation and execution run on the service thread pool, inside the request's
context (`in_context`), so a large document does not hold up the event loop. At most
`MAX_CONCURRENT` requests per process run at once (the others wait their turn without a thread): a
document at the caps costs up to about a second of validation, as in the reference, and many of
them at once must not take every thread of the pool.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError, execute_sync, parse, validate
from starlette.requests import Request
from starlette.responses import Response

from runyard.api.graphql import limits
from runyard.api.graphql.resolvers import SCHEMA, Resolution
from runyard.api.http import check_json_nul, ok, read_body
from runyard.api.routing import in_context, services
from runyard.domain.errors import MlflowError, invalid
from runyard.domain.validation import invalid_value_message, missing_value_message
from runyard.services.container import Services
from runyard.services.context import RequestContext, WorkspaceGone

log = logging.getLogger("runyard.api.graphql")

# The whole body: the document (capped at `limits.MAX_QUERY_BYTES`, in GraphQL's error shape) and its
# variables. Larger bodies are refused before they are read.
MAX_BODY_BYTES = 1024 * 1024

MAX_CONCURRENT = 2

Answer = dict[str, Any]

# One semaphore per event loop (a process has one; tests may run several).
_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _SLOTS.get(loop)
    if slots is None:
        slots = _SLOTS[loop] = asyncio.Semaphore(MAX_CONCURRENT)
    return slots


class GraphQLRequest:
    """The three parts of a GraphQL-over-HTTP request body."""

    __slots__ = ("operation_name", "query", "variables")

    def __init__(self, query: str, variables: dict[str, Any] | None, operation_name: str | None) -> None:
        self.query = query
        self.variables = variables
        self.operation_name = operation_name


def parse_request(body: bytes) -> GraphQLRequest:
    """The request a body holds, or the 400 for what is wrong with it."""
    check_json_nul(body)
    try:
        data = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError as e:
        raise invalid(f"Malformed JSON in request body: {e}") from None
    if isinstance(data, list):
        raise invalid("Batched GraphQL requests (a JSON array of operations) are not supported: send one per request.")
    if not isinstance(data, dict):
        raise invalid("Request body must be a JSON object with a 'query' string.")
    query = data.get("query")
    if query is None:
        raise invalid(missing_value_message("query"))
    if not isinstance(query, str):
        raise invalid(invalid_value_message("query", query, "must be a string."))
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise invalid(invalid_value_message("variables", variables, "must be a JSON object."))
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise invalid(invalid_value_message("operationName", operation_name, "must be a string."))
    return GraphQLRequest(query, variables, operation_name)


def _refused(message: str) -> Answer:
    return {"data": None, "errors": [message]}


def run(ctx: RequestContext, svc: Services, request: GraphQLRequest) -> Answer:
    """Parse, check, validate and execute one request (on a service thread)."""
    too_big = limits.size_error(request.query)
    if too_big:
        return _refused(too_big)
    try:
        document = parse(request.query, max_tokens=limits.MAX_TOKENS)
    except GraphQLError as e:
        return _refused(e.message)
    except RecursionError:
        return _refused(f"Query exceeds maximum depth of {limits.MAX_DEPTH}")
    over = limits.document_error(document)
    if over:
        return _refused(over)
    try:
        problems = validate(SCHEMA, document)
    except RecursionError:
        return _refused(f"Query exceeds maximum depth of {limits.MAX_DEPTH}")
    if problems:
        return _refused_all(problems)
    result = execute_sync(
        SCHEMA,
        document,
        context_value=Resolution(ctx, svc),
        variable_values=request.variables,
        operation_name=request.operation_name,
    )
    return _answer(result)


def _refused_all(errors: list[GraphQLError]) -> Answer:
    return {"data": None, "errors": [e.message for e in errors]}


def _answer(result: ExecutionResult) -> Answer:
    if not result.errors:
        return {"data": result.data, "errors": None}
    messages = []
    for error in result.errors:
        cause = error.original_error
        if isinstance(cause, WorkspaceGone):
            raise cause  # `in_context` resolves the workspace again and runs the request again
        if error.path is None or cause is None or isinstance(cause, (MlflowError, GraphQLError)):
            # A request error (variables that do not fit), a service's refusal, or a value the schema
            # cannot write (a NaN Float): the message is the answer.
            messages.append(error.message)
        else:
            log.error("GraphQL resolver failed at %s", error.path, exc_info=cause)
            messages.append(f"Internal error: {type(cause).__name__}")
    return {"data": result.data, "errors": messages}


async def graphql(request: Request) -> Response:
    body = await read_body(request, MAX_BODY_BYTES)
    parsed = parse_request(body)
    async with _slots():
        answer = await in_context(request, run, services(request), parsed)
    return ok(answer)
