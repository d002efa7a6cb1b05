"""The GraphQL document caps (`runyard.api.graphql.limits`): the reference's depth, selection,
root-field and alias limits, counted with fragments expanded, and Runyard's size limit."""

from __future__ import annotations

import asyncio
import types

import httpx
import pytest
from graphql import parse
from starlette.applications import Starlette

from runyard.api.graphql import endpoint, limits, routes
from runyard.api.graphql.endpoint import parse_request, run
from runyard.api.routing import mount_at_root


def error(query: str) -> str | None:
    return limits.document_error(parse(query))


def nested(levels: int) -> str:
    return "{ " + "a { " * (levels - 1) + "b" + " }" * (levels - 1) + " }"


def test_depth_counts_selection_sets() -> None:
    assert error(nested(10)) is None
    assert error(nested(11)) == "Query exceeds maximum depth of 10"


def test_depth_through_fragments() -> None:
    # Each fragment spreads one more level: eleven in all.
    fragments = " ".join(f"fragment F{i} on T {{ a {{ ...F{i + 1} }} }}" for i in range(10))
    assert error("{ ...F0 } " + fragments + " fragment F10 on T { b }") == "Query exceeds maximum depth of 10"
    # A fragment that spreads itself stops at the depth limit instead of looping.
    assert error("{ ...F } fragment F on T { a { ...F } }") == "Query exceeds maximum depth of 10"
    # Fragments that spread each other at one level are each merged once.
    assert error("{ ...A } fragment A on T { x ...B } fragment B on T { y ...A }") is None


def test_total_selections() -> None:
    assert error("{ a { " + " ".join(["b"] * 999) + " } }") is None
    assert error("{ a { " + " ".join(["b"] * 1000) + " } }") == "Query exceeds maximum total selections of 1000"
    # A fragment spread twice at different places counts twice.
    fragment = "fragment F on T { " + " ".join(["b"] * 500) + " }"
    assert error("{ x { ...F } y { ...F } } " + fragment) == "Query exceeds maximum total selections of 1000"


def test_root_fields_count_over_every_operation() -> None:
    ten = " ".join(f"a{i}: f" for i in range(5))
    assert error(f"query A {{ {ten} }} query B {{ {ten} }}") is None
    assert error(f"query A {{ {ten} }} query B {{ {ten} c }}") == (
        "GraphQL queries should have at most 10 root fields, got 11 root fields."
    )


def test_aliases_count_per_level_with_fragments_merged() -> None:
    ten = " ".join(f"a{i}: f" for i in range(10))
    assert error(f"{{ x {{ {ten} }} y {{ {ten} }} }}") is None  # ten per level
    spread = "{ x { ...F ... on T { g: f } } } fragment F on T { " + ten + " }"
    assert error(spread) == "GraphQL queries should have at most 10 aliases, got 11 aliases."


def test_size_is_counted_in_utf8_bytes() -> None:
    assert limits.size_error("x" * limits.MAX_QUERY_BYTES) is None
    over = "é" * (limits.MAX_QUERY_BYTES // 2 + 1)
    assert limits.size_error(over) == (
        f"Query exceeds maximum size of {limits.MAX_QUERY_BYTES} bytes, got {limits.MAX_QUERY_BYTES + 2} bytes"
    )


def test_a_document_over_a_cap_is_refused_before_it_is_validated() -> None:
    """`run` stops at the caps: no service is touched (both are None here)."""
    request = parse_request(b'{"query": "' + nested(11).encode() + b'"}')
    # No services (None in their place, hence the ignores): the caps refuse before one is needed.
    assert run(None, None, request) == {"data": None, "errors": ["Query exceeds maximum depth of 10"]}  # type: ignore[arg-type]
    request = parse_request(b'{"query": "{ nope }"}')
    assert run(None, None, request) == {"data": None, "errors": ["Cannot query field 'nope' on type 'Query'."]}  # type: ignore[arg-type]


def test_at_most_max_concurrent_requests_execute_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests past `MAX_CONCURRENT` wait (on the event loop, without a thread) for a turn."""
    running = 0
    peak = 0

    async def fake_in_context(_request: object, _fn: object, *_args: object) -> dict[str, object]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return {"data": None, "errors": None}

    monkeypatch.setattr(endpoint, "in_context", fake_in_context)
    app = Starlette(routes=mount_at_root(routes.ENDPOINTS))
    # Only what the route's access check reads: authentication is off.
    app.state.services = types.SimpleNamespace(identity=types.SimpleNamespace(enabled=False))

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            sent = [client.post("/graphql", json={"query": "{ __typename }"}) for _ in range(8)]
            return [r.status_code for r in await asyncio.gather(*sent)]

    assert asyncio.run(main()) == [200] * 8
    assert peak == endpoint.MAX_CONCURRENT
