"""Alembic environment of the service; run through api.db.migrate (a connection is passed in)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from api.db import VERSION_TABLE, open_engine

config = context.config
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(connection=conn, target_metadata=None, version_table=VERSION_TABLE, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes['connection']")
    with open_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
