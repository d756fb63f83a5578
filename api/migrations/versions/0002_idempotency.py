"""Idempotency keys of uploads: a retried POST returns the first reading instead of a second one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("recognitions") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(200)))
    op.create_index("ux_recognitions_idempotency", "recognitions", ["created_by", "idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_recognitions_idempotency", "recognitions")
    with op.batch_alter_table("recognitions") as batch:
        batch.drop_column("idempotency_key")
