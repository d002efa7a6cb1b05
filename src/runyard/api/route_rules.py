"""Deny by default, at start-up: the application refuses to start if any route it serves declares no
access rule, declares one outside the vocabulary (`domain.access_rules`), or declares a non-public
rule on an endpoint that does not enforce it (every enforcing endpoint is built by
`routing._checked`, which marks it with the rule it applies)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Mount, Route

from runyard.domain.access_rules import parse_rule


def served_routes(table: Iterable[BaseRoute]) -> list[Route]:
    """Every route, those inside mounts (the MLflow UI below a prefix) included."""
    out: list[Route] = []
    for route in table:
        if isinstance(route, Mount):
            out += served_routes(route.routes)
        elif isinstance(route, Route):
            out.append(route)
    return out


def route_problems(table: Iterable[BaseRoute]) -> list[str]:
    """What is wrong with the table's access rules (empty: every route is covered)."""
    problems: list[str] = []
    for route in served_routes(table):
        methods = ",".join(sorted(route.methods or ()))
        text = getattr(route, "access", None)
        if not text:
            problems.append(f"{methods} {route.path}: no access rule")
            continue
        try:
            rule = parse_rule(text)
        except ValueError:
            problems.append(f"{methods} {route.path}: unknown access rule {text!r}")
            continue
        enforced = getattr(route.endpoint, "access_rule", None)
        if not rule.public and enforced != rule:
            problems.append(f"{methods} {route.path}: rule {text!r} is not enforced by its endpoint")
    return problems


def check_route_table(table: Iterable[BaseRoute]) -> None:
    """RuntimeError naming every route that would be served without its rule applied."""
    problems = route_problems(table)
    if problems:
        raise RuntimeError("routes without an enforced access rule: " + "; ".join(problems))
