"""The cached logins: mode 0600 in a 0700 folder, atomic replacement, the last server, and a
corrupt file read as empty."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from runyard.plugin.login_store import LoginStore, StoredLogin, config_dir


def test_round_trip_and_permissions(tmp_path: Path) -> None:
    store = LoginStore(tmp_path / "cfg")
    assert store.get("http://a:1") is None and store.last_server() is None
    store.put(StoredLogin("http://a:1", "rt-1", "alice"))
    store.put(StoredLogin("http://b:2", "rt-2", "bob"), make_last=False)
    assert store.last_server() == "http://a:1"
    got = store.get("http://a:1")
    assert got is not None and (got.refresh_token, got.user) == ("rt-1", "alice") and got.updated_at > 0
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert [p.name for p in store.folder.iterdir() if p.name.startswith(".logins-")] == []  # no temp file left


def test_newest_refresh_token_replaces_the_old(tmp_path: Path) -> None:
    store = LoginStore(tmp_path)
    store.put(StoredLogin("http://a:1", "rt-1"))
    store.put(StoredLogin("http://a:1", "rt-2"))
    got = store.get("http://a:1")
    assert got is not None and got.refresh_token == "rt-2"
    assert "rt-1" not in store.path.read_text()


def test_delete_forgets_the_login_and_the_last_server(tmp_path: Path) -> None:
    store = LoginStore(tmp_path)
    store.put(StoredLogin("http://a:1", "rt-1"))
    store.put(StoredLogin("http://b:2", "rt-2"))
    removed = store.delete("http://b:2")
    assert removed is not None and removed.refresh_token == "rt-2"
    assert store.get("http://b:2") is None and store.last_server() is None
    assert store.get("http://a:1") is not None
    assert store.delete("http://b:2") is None


def test_a_corrupt_file_reads_as_no_login(tmp_path: Path) -> None:
    store = LoginStore(tmp_path)
    store.path.write_text("{not json")
    assert store.get("http://a:1") is None
    store.put(StoredLogin("http://a:1", "rt-1"))
    assert store.get("http://a:1") is not None


def test_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RUNYARD_CONFIG_DIR", str(tmp_path / "x"))
    assert config_dir() == tmp_path / "x"
    monkeypatch.delenv("RUNYARD_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "runyard"
