"""The token endpoint's client authentication, personal token expiry, audit page tokens and the
delete-audit rule, without a server."""

from __future__ import annotations

import base64

import pytest
from starlette.requests import Request

from runyard.api.delete_audit import deleted_kind, describe
from runyard.api.identity.audit_events import before_id
from runyard.api.identity.personal_tokens import CreateToken, expiry
from runyard.api.oauth.forms import OAuthError
from runyard.api.oauth.forms import basic_client as _basic_client
from runyard.domain.access_rules import parse_rule
from runyard.domain.errors import MlflowError
from runyard.services.identity.client_names import describe_client as _describe


def request(headers: dict[str, str] | None = None, query: bytes = b"", path: str = "/x") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": "POST", "path": path, "query_string": query, "headers": raw}
    return Request(scope)


def test_basic_client_credentials_are_form_decoded() -> None:
    value = base64.b64encode(b"ryd_sp_a%2Bb:se%3Acret+x").decode()
    assert _basic_client(request({"Authorization": f"Basic {value}"})) == ("ryd_sp_a+b", "se:cret x")
    assert _basic_client(request()) is None
    for bad in ("Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        with pytest.raises(OAuthError) as e:
            _basic_client(request({"Authorization": bad}))
        assert e.value.error == "invalid_client" and e.value.status == 401
        assert e.value.headers["WWW-Authenticate"].startswith("Basic")


def test_a_secret_typed_as_client_id_is_not_recorded() -> None:
    assert _describe("ryd_sp_0123456789abcdef01234567") == "client ryd_sp_0123456789abcdef01234567"
    assert "hunter2" not in _describe("hunter2-the-secret")


def test_token_expiry() -> None:
    now = 1_000_000
    assert expiry(CreateToken(name="a"), now) is None
    assert expiry(CreateToken(name="a", expires_in_days=1), now) == now + 86_400_000
    assert expiry(CreateToken(name="a", expires_at=now + 5), now) == now + 5
    for body in (
        CreateToken(name="a", expires_in_days=1, expires_at=now + 5),
        CreateToken(name="a", expires_in_days=0),
        CreateToken(name="a", expires_in_days=100_000),
        CreateToken(name="a", expires_at=now),
    ):
        with pytest.raises(MlflowError):
            expiry(body, now)


def test_audit_page_tokens() -> None:
    assert before_id(None) is None and before_id("") is None
    assert before_id("42") == 42
    for bad in ("-1", "x", "1" * 30, "\uff14\uff12"):
        with pytest.raises(MlflowError):
            before_id(bad)


def test_which_routes_are_audited_as_deletes() -> None:
    assert deleted_kind(parse_rule("experiment:delete"), "POST") == "experiment"
    assert deleted_kind(parse_rule("registered_model:delete"), "DELETE") == "registered_model"
    assert deleted_kind(parse_rule("workspace:admin"), "DELETE") == "workspace"
    assert deleted_kind(parse_rule("workspace:admin"), "POST") is None
    assert deleted_kind(parse_rule("run:write"), "POST") is None
    assert deleted_kind(parse_rule("admin"), "DELETE") is None  # accounts audit their own deletes
    assert deleted_kind(parse_rule("public"), "DELETE") is None


def test_delete_resource_names_only_ids() -> None:
    body = b'{"name": "m", "version": "2", "password": "hunter2", "value": "secret", "experiment_id": 7}'
    described = describe(request(query=b"run_id=abc&token=zzz", path="/api/2.0/mlflow/x/delete"), body)
    assert described == "/api/2.0/mlflow/x/delete run_id=abc experiment_id=7 name=m version=2"
    assert describe(request(path="/p"), b"not json") == "/p"
