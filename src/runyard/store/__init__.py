"""Persistence: table definitions, migrations and the SQL each use case runs (SQLite and PostgreSQL)."""
