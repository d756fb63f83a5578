from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from tracing.bulk import rebuild_index
from tracing.confusions import default_model
from tracing.db import migrate
from tracing.registry import Registry


def test_migrate_twice_and_upgrade_with_data(engine: sa.Engine) -> None:
    migrate(engine, "0001")
    stamp = "'2026-01-01 00:00:00'" if engine.dialect.name == "sqlite" else "now()"
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO registry_records (record_key, serial, serial_norm, serial_ncic, status, source, "
            f"updated_at) VALUES ('k1', 'B2345678', 'B2345678', 'B2345678', 'stolen', '', {stamp})"
        )
    migrate(engine)
    migrate(engine)
    reg = Registry(engine)
    res = reg.search("82345678")
    assert res.strategy == "index" and res.hits[0].record.serial == "B2345678"
    tables = set(sa.inspect(engine).get_table_names())
    assert {"registry_records", "registry_keys", "registry_meta", "tracing_alembic_version"} <= tables


def test_changed_classes_fall_back_until_reindexed(registry: Registry) -> None:
    from tracing.records import FirearmRecord

    registry.upsert([FirearmRecord("B2345678", make="Zastava", reference="1")])
    base = default_model()
    other = dataclasses.replace(base, classes={**base.classes, "W": "0"})
    reg2 = Registry(registry.engine, other)
    res = reg2.search("82345678")
    assert res.strategy == "scan" and "reindex" in res.note
    assert res.hits[0].record.serial == "B2345678"
    rebuild_index(reg2)
    assert reg2.search("82345678").strategy == "index"
    assert Registry(registry.engine).search("82345678").strategy == "scan"
