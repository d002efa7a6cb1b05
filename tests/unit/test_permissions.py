"""The permission rule: its cases, the route-rule vocabulary, and the SQL form agreeing with the
in-memory form on every combination of grants (property test over a real SQLite database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select
from sqlalchemy.engine import Engine

from runyard.domain.access_rules import parse_rule
from runyard.domain.errors import MlflowError
from runyard.domain.permissions import (
    DENY,
    EDIT,
    EXPERIMENT,
    FOLDER,
    MANAGE,
    NO_PERMISSIONS,
    READ,
    REGISTERED_MODEL,
    USE,
    WORKSPACE,
    Grant,
    combine,
    effective_level,
    grant_target,
    parse_permission,
)
from runyard.store import schema
from runyard.store.identity.access_sql import level_expression


def test_deny_vetoes_and_the_highest_level_wins_otherwise() -> None:
    assert combine([READ, MANAGE, EDIT], default=NO_PERMISSIONS) == MANAGE
    assert combine([READ, DENY, MANAGE], default=MANAGE) == NO_PERMISSIONS
    assert combine([], default=READ) == READ
    # An explicit NO_PERMISSIONS takes the default away.
    assert combine([NO_PERMISSIONS], default=EDIT) == NO_PERMISSIONS


def test_grants_match_by_id_wildcard_workspace_and_folder() -> None:
    grants = [Grant(EXPERIMENT, "7", EDIT), Grant(FOLDER, "/Shared/team/", READ)]
    level = effective_level(grants, EXPERIMENT, "7", "/Shared/other/x", default=NO_PERMISSIONS, owner_prefix=None)
    assert level == EDIT
    assert effective_level(grants, EXPERIMENT, "8", "/Shared/team/x", default=NO_PERMISSIONS, owner_prefix=None) == READ
    assert effective_level(grants, EXPERIMENT, "8", "/Shared/teams", default=NO_PERMISSIONS, owner_prefix=None) == 0
    # A grant on an experiment id opens no registered model that happens to be named like it.
    assert effective_level(grants, REGISTERED_MODEL, "7", "7", default=NO_PERMISSIONS, owner_prefix=None) == 0
    everything = [Grant(WORKSPACE, "*", USE)]
    assert effective_level(everything, REGISTERED_MODEL, "m", "m", default=NO_PERMISSIONS, owner_prefix=None) == USE


def test_users_own_their_folder() -> None:
    deny = [Grant(WORKSPACE, "*", DENY)]
    owner = "/Users/ann/"
    assert effective_level(deny, EXPERIMENT, "1", "/Users/ann/exp", default=0, owner_prefix=owner) == MANAGE
    assert effective_level(deny, EXPERIMENT, "1", "/Users/anna/exp", default=READ, owner_prefix=owner) == 0


def test_grant_targets_are_checked() -> None:
    assert grant_target(FOLDER, "/Shared/team") == (FOLDER, "/Shared/team/")
    assert grant_target("run", "*") == (EXPERIMENT, "*")
    for resource_type, pattern in [("workspace", "x"), ("bogus", "*"), (FOLDER, "relative/"), (EXPERIMENT, "")]:
        with pytest.raises(MlflowError):
            grant_target(resource_type, pattern)
    with pytest.raises(MlflowError):
        parse_permission("WRITE")
    assert parse_permission("manage") == MANAGE


def test_route_rules_outside_the_vocabulary_are_refused() -> None:
    assert parse_rule("public").public
    assert parse_rule("workspace:admin").admin
    assert parse_rule("run:write").level == EDIT
    assert parse_rule("experiment:delete").level == MANAGE
    for bad in ["", "pubic", "run:wirte", "nothing:read", "run"]:
        with pytest.raises(ValueError):
            parse_rule(bad)


# --- the SQL form agrees with the in-memory form -------------------------------------------------

_PRINCIPAL, _WORKSPACE, _ROLE = 1, 1, 1
_EXPERIMENT_ID, _EXPERIMENT_NAME = 5, "/Shared/team/project/run-sweep"

_targets = st.sampled_from(
    [
        (EXPERIMENT, "5"),
        (EXPERIMENT, "6"),
        (EXPERIMENT, "*"),
        (REGISTERED_MODEL, "5"),
        (REGISTERED_MODEL, "*"),
        (WORKSPACE, "*"),
        (FOLDER, "/Shared/"),
        (FOLDER, "/Shared/team/"),
        (FOLDER, "/Shared/tea/"),
        (FOLDER, "/Users/ann/"),
    ]
)
_levels = st.sampled_from([DENY, NO_PERMISSIONS, READ, USE, EDIT, MANAGE])
_grant_sets = st.dictionaries(_targets, _levels, max_size=6)


@pytest.fixture(scope="module")
def engine() -> Engine:
    engine = create_engine("sqlite://")
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(schema.workspaces.insert().values(id=_WORKSPACE, name="w", creation_time=0, last_update_time=0))
        conn.execute(
            schema.principals.insert().values(
                id=_PRINCIPAL, name="ann", kind="user", creation_time=0, last_update_time=0
            )
        )
        conn.execute(schema.roles.insert().values(id=_ROLE, workspace_id=_WORKSPACE, name="r", creation_time=0))
        conn.execute(schema.role_members.insert().values(role_id=_ROLE, principal_id=_PRINCIPAL))
    return engine


def _sql_level(
    engine: Engine,
    direct: dict[tuple[str, str], int],
    via_role: dict[tuple[str, str], int],
    default: int,
    owner: str | None,
) -> int:
    with engine.begin() as conn:
        conn.execute(schema.grants.delete())
        conn.execute(schema.role_permissions.delete())
        for (kind, pattern), level in direct.items():
            conn.execute(
                schema.grants.insert().values(
                    workspace_id=_WORKSPACE,
                    principal_id=_PRINCIPAL,
                    resource_type=kind,
                    resource_pattern=pattern,
                    level=level,
                )
            )
        for (kind, pattern), level in via_role.items():
            conn.execute(
                schema.role_permissions.insert().values(
                    role_id=_ROLE, resource_type=kind, resource_pattern=pattern, level=level
                )
            )
        expression = level_expression(
            principal_id=_PRINCIPAL,
            workspace_id=_WORKSPACE,
            kind=EXPERIMENT,
            id_column=literal(_EXPERIMENT_ID),
            name_column=literal(_EXPERIMENT_NAME),
            default=default,
            owner_prefix=owner,
        )
        return int(conn.execute(select(expression)).scalar_one())


@settings(max_examples=300, deadline=None)
@given(direct=_grant_sets, via_role=_grant_sets, default=_levels.filter(lambda v: v >= 0), owned=st.booleans())
def test_sql_and_memory_give_one_answer(
    engine: Engine, direct: dict[tuple[str, str], int], via_role: dict[tuple[str, str], int], default: int, owned: bool
) -> None:
    owner = "/Shared/team/" if owned else None
    grants = [Grant(k, p, v) for (k, p), v in [*direct.items(), *via_role.items()]]
    expected = effective_level(
        grants, EXPERIMENT, str(_EXPERIMENT_ID), _EXPERIMENT_NAME, default=default, owner_prefix=owner
    )
    assert _sql_level(engine, direct, via_role, default, owner) == expected
