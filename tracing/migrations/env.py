"""Alembic environment of the registry; run through tracing.db.migrate (a connection is passed in)."""

from tracing.db import VERSION_TABLE, run_alembic_env

run_alembic_env(VERSION_TABLE)
