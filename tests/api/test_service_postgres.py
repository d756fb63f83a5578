"""The service on PostgreSQL, sharing one database with the registry (each with its own migrations).

Skipped when no server is reachable, except with CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from api.audit import AuditLog, verify
from api.db import audit_log, open_engine
from api.keys import KeyStore, Role
from api.settings import ServiceSettings
from tests.api.service_helpers import FakeReader, hdr, jpeg, upload

PG_URL = os.environ.get("CALIBER_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture()
def pg_engine() -> Iterator[sa.Engine]:
    try:
        admin = open_engine(PG_URL)
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL not reachable at {PG_URL} with CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {str(exc).splitlines()[0]}")
    schema = f"test_api_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = open_engine(PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


def test_service_and_registry_share_a_postgresql_database(pg_engine: sa.Engine, tmp_path: Path) -> None:
    settings = ServiceSettings(data_dir=tmp_path, database_url=PG_URL)
    app = create_app(settings, FakeReader(), engine=pg_engine)
    with TestClient(app) as client:
        key, _ = KeyStore(pg_engine).create(Role.OFFICER)
        rid = upload(client, key, jpeg()).json()["id"]
        assert client.post(f"/v1/recognitions/{rid}/corrections", json={"field": "serial", "value": "4471809"},
                           headers=hdr(key)).status_code == 201
        assert client.post("/v1/traces", json={"recognition_id": rid}, headers=hdr(key)).status_code == 200
        assert client.get(f"/v1/recognitions/{rid}", headers=hdr(key)).json()["corrections"][0]["value"] == "4471809"
    tables = set(sa.inspect(pg_engine).get_table_names())
    assert {"api_alembic_version", "tracing_alembic_version", "audit_log", "registry_records"} <= tables
    result = verify(pg_engine)
    assert result.ok and result.entries == 4

    with pytest.raises(DBAPIError, match="append-only"), pg_engine.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="someone"))
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="someone"))
    bad = verify(pg_engine)
    assert not bad.ok and bad.first_bad == 2


def test_concurrent_writers_keep_one_chain(pg_engine: sa.Engine, tmp_path: Path) -> None:
    from api.db import migrate

    migrate(pg_engine)
    logs = [AuditLog(pg_engine) for _ in range(4)]  # separate locks, as separate processes would have

    def write(log: AuditLog, n: int) -> None:
        for i in range(n):
            log.append("k", "reading", f"r{i}", {"i": i})

    threads = [threading.Thread(target=write, args=(log, 15)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = verify(pg_engine)
    assert result.ok and result.entries == 60
