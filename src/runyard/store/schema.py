"""Table definitions (SQLAlchemy Core). The migrations create exactly these tables.

Shape decisions, made for speed:
- metric, param and tag keys are interned in `keys` and referenced by integer id;
- runs have an integer surrogate key (`runs.id`) that the narrow child rows point at, the 32-hex
  `run_uuid` is only looked up once per request;
- `metrics` holds every point as a narrow row (run, key, step, timestamp, value, is_nan) whose
  primary key also deduplicates a replayed point, the way MLflow's store does;
- `latest_metrics` keeps the newest point per (run, key) for run pages, search and sort;
- every top-level object belongs to a workspace, so isolation is a column, not a convention.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Deterministic constraint names keep migrations portable between SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Tables created with `sqlite_with_rowid=False` are stored by SQLite as plain B-trees keyed by the
# primary key (no hidden rowid, no second index).

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("naming", String(8), nullable=False, server_default="flat"),
    Column("artifact_root", Text, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    # JSON list of the folders `path` naming allows (e.g. ["/Users/", "/Shared/"]); NULL = defaults.
    Column("path_roots", Text, nullable=True),
    # Ids are never reused (see migration 0006): a stale cached workspace cannot reach a newer one.
    sqlite_autoincrement=True,
)

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(16), nullable=False, server_default="active"),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "name"),
    # Ids are never reused (see migration 0011): an id a client or a cache still holds cannot reach
    # an experiment created later (in a workspace re-created under the same name).
    sqlite_autoincrement=True,
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

keys = Table(
    "keys",
    metadata,
    Column("key_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False, unique=True),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), nullable=False, unique=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(250), nullable=True),
    Column("user_id", String(256), nullable=True),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=True),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(16), nullable=False, server_default="active"),
    Column("artifact_uri", Text, nullable=False),
    Column("deleted_time", BigInteger, nullable=True),
    Index(None, "experiment_id", "start_time"),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("key_id", Integer, ForeignKey("keys.key_id"), primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

params = Table(
    "params",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("key_id", Integer, ForeignKey("keys.key_id"), primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)


def _point_columns(*, keyed: bool) -> list[Column[Any]]:
    """A metric point's columns: all of them the primary key (`keyed`), or plain non-null columns.
    NaN is stored as value 0 with is_nan set: SQLite has no NaN (it reads back as NULL)."""
    types = {"run_id": Integer, "key_id": Integer, "step": BigInteger, "timestamp": BigInteger}
    columns: list[Column[Any]] = [Column(name, t, primary_key=keyed, nullable=False) for name, t in types.items()]
    return [
        *columns,
        Column("value", Float(53), primary_key=keyed, nullable=False),
        Column("is_nan", Boolean, primary_key=keyed, nullable=False),
    ]


metrics = Table("metrics", metadata, *_point_columns(keyed=True), sqlite_with_rowid=False)

# Metric points acknowledged by the SQLite point writer and not yet moved into `metrics`. Appending
# here touches only the table's last pages, where inserting into `metrics` dirties one page per
# (run, key) series on every commit; `metric_inbox` moves them over in large sorted batches, and
# readers of `metrics` move pending points first. Same columns as `metrics`; no key, no index.
metric_inbox = Table("metric_inbox", metadata, *_point_columns(keyed=False))

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float(53), nullable=False),
    Column("is_nan", Boolean, nullable=False),
    # The lowest step written since the series' `metric_rollups` were brought up to date (NULL:
    # they are, or were never built). Kept by the same upsert that keeps the latest point.
    Column("stale_from", BigInteger, nullable=True),
    sqlite_with_rowid=False,
)


def _rollup_point(name: str, *, nullable: bool) -> list[Column[Any]]:
    """A point of a rollup block: step, timestamp and value (NULL for NaN)."""
    return [
        Column(f"{name}_step", BigInteger, nullable=nullable),
        Column(f"{name}_ts", BigInteger, nullable=nullable),
        Column(f"{name}_value", Float(53), nullable=True),
    ]


# Blocks of consecutive points of a series, derived from `metrics` for the charts' downsampling
# (`store.metric_rollups`, `domain.downsampling`): level 0 summarizes 16 points, each level above 4
# blocks of the one below. Built when a chart first reads a long series, brought up to date from
# `latest_metrics.stale_from` on later reads; never replicated (a mirror derives its own).
metric_rollups = Table(
    "metric_rollups",
    metadata,
    Column("run_id", Integer, primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("ordered", Boolean, nullable=False),
    *_rollup_point("first", nullable=False),
    *_rollup_point("last", nullable=False),
    *_rollup_point("low", nullable=True),
    *_rollup_point("high", nullable=True),
    *_rollup_point("odd", nullable=True),
    sqlite_with_rowid=False,
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    UniqueConstraint("experiment_id", "name", "digest"),
)

dataset_inputs = Table(
    "dataset_inputs",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), primary_key=True),
    # The input's tags as a JSON list of {"key", "value"}; `mlflow.data.context` is copied to
    # `context` so that `datasets.context` filters are a plain column comparison.
    Column("tags", Text, nullable=False),
    Column("context", String(500), nullable=True),
    sqlite_with_rowid=False,
)

run_models = Table(
    "run_models",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("model_id", String(64), primary_key=True),
    # "input" (log-inputs models[]) or "output" (runs/outputs)
    Column("direction", String(8), primary_key=True),
    Column("step", BigInteger, nullable=False, server_default="0"),
    sqlite_with_rowid=False,
)

# --- MLflow 3 logged models -------------------------------------------------------------------
# A logged model has an integer surrogate key (`logged_models.id`) that its narrow child rows point
# at; the public `model_id` ("m-" + 32 hex) is looked up once per request. Param/tag/metric keys
# are interned in `keys` like the runs' keys.

logged_models = Table(
    "logged_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", String(64), nullable=False, unique=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    # PENDING, READY, FAILED or UNSPECIFIED (the client's LoggedModelStatus names)
    Column("status", String(16), nullable=False),
    Column("status_message", Text, nullable=True),
    # "" when absent, as the reference server stores them (so `!=` filters match them)
    Column("model_type", String(500), nullable=False, server_default=""),
    Column("source_run_id", String(32), nullable=False, server_default=""),
    Column("lifecycle_stage", String(16), nullable=False, server_default="active"),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Index(None, "experiment_id", "creation_time"),
    Index(None, "experiment_id", "name"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_pk", Integer, ForeignKey("logged_models.id"), primary_key=True),
    Column("key_id", Integer, ForeignKey("keys.key_id"), primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_pk", Integer, ForeignKey("logged_models.id"), primary_key=True),
    Column("key_id", Integer, ForeignKey("keys.key_id"), primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

# Every point a run logged with `model_id`: narrow rows keyed by model, then key, so a model's
# metrics, a `metrics.<key>` filter and the latest value for ordering are all one primary-key range.
logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("model_pk", Integer, primary_key=True),
    Column("key_id", Integer, primary_key=True),
    Column("timestamp", BigInteger, primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("run_pk", Integer, primary_key=True),
    # "" when the point names no dataset (part of the key: one point per dataset evaluation)
    Column("dataset_name", String(500), primary_key=True, server_default=""),
    Column("dataset_digest", String(36), primary_key=True, server_default=""),
    # NaN is stored as value 0 with is_nan set, as in `metrics`.
    Column("value", Float(53), nullable=False),
    Column("is_nan", Boolean, nullable=False),
    sqlite_with_rowid=False,
)

# --- Model registry ---------------------------------------------------------------------------
# A registered model has an integer surrogate key (`registered_models.id`) that its versions, tags
# and aliases point at, so a rename is one row update and a workspace owns its models by a column.
# `last_version` is the model's version counter: creating a version increments it in the same
# transaction that inserts the version row (a row lock on PostgreSQL, the single BEGIN IMMEDIATE
# writer on SQLite), so concurrent registrations get consecutive numbers with no gap, and the
# number of a deleted version is never handed out again (as in MLflow).

registered_models = Table(
    "registered_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("last_version", Integer, nullable=False, server_default="0"),
    UniqueConstraint("workspace_id", "name"),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("model_pk", Integer, ForeignKey("registered_models.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("model_pk", Integer, ForeignKey("registered_models.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", Text, nullable=True),
    Column("user_id", String(256), nullable=True),
    # None, Staging, Production or Archived (MLflow's canonical stage names)
    Column("current_stage", String(20), nullable=False, server_default="None"),
    # `source` as the client sent it; `storage_location` is where its artifacts are (what
    # get-download-uri answers): the logged model's or run's artifact URI the source resolves to.
    Column("source", Text, nullable=False),
    Column("storage_location", Text, nullable=False),
    Column("run_id", String(32), nullable=True),
    # The logged model the version was registered from (lineage; its artifacts stay referenced).
    Column("model_id", String(64), nullable=True),
    Column("run_link", Text, nullable=True),
    Column("status", String(20), nullable=False, server_default="READY"),
    Column("status_message", Text, nullable=True),
    Index(None, "run_id"),
    Index(None, "model_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("model_pk", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    sqlite_with_rowid=False,
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("model_pk", Integer, ForeignKey("registered_models.id"), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    sqlite_with_rowid=False,
)

# --- Identity and access ----------------------------------------------------------------------
# Users and service principals share one namespace (`principals.name`): grants, roles and the MLflow
# permission API name either by that name. Secrets are stored only as hashes: passwords and client
# secrets with argon2id, tokens with SHA-256 (they are long random strings, looked up by hash).
# `credential_version` grows whenever a password or secret changes, so every process drops the
# credentials it had verified for that principal within its cache's lifetime.

principals = Table(
    "principals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    # "user" or "service_principal"
    Column("kind", String(20), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("client_id", String(64), nullable=True, unique=True),
    Column("secret_hash", Text, nullable=True),
    Column("credential_version", Integer, nullable=False, server_default="1"),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("principal_id", Integer, ForeignKey("principals.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("last_used_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index(None, "principal_id"),
)

# A role is a named set of permissions in one workspace, assigned to principals (MLflow's role API).
roles = Table(
    "roles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("description", Text, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    UniqueConstraint("workspace_id", "name"),
    sqlite_autoincrement=True,
)

role_members = Table(
    "role_members",
    metadata,
    Column("role_id", Integer, ForeignKey("roles.id"), primary_key=True),
    Column("principal_id", Integer, ForeignKey("principals.id"), primary_key=True),
    Index(None, "principal_id"),
    sqlite_with_rowid=False,
)

# `level`: runyard.domain.permissions (DENY -1, NO_PERMISSIONS 0, READ 1, USE 2, EDIT 3, MANAGE 4).
# `resource_pattern`: an experiment id, a registered model's name, a folder (`/Shared/team/`) or `*`.
grants = Table(
    "grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("principal_id", Integer, ForeignKey("principals.id"), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_pattern", String(500), nullable=False),
    Column("level", Integer, nullable=False),
    UniqueConstraint("principal_id", "workspace_id", "resource_type", "resource_pattern", name="uq_grants_target"),
)

role_permissions = Table(
    "role_permissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role_id", Integer, ForeignKey("roles.id"), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_pattern", String(500), nullable=False),
    Column("level", Integer, nullable=False),
    UniqueConstraint("role_id", "resource_type", "resource_pattern", name="uq_role_permissions_target"),
    sqlite_autoincrement=True,
)

# Who did what, from where, with what outcome. Never holds a secret.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", BigInteger, nullable=False),
    Column("actor", String(256), nullable=True),
    Column("source", String(64), nullable=True),
    Column("action", String(64), nullable=False),
    Column("resource", Text, nullable=True),
    # "success", "denied" or "failure"
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=True),
    Index(None, "time"),
    Index(None, "actor", "time"),
    Index(None, "action", "time"),
)

# Keys the server processes share (the access-token signing key), created once by whichever process
# needs one first, so every process and host verifies what any of them signed.
server_keys = Table(
    "server_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
)

# --- OAuth 2.0 / OpenID Connect (browser login, device login, refresh tokens, single sign-on) -------
# Every secret (authorization code, device code, refresh token, session cookie, upstream state) is
# stored as its SHA-256 only. All state lives here, so any process on any host can answer any step.

# A client's redirect URIs (JSON list) make a service principal a confidential OAuth client of the
# authorization-code flow (another application signing its users in through this server).
oauth_client_redirects = Table(
    "oauth_client_redirects",
    metadata,
    Column("principal_id", Integer, ForeignKey("principals.id"), primary_key=True),
    Column("redirect_uris", Text, nullable=False),
)

# One sign-in of one principal on one client: every refresh token it rotates through belongs to it,
# and so does every access token (claim `fam`). Revoking the family ends them all.
oauth_families = Table(
    "oauth_families",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("principal_id", Integer, ForeignKey("principals.id"), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    # The principal's credential version at sign-in: a password change or a disable ends the family.
    Column("credential_version", Integer, nullable=False),
    Column("auth_time", BigInteger, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("revoke_reason", String(64), nullable=True),
    Index(None, "principal_id"),
)

oauth_refresh_tokens = Table(
    "oauth_refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(32), ForeignKey("oauth_families.id"), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Index(None, "family_id"),
)

oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("principal_id", Integer, ForeignKey("principals.id"), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("nonce", Text, nullable=True),
    Column("code_challenge", String(128), nullable=True),
    Column("code_challenge_method", String(16), nullable=True),
    Column("auth_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    # The sign-in the code was exchanged for: a second exchange revokes it (RFC 6749 §4.1.2).
    Column("family_id", String(32), nullable=True),
)

oauth_device_codes = Table(
    "oauth_device_codes",
    metadata,
    Column("device_code_hash", String(64), primary_key=True),
    Column("user_code", String(16), nullable=False, unique=True),
    Column("client_id", String(64), nullable=False),
    Column("scope", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("poll_interval", Integer, nullable=False),
    Column("last_poll_at", BigInteger, nullable=True),
    # "approved" or "denied" once the user has decided; the deciding user for "approved".
    Column("decision", String(16), nullable=True),
    Column("principal_id", Integer, ForeignKey("principals.id"), nullable=True),
    Column("used_at", BigInteger, nullable=True),
)

browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("principal_id", Integer, ForeignKey("principals.id"), nullable=False),
    # how the user signed in: "password" or "sso:<issuer>"
    Column("method", String(300), nullable=False),
    Column("credential_version", Integer, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Index(None, "principal_id"),
)

# Which local principal an upstream provider's user (issuer + `sub`) signs in as.
oauth_upstream_links = Table(
    "oauth_upstream_links",
    metadata,
    Column("issuer", String(512), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("principal_id", Integer, ForeignKey("principals.id"), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Index(None, "principal_id"),
)

# Role memberships single sign-on keeps in step with the provider's role claim (the others are
# managed by administrators and left alone).
oauth_upstream_roles = Table(
    "oauth_upstream_roles",
    metadata,
    Column("role_id", Integer, ForeignKey("roles.id"), primary_key=True),
    Column("principal_id", Integer, ForeignKey("principals.id"), primary_key=True),
)

# A sign-in through the upstream OpenID provider, between the redirect there and the way back.
oauth_upstream_states = Table(
    "oauth_upstream_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("nonce", String(128), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("return_to", Text, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

# --- Dual tracking (mirror links, the transactional outbox, replication state) ----------------------

# A mirror target of a workspace. `secret`: the target credentials, encrypted (see
# `services.mirror.secrets`); `cursor`: every outbox entry of the workspace up to this sequence
# number has been delivered to this target (or parked).
mirror_links = Table(
    "mirror_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("target_url", Text, nullable=False),
    Column("target_workspace", String(63), nullable=True),
    Column("auth_kind", String(24), nullable=False),
    Column("secret", Text, nullable=True),
    Column("experiments_filter", Text, nullable=True),
    Column("paused", Boolean, nullable=False, server_default="0"),
    Column("creation_time", BigInteger, nullable=False),
    Column("created_by", String(256), nullable=True),
    Column("cursor", BigInteger, nullable=False, server_default="0"),
    # Back-fill of what the workspace held when the link was made: "pending", "running", "done".
    Column("backfill", String(16), nullable=False, server_default="pending"),
    # What existed when the link was made (runs and logged models in creation order): later ones
    # are in the outbox.
    Column("backfill_runs", Integer, nullable=False, server_default="0"),
    Column("backfill_models", Integer, nullable=False, server_default="0"),
    Column("backfill_total", Integer, nullable=False, server_default="0"),
    Column("backfill_done", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("last_error_time", BigInteger, nullable=True),
    Column("failing_since", BigInteger, nullable=True),
    Column("last_success_time", BigInteger, nullable=True),
    Column("sent_items", BigInteger, nullable=False, server_default="0"),
    Column("sent_runs", BigInteger, nullable=False, server_default="0"),
    Column("sent_points", BigInteger, nullable=False, server_default="0"),
    Column("sent_bytes", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("workspace_id", "name"),
    sqlite_autoincrement=True,
)

# What a linked workspace wrote, in the transaction that wrote it: which object changed (the
# replicator sends its current state) and, for metric points, the points themselves (`payload`).
mirror_outbox = Table(
    "mirror_outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("workspace_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("detail", Text, nullable=True),
    Column("payload", LargeBinary, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Index(None, "workspace_id", "seq"),
    sqlite_autoincrement=True,
)

# Outbox entries a target refused (4xx) for one link: kept with the error until retried.
mirror_parked = Table(
    "mirror_parked",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("link_id", Integer, ForeignKey("mirror_links.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("entity", String(64), nullable=False),
    Column("detail", Text, nullable=True),
    Column("payload", LargeBinary, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("parked_time", BigInteger, nullable=False),
    Column("error", Text, nullable=False),
    Column("retry", Boolean, nullable=False, server_default="0"),
    Index(None, "link_id", "id"),
)

# Source → target ids per link (experiments, runs, logged models) and a digest of what was sent.
mirror_objects = Table(
    "mirror_objects",
    metadata,
    Column("link_id", Integer, ForeignKey("mirror_links.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("source_id", String(64), primary_key=True),
    Column("target_id", String(64), nullable=False),
    Column("sent_state", Text, nullable=True),
    sqlite_with_rowid=False,
)

# Leases elect one active replicator per source database (every process and host competes).
mirror_leases = Table(
    "mirror_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)
