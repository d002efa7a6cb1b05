"""Settings survive the trip to worker processes, and SQLite's memory settings reach every connection."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from runyard.config import Settings
from runyard.store.database import Database, SqliteMemory


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    settings = Settings(port=5123, data_dir=tmp_path, workers=3, sqlite_cache_mib=7, sqlite_mmap_mib=0)
    assert Settings.from_env(settings.to_env()) == settings


def test_security_and_connection_settings_round_trip(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        allowed_hosts=("mlflow.example.com", "*.corp:8080"),
        cors_allowed_origins=("https://app.example.com",),
        request_head_timeout=1.5,
        request_body_timeout=0,
        min_body_rate=0,
        keep_alive_timeout=2,
        max_connections=7,
    )
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({"RUNYARD_ALLOWED_HOSTS": " a, ,b "}).allowed_hosts == ("a", "b")


def test_defaults_when_the_environment_is_silent() -> None:
    assert Settings.from_env({}) == Settings()


def test_sqlite_memory_applies_to_each_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}", sqlite_memory=SqliteMemory(cache_mib=3, mmap_mib=5))
    try:
        for _ in range(2):
            with db.engine.connect() as conn:
                assert conn.execute(text("PRAGMA cache_size")).scalar() == -3 * 1024
                assert conn.execute(text("PRAGMA mmap_size")).scalar() == 5 * 1024 * 1024
    finally:
        db.dispose()
