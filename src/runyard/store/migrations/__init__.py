"""Alembic migration environment and revisions for the Runyard schema."""
