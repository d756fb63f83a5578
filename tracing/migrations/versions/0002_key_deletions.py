"""Index keys carry the number of deletions that made them; a fingerprint of the index.

Keys are derived data, so the table is rebuilt from the records with the packaged look-alike
classes; ``registry_meta.index_fingerprint`` records which classes the keys were built with.

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
    from tracing.confusions import default_model
    from tracing.keys import fingerprint, record_keys

    op.create_table(
        "registry_meta",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
    )
    op.drop_table("registry_keys")
    keys = op.create_table(
        "registry_keys",
        sa.Column("key", sa.BigInteger, nullable=False),
        sa.Column("dr", sa.SmallInteger, nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", "dr", "record_id", name="pk_registry_keys"),
        sqlite_with_rowid=False,
    )
    model = default_model()
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, serial_norm FROM registry_records")).all()
    batch: list[dict[str, int]] = []
    for rid, norm in rows:
        batch.extend({"key": k, "dr": d, "record_id": rid} for k, d in record_keys(norm, model).items())
        if len(batch) > 50_000:
            op.bulk_insert(keys, batch)
            batch = []
    if batch:
        op.bulk_insert(keys, batch)
    op.execute(
        sa.text("INSERT INTO registry_meta (name, value) VALUES ('index_fingerprint', :v)").bindparams(
            v=fingerprint(model)
        )
    )


def downgrade() -> None:
    op.drop_table("registry_keys")
    op.create_table(
        "registry_keys",
        sa.Column("key", sa.BigInteger, nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("key", "record_id", name="pk_registry_keys"),
        sqlite_with_rowid=False,
    )
    op.drop_table("registry_meta")
