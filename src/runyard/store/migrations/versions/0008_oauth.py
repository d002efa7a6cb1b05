"""OAuth 2.0 / OpenID Connect: confidential clients' redirect URIs, sign-in families and their
refresh tokens, authorization codes, device codes, browser sessions, and single sign-on's upstream
links, synced role memberships and sign-in states.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_client_redirects",
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_oauth_client_redirects_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("principal_id", name=op.f("pk_oauth_client_redirects")),
    )
    op.create_table(
        "oauth_families",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("credential_version", sa.Integer(), nullable=False),
        sa.Column("auth_time", sa.BigInteger(), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_oauth_families_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_families")),
    )
    op.create_index(op.f("ix_oauth_families_principal_id"), "oauth_families", ["principal_id"])
    op.create_table(
        "oauth_refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.String(length=32), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["family_id"], ["oauth_families.id"], name=op.f("fk_oauth_refresh_tokens_family_id_oauth_families")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_oauth_refresh_tokens")),
    )
    op.create_index(op.f("ix_oauth_refresh_tokens_family_id"), "oauth_refresh_tokens", ["family_id"])
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=16), nullable=True),
        sa.Column("auth_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("family_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_oauth_codes_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_oauth_codes")),
    )
    op.create_table(
        "oauth_device_codes",
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_code", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("poll_interval", sa.Integer(), nullable=False),
        sa.Column("last_poll_at", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("principal_id", sa.Integer(), nullable=True),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_oauth_device_codes_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("device_code_hash", name=op.f("pk_oauth_device_codes")),
        sa.UniqueConstraint("user_code", name=op.f("uq_oauth_device_codes_user_code")),
    )
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=300), nullable=False),
        sa.Column("credential_version", sa.Integer(), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_browser_sessions_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_browser_sessions_secret_hash")),
    )
    op.create_index(op.f("ix_browser_sessions_principal_id"), "browser_sessions", ["principal_id"])
    op.create_table(
        "oauth_upstream_links",
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_oauth_upstream_links_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("issuer", "subject", name=op.f("pk_oauth_upstream_links")),
    )
    op.create_index(op.f("ix_oauth_upstream_links_principal_id"), "oauth_upstream_links", ["principal_id"])
    op.create_table(
        "oauth_upstream_roles",
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["roles.id"], name=op.f("fk_oauth_upstream_roles_role_id_roles")),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_oauth_upstream_roles_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("role_id", "principal_id", name=op.f("pk_oauth_upstream_roles")),
    )
    op.create_table(
        "oauth_upstream_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oauth_upstream_states")),
    )


def downgrade() -> None:
    op.drop_table("oauth_upstream_states")
    op.drop_table("oauth_upstream_roles")
    op.drop_index(op.f("ix_oauth_upstream_links_principal_id"), table_name="oauth_upstream_links")
    op.drop_table("oauth_upstream_links")
    op.drop_index(op.f("ix_browser_sessions_principal_id"), table_name="browser_sessions")
    op.drop_table("browser_sessions")
    op.drop_table("oauth_device_codes")
    op.drop_table("oauth_codes")
    op.drop_index(op.f("ix_oauth_refresh_tokens_family_id"), table_name="oauth_refresh_tokens")
    op.drop_table("oauth_refresh_tokens")
    op.drop_index(op.f("ix_oauth_families_principal_id"), table_name="oauth_families")
    op.drop_table("oauth_families")
    op.drop_table("oauth_client_redirects")
