"""Metric rollups for the charts' downsampling: blocks of consecutive points per series, and the
step from which a series' blocks are out of date (`latest_metrics.stale_from`).

Existing series have no blocks and no mark: their blocks are built when a chart first reads them.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _point(name: str, *, nullable: bool) -> list[sa.Column[object]]:
    return [
        sa.Column(f"{name}_step", sa.BigInteger(), nullable=nullable),
        sa.Column(f"{name}_ts", sa.BigInteger(), nullable=nullable),
        sa.Column(f"{name}_value", sa.Float(precision=53), nullable=True),
    ]


def upgrade() -> None:
    op.add_column("latest_metrics", sa.Column("stale_from", sa.BigInteger(), nullable=True))
    op.create_table(
        "metric_rollups",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        *_point("first", nullable=False),
        *_point("last", nullable=False),
        *_point("low", nullable=True),
        *_point("high", nullable=True),
        *_point("odd", nullable=True),
        sa.PrimaryKeyConstraint("run_id", "key_id", "level", "seq", name=op.f("pk_metric_rollups")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("metric_rollups")
    with op.batch_alter_table("latest_metrics") as batch:
        batch.drop_column("stale_from")
