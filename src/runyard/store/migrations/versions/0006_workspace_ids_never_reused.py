"""Workspaces: ids are never handed out again (SQLite AUTOINCREMENT).

A process that still has a deleted workspace cached must not reach a workspace created later: on
SQLite an `INTEGER PRIMARY KEY` without AUTOINCREMENT reuses the largest id once its row is gone.
PostgreSQL sequences never reuse ids; nothing changes there.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("workspaces", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("workspaces", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
