"""Tables, engine and migrations of the registry.

The tables are declared here for queries; their creation and every later change is an Alembic
migration in ``tracing/migrations`` (applied by :func:`migrate`, no alembic.ini needed).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tracing.settings import TracingSettings, normalise_database_url

VERSION_TABLE = "tracing_alembic_version"

metadata = sa.MetaData()

records = sa.Table(
    "registry_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("record_key", sa.String(500), nullable=False, unique=True),
    sa.Column("serial", sa.String(100), nullable=False),
    sa.Column("serial_norm", sa.String(100), nullable=False, index=True),
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
)

# One row per (deletion-variant key, record). No foreign key: keys are removed by recomputing
# them from the old serial, and a constraint check per row would slow bulk loads for nothing.
record_keys = sa.Table(
    "registry_keys",
    metadata,
    sa.Column("key", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("dr", sa.SmallInteger, primary_key=True, autoincrement=False),  # deletions that made the key
    sa.Column("record_id", sa.Integer, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,
)

meta = sa.Table(
    "registry_meta",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.String(500), nullable=False),
)

FINGERPRINT = "index_fingerprint"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def create_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        db = sa.make_url(url).database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, **kwargs)


def engine_from_settings(settings: TracingSettings) -> Engine:
    return create_engine(settings.database_url)


def migrations_path(package: str = "tracing") -> Path:
    return Path(str(resources.files(package).joinpath("migrations")))


def upgrade(engine: Engine, package: str, revision: str = "head") -> None:
    """Apply the Alembic migrations shipped in ``package/migrations`` up to ``revision``
    (idempotent; no alembic.ini needed). Each package keeps its own version table."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path(package)))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def run_alembic_env(version_table: str) -> None:
    """The body of a package's ``migrations/env.py``: run its migrations on the connection that
    :func:`upgrade` passes in, or on ``sqlalchemy.url`` when Alembic is run by hand."""
    from alembic import context

    config = context.config

    def run(conn: sa.Connection) -> None:
        context.configure(connection=conn, target_metadata=None, version_table=version_table, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()

    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes['connection']")
    with create_engine(url).connect() as conn:
        run(conn)
        conn.commit()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the registry schema to ``revision`` (idempotent)."""
    upgrade(engine, "tracing", revision)
