"""Settings survive the trip to worker processes, reject what Runyard cannot serve, and SQLite's memory
settings reach every connection."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import text

from runyard.artifacts.location import LocalFolder, S3Prefix
from runyard.config import (
    SOURCE_COMMAND_LINE,
    SOURCE_DEFAULT,
    SOURCE_MLFLOW_ENV,
    SOURCE_RUNYARD_ENV,
    ConfigError,
    Settings,
    artifact_location,
    check_database_scheme,
    mask_password,
    resolve_artifacts_destination,
)
from runyard.store.database import Database, SqliteMemory


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    settings = Settings(port=5123, data_dir=tmp_path, workers=3, sqlite_cache_mib=7, sqlite_mmap_mib=0)
    assert Settings.from_env(settings.to_env()) == settings


def test_every_field_round_trips_with_a_non_default_value(tmp_path: Path) -> None:
    settings = Settings(
        host="::",
        port=0,
        data_dir=tmp_path,
        backend_store_uri="postgresql://u:p@h/db",
        artifacts_destination=f"file://{tmp_path}/a",
        workers=4,
        sqlite_cache_mib=3,
        sqlite_mmap_mib=5,
        log_level="debug",
        access_log=True,
        log_format="json",
        metrics=True,
        metrics_dir=str(tmp_path / "metrics"),
        allowed_artifact_roots=("/srv/a", "/srv/b"),
        upload_purge_interval_seconds=12.5,
        stale_upload_seconds=99.5,
        allowed_hosts=("mlflow.example.com", "*.corp:8080"),
        cors_allowed_origins=("https://app.example.com",),
        request_head_timeout=1.5,
        request_body_timeout=0,
        min_body_rate=0,
        keep_alive_timeout=2,
        max_connections=7,
        auth="on",
        default_permission="READ",
        access_token_ttl=120,
        auth_failure_limit=3,
        audit_retention_days=7.5,
        secret_key="k" * 40,
        oidc_issuer="https://id.example.com",
        oidc_client_id="runyard",
        oidc_client_secret_env="RUNYARD_TEST_OIDC_SECRET",
        oidc_admin_claim="groups=admins",
        oidc_role_claim="roles",
        mirror=False,
        public_url="https://runyard.example.com",
    )
    defaults = Settings(data_dir=tmp_path)
    # A field added later without a non-default value here makes this test fail: extend it.
    assert all(
        getattr(settings, f.name) != getattr(defaults, f.name)
        for f in dataclasses.fields(Settings)
        if f.name != "data_dir"
    )
    assert Settings.from_env(settings.to_env()) == settings


def test_to_env_overrides_what_the_shell_set_for_unset_fields(tmp_path: Path) -> None:
    env = {"RUNYARD_BACKEND_STORE_URI": "sqlite:////elsewhere.db", "RUNYARD_ACCESS_LOG": "1"}
    env.update(Settings(data_dir=tmp_path).to_env())
    assert Settings.from_env(env) == Settings(data_dir=tmp_path)


def test_list_settings_drop_blank_items() -> None:
    assert Settings.from_env({"RUNYARD_ALLOWED_HOSTS": " a, ,b "}).allowed_hosts == ("a", "b")


def test_defaults_when_the_environment_is_silent() -> None:
    assert Settings.from_env({}) == Settings()


def test_a_malformed_environment_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="RUNYARD_PORT"):
        Settings.from_env({"RUNYARD_PORT": "eighty"})
    with pytest.raises(ConfigError, match="RUNYARD_ACCESS_LOG"):
        Settings.from_env({"RUNYARD_ACCESS_LOG": "maybe"})


@pytest.mark.parametrize(
    "dest", ["gs://b", "wasbs://c@a.blob.core.windows.net/p", "hdfs:/x", "ftp://h/p", "http://example.com/a"]
)
def test_unsupported_destinations_are_refused(dest: str) -> None:
    with pytest.raises(ConfigError, match=r"not supported.*s3://bucket/prefix"):
        Settings(artifacts_destination=dest)


def test_s3_destinations_are_bucket_prefixes() -> None:
    settings = Settings(artifacts_destination="s3://my-bucket/team/a/")
    assert settings.artifact_location == S3Prefix("my-bucket", "team/a")
    assert settings.artifact_root == "s3://my-bucket/team/a"
    assert Settings(artifacts_destination="s3://my-bucket").artifact_location == S3Prefix("my-bucket", "")
    for bad in ("s3://", "s3://Bad_Bucket/x", "s3://b/x", "s3://bucket/../x", "s3://bucket/a?x=1", "s3:bucket"):
        with pytest.raises(ConfigError, match="--artifacts-destination"):
            Settings(artifacts_destination=bad)
    assert Settings(allowed_artifact_roots=("/data/x", "s3://other-bucket/p")).allowed_artifact_roots
    for bad in ("relative", "gs://b/p"):
        with pytest.raises(ConfigError, match="--allowed-artifact-roots"):
            Settings(allowed_artifact_roots=(bad,))


def test_local_destinations_are_folders() -> None:
    assert artifact_location("/data/a", "--x") == LocalFolder("/data/a")
    assert artifact_location("relative/a", "--x") == LocalFolder("relative/a")
    assert artifact_location("file:///data/a%20b", "--x") == LocalFolder("/data/a b")
    assert artifact_location("file://localhost/data/a", "--x") == LocalFolder("/data/a")
    assert Settings(artifacts_destination="file:///data/x").artifact_root == "/data/x"
    with pytest.raises(ConfigError, match="file URI"):
        artifact_location("file://otherhost/data", "--x")


@pytest.mark.parametrize("uri", ["mysql://u@h/db", "mssql+pyodbc://h/db", "postgresql+psycopg2://h/db", "nonsense"])
def test_unknown_database_schemes_are_refused(uri: str) -> None:
    with pytest.raises(ConfigError, match="--backend-store-uri"):
        check_database_scheme(uri)


def test_passwords_are_masked() -> None:
    assert mask_password("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert "s3cret" not in mask_password("postgresql://u@h/db?password=s3cret&sslmode=require")
    assert "s3cret" not in mask_password("weird://u:s3cret@h")
    assert Settings(backend_store_uri="postgresql://u:s3cret@h/db").database_display == "postgresql://u:***@h/db"


def test_default_artifact_root_maps_onto_the_destination(tmp_path: Path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    resolve = resolve_artifacts_destination
    assert resolve(None, SOURCE_DEFAULT, "mlflow-artifacts:/", SOURCE_COMMAND_LINE) is None
    assert resolve(a, SOURCE_COMMAND_LINE, "mlflow-artifacts:/", SOURCE_COMMAND_LINE) == a
    assert resolve(None, SOURCE_DEFAULT, b, SOURCE_MLFLOW_ENV) == b
    assert resolve(a, SOURCE_RUNYARD_ENV, b, SOURCE_MLFLOW_ENV) == a  # RUNYARD_* wins over MLFLOW_*
    assert resolve(a, SOURCE_MLFLOW_ENV, b, SOURCE_COMMAND_LINE) == b  # the command line wins
    assert resolve(a, SOURCE_COMMAND_LINE, f"file://{a}", SOURCE_COMMAND_LINE) == a  # the same folder
    with pytest.raises(ConfigError, match="different folders"):
        resolve(a, SOURCE_COMMAND_LINE, b, SOURCE_COMMAND_LINE)
    for root in ("gs://bucket", "http://host/api", "mlflow-artifacts:/prefix"):
        with pytest.raises(ConfigError, match="--default-artifact-root"):
            resolve(None, SOURCE_DEFAULT, root, SOURCE_COMMAND_LINE)
    # `mlflow server --default-artifact-root s3://...` is where the bytes go, here as there
    assert resolve(None, SOURCE_DEFAULT, "s3://bucket/p", SOURCE_COMMAND_LINE) == "s3://bucket/p"
    assert resolve("s3://bucket/p/", SOURCE_COMMAND_LINE, "s3://bucket/p", SOURCE_COMMAND_LINE) == "s3://bucket/p/"
    with pytest.raises(ConfigError, match="different folders"):
        resolve("s3://bucket/p", SOURCE_COMMAND_LINE, "s3://bucket/q", SOURCE_COMMAND_LINE)


def test_sqlite_memory_applies_to_each_connection(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}", sqlite_memory=SqliteMemory(cache_mib=3, mmap_mib=5))
    try:
        for _ in range(2):
            with db.engine.connect() as conn:
                assert conn.execute(text("PRAGMA cache_size")).scalar() == -3 * 1024
                assert conn.execute(text("PRAGMA mmap_size")).scalar() == 5 * 1024 * 1024
    finally:
        db.dispose()


@dataclasses.dataclass(frozen=True)
class _WithMoreKinds(Settings):
    names: tuple[str, ...] = ()
    seconds: float = 30.0


def test_settings_added_later_round_trip_by_their_type(tmp_path: Path) -> None:
    settings = _WithMoreKinds(data_dir=tmp_path, names=("localhost", "runyard.internal:5000"), seconds=2.5)
    assert _WithMoreKinds.from_env(settings.to_env()) == settings
    assert _WithMoreKinds.from_env(_WithMoreKinds(data_dir=tmp_path).to_env()).names == ()
