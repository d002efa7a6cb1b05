"""The `POST /graphql` declaration, kept apart from its implementation: graphql-core and the schema
(~12 MiB and ~0.2 s) are loaded by the first GraphQL request, not by every server process at start-up
(only the MLflow web UI sends GraphQL)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runyard.api.routing import Endpoint


async def graphql(request: Request) -> Response:
    from runyard.api.graphql import endpoint  # loaded on first use: see the module docstring

    return await endpoint.graphql(request)


# Reads only; each resolver's service call applies the rules of the REST read it mirrors.
ENDPOINTS = [Endpoint("POST", "/graphql", graphql, "experiment:read")]
