"""The Host and Origin rules of `runyard.api.security`, and the JSON content-type rule."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from runyard.api.security import (
    HostRules,
    OriginRules,
    default_allowed_hosts,
    is_same_origin,
    require_json_body,
    security_rules,
)
from runyard.domain.errors import MlflowError

ports = st.integers(min_value=0, max_value=65535).map(str)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=4).map(".".join)


def _loopback_bound() -> HostRules:
    return security_rules("127.0.0.1", (), ())[0]


@given(st.sampled_from(["localhost", "127.0.0.1", "[::1]", "LocalHost"]), st.one_of(st.none(), ports))
def test_localhost_names_on_any_port(name: str, port: str | None) -> None:
    host = name if port is None else f"{name}:{port}"
    assert _loopback_bound().allows(host)


@given(names, st.one_of(st.none(), ports))
def test_other_names_are_refused_by_default(name: str, port: str | None) -> None:
    if name in ("localhost", "127.0.0.1"):
        return
    host = name if port is None else f"{name}:{port}"
    assert not _loopback_bound().allows(host)


@given(st.text(max_size=40))
def test_any_host_value_gets_an_answer(value: str) -> None:
    rules = HostRules(["*.example.com", "a:1", "[fe80::1]"], any_ip_address=True)
    assert rules.allows(value) in (True, False)


def test_patterns_name_any_port_or_one_port_and_wildcards() -> None:
    rules = HostRules(["mlflow.example.com", "api.example.com:8080", "*.corp.example", "10.0.*", "[fd00::5]"])
    allowed = [
        "mlflow.example.com",
        "MLFLOW.example.com:5000",
        "api.example.com:8080",
        "x.corp.example:1",
        "a.b.corp.example",
        "10.0.3.4:5000",
        "[fd00::5]:80",
    ]
    refused = [
        "api.example.com",
        "api.example.com:8081",
        "corp.example",
        "evilcorp.example",
        "mlflow.example.com.evil",
        "10.1.0.1",
        "mlflow.example.com:abc",
        "[fd00::6]",
        "",
    ]
    assert [h for h in allowed if not rules.allows(h)] == []
    assert [h for h in refused if rules.allows(h)] == []


def test_star_allows_every_host() -> None:
    assert HostRules(["*"]).allows("anything.at.all:1")


def test_bound_address_is_allowed_and_wildcard_binds_allow_addresses_and_the_host_name() -> None:
    one = security_rules("192.168.1.10", (), ())[0]
    assert one.allows("192.168.1.10:5000")
    assert not one.allows("192.168.1.11:5000")
    v6 = security_rules("fe80::1", (), ())[0]
    assert v6.allows("[fe80::1]:5000")
    every = security_rules("0.0.0.0", (), ())[0]
    for host in ("203.0.113.9:5000", "10.0.0.1", "[2001:db8::1]:5000", socket.gethostname().lower(), "localhost"):
        assert every.allows(host), host
    assert not every.allows("evil.example:5000")
    assert not every.allows("2001:db8::1")  # an IPv6 Host must be bracketed
    assert default_allowed_hosts("::")[1] is True


def test_operator_hosts_add_to_the_defaults() -> None:
    rules = security_rules("127.0.0.1", ("mlflow.example.com",), ())[0]
    assert rules.allows("mlflow.example.com:443")
    assert rules.allows("localhost:5000")


def test_origin_patterns() -> None:
    rules = OriginRules(["https://app.example.com/", "https://*.nb.example", " "])
    assert rules.allows("https://app.example.com")
    assert rules.allows("HTTPS://App.Example.com")
    assert rules.allows("https://a.nb.example")
    assert not rules.allows("http://app.example.com")
    assert not rules.allows("https://app.example.com.evil")
    assert not rules.allows("null")
    assert OriginRules(["*"]).allows("http://anything")
    assert OriginRules([]).empty


@given(st.sampled_from(["http", "https"]), names, st.one_of(st.none(), ports))
def test_same_origin_is_the_host_the_browser_used(scheme: str, name: str, port: str | None) -> None:
    host = name if port is None else f"{name}:{port}"
    assert is_same_origin(f"{scheme}://{host}", host)
    assert is_same_origin(f"{scheme}://{host.upper()}", host)
    assert not is_same_origin(f"{scheme}://{host}.evil", host)
    assert not is_same_origin(f"ftp://{host}", host)
    assert not is_same_origin(host, host)


def _request(method: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": method, "headers": raw, "path": "/", "query_string": b""})


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "application/json; charset=utf-8", "content-length": "10"},
        {"content-type": "APPLICATION/JSON"},
        {},
        {"content-length": "0"},
    ],
)
def test_json_bodies_and_empty_bodies_pass(headers: dict[str, str]) -> None:
    require_json_body(_request("POST", headers))


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "text/plain", "content-length": "0"},
        {"content-type": "application/x-www-form-urlencoded", "content-length": "3"},
        {"content-type": ""},
        {"content-length": "2"},
        {"transfer-encoding": "chunked"},
    ],
)
def test_other_bodies_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(MlflowError) as err:
        require_json_body(_request("POST", headers))
    assert err.value.http_status == 400
    assert "Content-Type" in err.value.message
