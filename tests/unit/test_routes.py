"""Deny by default starts here: every route the app serves declares the access rule it needs."""

from __future__ import annotations

from starlette.routing import Route

from runyard.app import routes


def test_every_route_declares_an_access_rule() -> None:
    served = [r for r in routes() if isinstance(r, Route)]
    assert len(served) > 40
    missing = [r.path for r in served if not getattr(r, "access", None)]
    assert missing == []


def test_every_mlflow_route_is_served_under_both_prefixes() -> None:
    paths = {r.path for r in routes() if isinstance(r, Route)}
    for path in paths:
        if path.startswith("/api/"):
            assert "/ajax-api/" + path.removeprefix("/api/") in paths
