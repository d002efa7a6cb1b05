"""Experiments: ids are never handed out again (SQLite AUTOINCREMENT), as for workspaces (0006).

Experiment ids are what clients hold on to. Without AUTOINCREMENT, SQLite gives the next experiment
the largest id once that row is gone (deleted with its workspace): a client, or a process's cache,
still holding the old id would reach an experiment of a workspace created later under the same
name. PostgreSQL sequences never reuse ids; nothing changes there.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("experiments", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("experiments", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
