"""Request-body reading with size limits, pydantic parsing into MLflow-shaped errors, JSON rendering."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from runyard.domain.entities import Page
from runyard.domain.errors import MlflowError, invalid
from runyard.domain.limits import MAX_JSON_REQUEST_BYTES
from runyard.domain.validation import (
    NUL,
    find_nul,
    invalid_value_message,
    missing_value_message,
    nul_message,
    parse_ascii_int,
)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
T = TypeVar("T")

EMPTY_JSON = b"{}"


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def ok(content: Any = None) -> JSONResponse:
    return JSONResponse(EMPTY_JSON if content is None else content)


def page_response(page: Page[T], field: str, render: Callable[[T], Any]) -> JSONResponse:
    """One page of a listing: `{field: [...], "next_page_token": ...}`, empty parts omitted."""
    return rendered_page_response(field, [render(item) for item in page.items], page.next_page_token)


def rendered_page_response(field: str, items: list[Any], next_page_token: str | None) -> JSONResponse:
    """`page_response` for items already rendered (in one pass, where there are many)."""
    out: dict[str, Any] = {}
    if items:
        out[field] = items
    if next_page_token:
        out["next_page_token"] = next_page_token
    return ok(out)


def error_response(error: MlflowError) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=error.http_status, headers=error.headers or None)


async def read_body(request: Request, limit: int = MAX_JSON_REQUEST_BYTES, what: str = "Request") -> bytes:
    """The whole body, refused with a 400 before it is buffered if it is larger than `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        size = parse_ascii_int(declared, "Content-Length", maximum=2**63 - 1)
        if size > limit:
            raise _too_large(what, limit, size)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(what, limit, size)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str, limit: int, size: int) -> MlflowError:
    return invalid(f"{what} bodies must be at most {limit} bytes, got a request of size {size}.")


async def read_json_body(request: Request, limit: int = MAX_JSON_REQUEST_BYTES) -> bytes:
    """The body of a JSON request (an empty body reads as `{}`), not yet parsed."""
    body = await read_body(request, limit)
    return body if body.strip() else EMPTY_JSON


async def parse_json_body(request: Request, model: type[M], limit: int = MAX_JSON_REQUEST_BYTES) -> M:
    return parse_json(await read_json_body(request, limit), model)


def parse_json(body: bytes, model: type[M]) -> M:
    """A JSON body as `model`, or the MLflow-shaped error for what is wrong with it."""
    check_json_nul(body)
    try:
        # pydantic-core parses and validates in one pass (no intermediate Python dicts).
        return model.model_validate_json(body)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise invalid(f"Malformed JSON in request body: {first['msg']}") from None
        # Only refused bodies get here, so the reference's leniencies cost accepted requests nothing.
        try:
            data = _as_reference_reads(orjson.loads(body))
        except (orjson.JSONDecodeError, RecursionError):
            raise _to_mlflow_error(e) from None
        if not isinstance(data, dict):
            raise invalid("Request body must be a JSON object.") from None
        _check_required_first(model, data)
        again = orjson.dumps(data)
        check_json_nul(again)
        try:
            return model.model_validate_json(again)
        except ValidationError as e2:
            raise _to_mlflow_error(e2) from None


def _as_reference_reads(data: Any) -> Any:
    """A decoded body as the reference server reads it: `null` is an empty message, a JSON string
    holding an object is decoded again (older clients double-encode), and a `null` field is an absent
    one (proto-JSON), so a null required field is "missing" and a null optional one takes its default."""
    if data is None:
        return {}
    if isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError:
            return data
    return _drop_nulls(data)


def _check_required_first(model: type[BaseModel], data: dict[str, Any]) -> None:
    """The reference checks some fields before all others (a run call's `run_id`): a message
    refused for several reasons names that one. `model.REQUIRED_FIRST` lists the field's spellings."""
    spellings: tuple[str, ...] = getattr(model, "REQUIRED_FIRST", ())
    if spellings and not any(data.get(name) for name in spellings):
        raise invalid(missing_value_message(spellings[0]))


def _drop_nulls(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_drop_nulls(v) for v in data]
    return data


_ESCAPED_NUL = b"\\u0000"


def may_hold_nul(body: bytes) -> bool:
    """Whether a JSON body may hold NUL (`\\u0000`, the only way JSON can carry it). A single-byte
    search for a backslash first (memchr: ~1 µs for a 75 KB log-batch; the six-byte search alone
    takes ~60 µs), the escape itself only in bodies that have backslashes at all."""
    return b"\\" in body and _ESCAPED_NUL in body


def check_json_nul(body: bytes) -> None:
    """Refuse a JSON body with NUL (U+0000) in any string or key, naming the field.

    A raw NUL byte is not valid JSON, so NUL can only arrive as the escape `\\u0000`: one bytes
    scan finds it, and only a body that holds the escape is decoded again to locate it.
    """
    if not may_hold_nul(body):
        return
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return  # malformed: the model's parser says what is wrong with it
    field = find_nul(data)
    if field is not None:
        raise invalid(nul_message(field.replace(NUL, "\\u0000")))  # a key may be the culprit


def check_request_strings(request: Request) -> None:
    """Refuse NUL in the query string and the path (path parameters, the workspace in the URL)
    before any handler runs. Cheap when clean: a bytes scan and a string scan."""
    scope = request.scope
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for key, value in request.query_params.multi_items():
            if NUL in key or NUL in value:
                raise invalid(nul_message(key.replace(NUL, "\\u0000")))
    if NUL in scope["path"]:
        if NUL in scope.get("root_path", ""):
            raise invalid(nul_message("workspace"))  # `/w/<workspace>/...` (see `api.workspace_url`)
        for name, value in request.path_params.items():
            if isinstance(value, str) and NUL in value:
                raise invalid(nul_message(name))
        raise invalid(nul_message("path"))


def parse_query(request: Request, model: type[M]) -> M:
    """GET requests carry the message as query parameters; repeated keys fill list fields."""
    params = request.query_params
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name not in params:
            continue
        if _is_list(field.annotation):
            data[name] = params.getlist(name)
        else:
            data[name] = params.getlist(name)[-1]
    return validate(model, data)


def _is_list(annotation: Any) -> bool:
    text = str(annotation)
    return text.startswith("list[") or "List[" in text or "list[" in text


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise _to_mlflow_error(e) from None


def _to_mlflow_error(e: ValidationError) -> MlflowError:
    err = e.errors(include_url=False)[0]
    path = _render_loc(err["loc"])
    if err["type"] == "missing":
        return invalid(missing_value_message(path))
    return invalid(invalid_value_message(path, err.get("input"), err["msg"]))


# Names pydantic adds to an error's location for the branch of a union that failed.
_UNION_BRANCHES = frozenset({"float", "str", "int", "bool"})


def _render_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if part in _UNION_BRANCHES:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# Service calls block on the database; they run here, off the event loop. A plain executor hop is
# about half the cost of anyio's (which adds capacity limiting and cancel scopes we do not need).
_EXECUTOR = ThreadPoolExecutor(max_workers=32, thread_name_prefix="runyard-service")


class _InFlight:
    """How many service calls this process's event loop is waiting for (touched on the loop only)."""

    count = 0


async def call(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run a (blocking, database-bound) service call on the service thread pool."""
    loop = asyncio.get_running_loop()
    # In the request's context: log records from service code carry its request id.
    work = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await waiting_for(loop.run_in_executor(_EXECUTOR, work))


async def waiting_for(work: Awaitable[R]) -> R:
    """Await work done on another thread, counted as in flight (see `nothing_in_flight`)."""
    _InFlight.count += 1
    try:
        return await work
    finally:
        _InFlight.count -= 1


def nothing_in_flight() -> bool:
    """True if no service call is under way: a short call run on the event loop now delays nobody
    who is waiting for the database, and saves the two thread hand-offs of `call`."""
    return _InFlight.count == 0
