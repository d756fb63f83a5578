"""Registry records and their index keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "registry_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_key", sa.String(500), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("serial_norm", sa.String(100), nullable=False),
        sa.Column("serial_ncic", sa.String(100), nullable=False),
        sa.Column("make", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("calibre", sa.String(100)),
        sa.Column("type", sa.String(100)),
        sa.Column("country", sa.String(100)),
        sa.Column("importer", sa.String(200)),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("reference", sa.String(200)),
        sa.Column("record_date", sa.Date),
        sa.Column("notes", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("record_key", name="uq_registry_records_record_key"),
    )
    op.create_index("ix_registry_records_serial_norm", "registry_records", ["serial_norm"])
    op.create_table(
        "registry_keys",
        sa.Column("key", sa.BigInteger, nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", "record_id", name="pk_registry_keys"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("registry_keys")
    op.drop_index("ix_registry_records_serial_norm", table_name="registry_records")
    op.drop_table("registry_records")
