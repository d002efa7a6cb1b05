"""Dual tracking: mirror links, the transactional outbox, parked entries, source → target ids and the
replicator's lease.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mirror_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("target_workspace", sa.String(length=63), nullable=True),
        sa.Column("auth_kind", sa.String(length=24), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("experiments_filter", sa.Text(), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=True),
        sa.Column("cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("backfill", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("backfill_runs", sa.Integer(), server_default="0", nullable=False),
        sa.Column("backfill_models", sa.Integer(), server_default="0", nullable=False),
        sa.Column("backfill_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("backfill_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_time", sa.BigInteger(), nullable=True),
        sa.Column("failing_since", sa.BigInteger(), nullable=True),
        sa.Column("last_success_time", sa.BigInteger(), nullable=True),
        sa.Column("sent_items", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sent_runs", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sent_points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("sent_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_mirror_links_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_links")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_mirror_links_workspace_id_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "mirror_outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_mirror_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_mirror_outbox_workspace_id_seq"), "mirror_outbox", ["workspace_id", "seq"])
    op.create_table(
        "mirror_parked",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("parked_time", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("retry", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["mirror_links.id"], name=op.f("fk_mirror_parked_link_id_mirror_links")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mirror_parked")),
    )
    op.create_index(op.f("ix_mirror_parked_link_id_id"), "mirror_parked", ["link_id", "id"])
    op.create_table(
        "mirror_objects",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("sent_state", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["link_id"], ["mirror_links.id"], name=op.f("fk_mirror_objects_link_id_mirror_links")),
        sa.PrimaryKeyConstraint("link_id", "kind", "source_id", name=op.f("pk_mirror_objects")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "mirror_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mirror_leases")),
    )


def downgrade() -> None:
    for table in ("mirror_leases", "mirror_objects", "mirror_parked", "mirror_outbox", "mirror_links"):
        op.drop_table(table)
