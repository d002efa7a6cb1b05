"""`runyard://` / `runyard+http://` URIs and server addresses: base URL, workspace, API host."""

from __future__ import annotations

import pytest

from runyard.plugin.auth import base_for, register
from runyard.plugin.uris import Target, UriError, base_of_request_url, is_runyard_uri, parse_runyard_uri, parse_server


@pytest.mark.parametrize(
    ("uri", "base", "workspace"),
    [
        ("runyard://ml.example.com/team-a", "https://ml.example.com", "team-a"),
        ("runyard://ml.example.com:8443/default", "https://ml.example.com:8443", "default"),
        ("runyard+http://127.0.0.1:5000/default", "http://127.0.0.1:5000", "default"),
        ("RUNYARD+HTTP://Host:5000/ws", "http://host:5000", "ws"),
        ("runyard://ml.example.com", "https://ml.example.com", "default"),
        ("runyard://ml.example.com/", "https://ml.example.com", "default"),
        ("runyard://ml.example.com/w/team", "https://ml.example.com", "team"),
        ("runyard://proxy.example.com/runyard/team", "https://proxy.example.com/runyard", "team"),
        ("runyard://ml.example.com/caf%C3%A9", "https://ml.example.com", "café"),
    ],
)
def test_runyard_uris(uri: str, base: str, workspace: str) -> None:
    target = parse_runyard_uri(uri)
    assert target == Target(base, workspace)
    assert is_runyard_uri(uri)


def test_api_host_carries_the_workspace() -> None:
    assert Target("http://h:1", "team").api_host == "http://h:1/w/team"
    assert Target("https://h/prefix", "a b").api_host == "https://h/prefix/w/a%20b"
    assert Target("http://h:1").api_host == "http://h:1"


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("runyard://user:secret@host/ws", "credentials do not belong"),
        ("runyard:///ws", "no host"),
        ("runyard://host:notaport/ws", "Port"),
        ("runyard://host/ws?x=1", "no query"),
        ("http://host/ws", "expected runyard://"),
    ],
)
def test_bad_runyard_uris(uri: str, fragment: str) -> None:
    with pytest.raises(UriError, match=fragment) as caught:
        parse_runyard_uri(uri)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "base", "workspace"),
    [
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000", None),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000", None),
        ("https://ml.example.com/w/team", "https://ml.example.com", "team"),
        ("https://ml.example.com/prefix", "https://ml.example.com/prefix", None),
        ("runyard+http://127.0.0.1:5000/team", "http://127.0.0.1:5000", "team"),
        ("  https://ml.example.com  ", "https://ml.example.com", None),
    ],
)
def test_server_addresses(text: str, base: str, workspace: str | None) -> None:
    assert parse_server(text) == Target(base, workspace)


@pytest.mark.parametrize("text", ["ftp://host", "file:///tmp/mlruns", "sqlite:///db", "databricks", "http://"])
def test_not_a_server(text: str) -> None:
    with pytest.raises(UriError):
        parse_server(text)


def test_tracking_uri_round_trip() -> None:
    assert Target("http://127.0.0.1:5000").tracking_uri() == "runyard+http://127.0.0.1:5000/default"
    assert Target("https://ml.example.com", "a").tracking_uri() == "runyard://ml.example.com/a"
    assert Target("https://ml.example.com", "a").tracking_uri("b") == "runyard://ml.example.com/b"
    for uri in ["runyard://h:1/p/ws", "runyard+http://h:2/ws"]:
        assert parse_runyard_uri(parse_runyard_uri(uri).tracking_uri()) == parse_runyard_uri(uri)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://h:5000/api/2.0/mlflow/runs/get?run_id=1", "http://h:5000"),
        ("http://h:5000/w/team/api/2.0/mlflow/runs/get", "http://h:5000"),
        ("https://h/prefix/w/team/api/2.0/mlflow-artifacts/artifacts/1/x", "https://h/prefix"),
        ("https://h/prefix/ajax-api/2.0/mlflow/metrics/get-history", "https://h/prefix"),
        ("http://h:5000/version", "http://h:5000"),
    ],
)
def test_base_of_request_urls(url: str, base: str) -> None:
    assert base_of_request_url(url) == base


def test_registered_api_hosts_win_over_the_guess() -> None:
    # A prefix that itself contains "/w/..." is only right when registered.
    register(Target("http://odd:1/w/x", "team"))
    assert base_for("http://odd:1/w/x/w/team/api/2.0/mlflow/runs/get") == "http://odd:1/w/x"
    assert base_for("http://other:1/w/team/api/2.0/mlflow/runs/get") == "http://other:1"
