"""The auth API's request reading (the reference's missing-parameter and integer messages) and its
rendering of direct grants as the per-user role `__user_<id>__`."""

from __future__ import annotations

import pytest

from runyard.api.identity import render
from runyard.api.identity.messages import AddRolePermission, RoleId, UpdateAdmin, parse
from runyard.domain.errors import MlflowError
from runyard.domain.identity import USER, GrantRecord, Principal
from runyard.domain.permissions import MANAGE, READ


def test_missing_parameter_is_named_as_the_reference_names_it() -> None:
    with pytest.raises(MlflowError) as e:
        parse({}, RoleId)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert e.value.message.startswith("Missing value for required parameter 'role_id'.")


def test_ids_are_integers_from_the_query_string_or_the_body() -> None:
    assert parse({"role_id": "12"}, RoleId).role_id == 12
    assert parse({"role_id": 12}, RoleId).role_id == 12
    with pytest.raises(MlflowError) as e:
        parse({"role_id": "abc"}, RoleId)
    assert e.value.message == "Parameter 'role_id' must be an integer. Got: 'abc'"


def test_other_bad_types_are_invalid_parameter_values() -> None:
    with pytest.raises(MlflowError) as e:
        parse({"username": "a", "is_admin": "perhaps"}, UpdateAdmin)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    body = {"role_id": 1, "resource_type": "experiment", "resource_pattern": "*", "permission": "READ"}
    assert parse(body, AddRolePermission).permission == "READ"


def test_direct_grants_render_as_one_user_role_per_workspace() -> None:
    alice = Principal(7, "alice", USER, False, True, 1, 0, 0)
    grants = [
        GrantRecord(1, "default", "alice", "experiment", "3", MANAGE),
        GrantRecord(2, "default", "alice", "registered_model", "m", READ),
        GrantRecord(3, "research", "alice", "experiment", "*", READ),
    ]
    roles = render.direct_roles(alice, grants)
    assert [(r["name"], r["workspace"], len(r["permissions"])) for r in roles] == [  # type: ignore[arg-type]
        ("__user_7__", "default", 2),
        ("__user_7__", "research", 1),
    ]
    rows = render.permission_rows(roles)
    assert rows[0] == {
        "permission": "MANAGE",
        "resource_pattern": "3",
        "resource_type": "experiment",
        "role_id": render.USER_ROLE_ID,
        "role_name": "__user_7__",
        "workspace": "default",
    }
