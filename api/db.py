"""Tables, engine and migrations of the service (keys, recognitions, corrections, batches, audit).

The engine comes from ``tracing.db.create_engine`` (same URL rules and SQLite settings as the
registry). The schema is created and changed only by the Alembic migrations in
``api/migrations``, whose version table (``api_alembic_version``) is separate from the registry's,
so both can live in one database.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracing.db import create_engine, upgrade

VERSION_TABLE = "api_alembic_version"

metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),  # public part of the key, also its name in logs
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("label", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

recognitions = sa.Table(
    "recognitions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("filename", sa.String(500), nullable=False, server_default=""),  # as sent; a label only
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(16), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),  # api.serialize.recognition_to_dict, provenance included
    sa.Column("batch_id", sa.String(36)),
    sa.Column("idempotency_key", sa.String(200)),  # unique per key id (migration 0002)
)

corrections = sa.Table(
    "corrections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recognition_id", sa.String(36), sa.ForeignKey("recognitions.id"), nullable=False, index=True),
    sa.Column("field", sa.String(40), nullable=False),
    sa.Column("machine_value", sa.String(500)),
    sa.Column("machine_score", sa.Float),
    sa.Column("value", sa.String(500), nullable=False),
    sa.Column("confirmed", sa.Boolean, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(16), nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(16), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

batch_items = sa.Table(
    "batch_items",
    metadata,
    sa.Column("batch_id", sa.String(36), sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending, done, failed
    sa.Column("recognition_id", sa.String(36)),
    sa.Column("error_code", sa.String(40)),
    sa.Column("error_detail", sa.Text),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),  # ISO 8601 UTC, hashed as written
    sa.Column("actor", sa.String(40), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # canonical JSON, hashed as written
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


def open_engine(url: str) -> Engine:
    return create_engine(url)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the service schema to ``revision`` (idempotent)."""
    upgrade(engine, "api", revision)
