"""Registries for the tests: SQLite in a temporary directory, and PostgreSQL in a schema of its
own when a server is reachable (with CI=true an unreachable server is a failure, not a skip)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tracing.db import create_engine, migrate
from tracing.registry import Registry

PG_URL = os.environ.get("CALIBER_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:
        return str(exc).splitlines()[0]
    return ""


_PG_PROBLEM: str | None = None


def pg_problem() -> str:
    global _PG_PROBLEM
    if _PG_PROBLEM is None:
        _PG_PROBLEM = _pg_reachable()
    return _PG_PROBLEM


def _need_pg() -> None:
    problem = pg_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL not reachable at {PG_URL} with CI=true: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")


@pytest.fixture
def pg_engine() -> Iterator[sa.Engine]:
    _need_pg()
    schema = f"test_tracing_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path}/registry.sqlite3")
        yield eng
        eng.dispose()
    else:
        yield request.getfixturevalue("pg_engine")


@pytest.fixture
def registry(engine: sa.Engine) -> Registry:
    migrate(engine)
    return Registry(engine)
