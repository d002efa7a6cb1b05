"""Unexpected exceptions are answered without re-raising (uvicorn closes a connection whose
application raised, resetting a keep-alive client's next request); one raised after the response
started still propagates, since that answer is broken."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from runyard.api.errors import HANDLERS, AnsweredErrorsMiddleware


async def _bug(_request: Request) -> Response:
    raise RuntimeError("a bug")


async def _deleted_meanwhile(_request: Request) -> Response:
    raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")


async def _locked(_request: Request) -> Response:
    raise sqlite3.OperationalError("database is locked")


async def _broken_stream(_request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("failed mid-answer")

    return StreamingResponse(body())


def _client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/bug", _bug),
            Route("/deleted", _deleted_meanwhile),
            Route("/locked", _locked),
            Route("/stream", _broken_stream),
        ],
        exception_handlers=HANDLERS,
        middleware=[Middleware(AnsweredErrorsMiddleware)],
    )
    # raise_app_exceptions: an exception escaping the application fails the request here.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=True), base_url="http://t")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/bug", 500, "INTERNAL_ERROR"), ("/deleted", 404, "RESOURCE_DOES_NOT_EXIST"), ("/locked", 429, None)],
)
async def test_an_unexpected_exception_is_answered_and_not_raised(path: str, status: int, code: str | None) -> None:
    async with _client() as client:
        response = await client.get(path)
    assert response.status_code == status
    body = response.json()
    assert set(body) >= {"error_code", "message"}
    if code is not None:
        assert body["error_code"] == code
    assert "a bug" not in body["message"]


@pytest.mark.anyio
async def test_an_exception_after_the_response_started_still_propagates() -> None:
    async with _client() as client:
        with pytest.raises(RuntimeError, match="failed mid-answer"):
            await client.get("/stream")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
