"""Alembic environment of the service; run through api.db.migrate (a connection is passed in)."""

from api.db import VERSION_TABLE
from tracing.db import run_alembic_env

run_alembic_env(VERSION_TABLE)
