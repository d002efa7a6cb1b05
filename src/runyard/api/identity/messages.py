"""Request messages of the auth API as pydantic models, read the way the reference reads them:
GET from the query string, POST/PATCH/DELETE from the JSON body; a missing field is
`Missing value for required parameter '<name>'` and a non-integer id `Parameter '<name>' must be
an integer` (both INVALID_PARAMETER_VALUE)."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

from runyard.api.http import read_json_body
from runyard.domain.errors import invalid

M = TypeVar("M", bound="Message")


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Username(Message):
    username: str


class CreateUser(Message):
    username: str
    password: str


class UpdatePassword(Message):
    username: str
    password: str
    current_password: str | None = None


class UpdateAdmin(Message):
    username: str
    is_admin: bool


class CreateRole(Message):
    name: str
    workspace: str | None = None
    description: str | None = None


class RoleId(Message):
    role_id: int


class UpdateRole(Message):
    role_id: int
    name: str | None = None
    description: str | None = None


class AddRolePermission(Message):
    role_id: int
    resource_type: str
    resource_pattern: str
    permission: str


class RolePermissionId(Message):
    role_permission_id: int


class UpdateRolePermission(Message):
    role_permission_id: int
    permission: str


class Assignment(Message):
    username: str
    role_id: int


class UserResource(Message):
    username: str
    resource_type: str
    resource_id: str


class GrantPermission(UserResource):
    permission: str


async def request_params(request: Request) -> dict[str, object]:
    """The request's parameters: the query string for GET, else the JSON body (not an object: none)."""
    if request.method == "GET":
        return dict(request.query_params)
    raw = await read_json_body(request)
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None
    return data if isinstance(data, dict) else {}


def parse(params: dict[str, object], model: type[M]) -> M:
    values = dict(params)
    for name, field in model.model_fields.items():
        if name not in values or (values[name] is None and field.is_required()):
            if field.is_required():
                raise invalid(
                    f"Missing value for required parameter '{name}'. "
                    "See the API docs for more information about request parameters."
                )
            continue
        if field.annotation is int and not isinstance(values[name], bool):
            try:
                values[name] = int(values[name])  # type: ignore[call-overload]
            except (TypeError, ValueError):
                raise invalid(f"Parameter '{name}' must be an integer. Got: {values[name]!r}") from None
    try:
        return model.model_validate(values)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise invalid(f"Invalid value for parameter '{where}': {first['msg']}") from None


async def read(request: Request, model: type[M]) -> M:
    return parse(await request_params(request), model)
