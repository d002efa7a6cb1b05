"""The start-up check refuses a route table with a route whose access rule is missing, unknown or
not applied by its endpoint."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from runyard.api.route_rules import check_route_table, route_problems
from runyard.api.routing import Endpoint, mount
from runyard.app import routes


async def handler(_request: Request) -> Response:
    return PlainTextResponse("ok")


def test_the_served_table_passes() -> None:
    assert route_problems(routes()) == []


def test_missing_unknown_and_unenforced_rules_are_refused() -> None:
    bare = Route("/bare", handler)
    typo = Route("/typo", handler)
    typo.access = "run:wirte"  # type: ignore[attr-defined]
    unenforced = Route("/unenforced", handler)
    unenforced.access = "run:read"  # type: ignore[attr-defined]
    public = Route("/public", handler)
    public.access = "public"  # type: ignore[attr-defined]
    problems = route_problems([Mount("/m", routes=[bare]), typo, unenforced, public])
    assert [p.split(":")[0] for p in problems] == ["GET,HEAD /bare", "GET,HEAD /typo", "GET,HEAD /unenforced"]
    with pytest.raises(RuntimeError):
        check_route_table([bare])


def test_mounting_an_endpoint_with_an_unknown_rule_fails() -> None:
    with pytest.raises(ValueError):
        mount([Endpoint("GET", "/x", handler, "experiment:everything")])
    assert route_problems(mount([Endpoint("GET", "/x", handler, "experiment:read")])) == []
