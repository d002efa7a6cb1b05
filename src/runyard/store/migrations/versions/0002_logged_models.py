"""MLflow 3 logged models: `logged_models` and its narrow tags, params and metrics tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("artifact_uri", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("model_type", sa.String(length=500), server_default="", nullable=False),
        sa.Column("source_run_id", sa.String(length=32), server_default="", nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name=op.f("fk_logged_models_experiment_id_experiments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logged_models")),
        sa.UniqueConstraint("model_id", name=op.f("uq_logged_models_model_id")),
    )
    with op.batch_alter_table("logged_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_logged_models_experiment_id_creation_time"),
            ["experiment_id", "creation_time"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_logged_models_experiment_id_name"), ["experiment_id", "name"], unique=False
        )

    op.create_table(
        "logged_model_tags",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["keys.key_id"], name=op.f("fk_logged_model_tags_key_id_keys")),
        sa.ForeignKeyConstraint(
            ["model_pk"], ["logged_models.id"], name=op.f("fk_logged_model_tags_model_pk_logged_models")
        ),
        sa.PrimaryKeyConstraint("model_pk", "key_id", name=op.f("pk_logged_model_tags")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "logged_model_params",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["keys.key_id"], name=op.f("fk_logged_model_params_key_id_keys")),
        sa.ForeignKeyConstraint(
            ["model_pk"], ["logged_models.id"], name=op.f("fk_logged_model_params_model_pk_logged_models")
        ),
        sa.PrimaryKeyConstraint("model_pk", "key_id", name=op.f("pk_logged_model_params")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "logged_model_metrics",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("dataset_name", sa.String(length=500), server_default="", nullable=False),
        sa.Column("dataset_digest", sa.String(length=36), server_default="", nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "model_pk",
            "key_id",
            "timestamp",
            "step",
            "run_pk",
            "dataset_name",
            "dataset_digest",
            name=op.f("pk_logged_model_metrics"),
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("logged_model_metrics")
    op.drop_table("logged_model_params")
    op.drop_table("logged_model_tags")
    with op.batch_alter_table("logged_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_logged_models_experiment_id_name"))
        batch_op.drop_index(batch_op.f("ix_logged_models_experiment_id_creation_time"))
    op.drop_table("logged_models")
