"""Fast paths for large registries: bulk loading and rebuilding the index keys.

``upsert`` is the everyday path (identity checks, one key set per record); these functions skip
the identity checks and write keys in key order, which SQLite appends and PostgreSQL sorts once.
"""

from __future__ import annotations

import datetime as dt
import struct
from array import array
from collections.abc import Iterable
from typing import Any

import numpy as np
import sqlalchemy as sa

from tracing.db import FINGERPRINT, meta
from tracing.keys import fingerprint
from tracing.keys import record_keys as keys_of
from tracing.records import FirearmRecord
from tracing.registry import Registry, _row_values

_COLS = (
    "record_key", "serial", "serial_norm", "serial_ncic", "make", "model", "calibre", "type", "country",
    "importer", "status", "source", "reference", "record_date", "notes", "updated_at",
)


def bulk_insert(registry: Registry, items: Iterable[FirearmRecord], chunk: int = 50_000) -> int:
    """Append records without identity checks (for an empty registry); keys are not written."""
    now = dt.datetime.now(dt.UTC)
    n = 0
    rows: list[tuple[Any, ...]] = []
    is_pg = registry.dialect == "postgresql"

    def flush(conn: sa.Connection) -> None:
        if not rows:
            return
        if is_pg:
            raw: Any = conn.connection.dbapi_connection
            with raw.cursor() as cur, cur.copy(f"COPY registry_records ({', '.join(_COLS)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
        else:
            marks = ", ".join("?" * len(_COLS))
            conn.exec_driver_sql(f"INSERT INTO registry_records ({', '.join(_COLS)}) VALUES ({marks})", rows)
        rows.clear()

    with registry.engine.begin() as conn:
        for rec in items:
            v = _row_values(rec, registry.model, now)
            if not is_pg:
                v["record_date"] = v["record_date"].isoformat() if v["record_date"] else None
                v["updated_at"] = now.isoformat(sep=" ")
            rows.append(tuple(v[c] for c in _COLS))
            n += 1
            if len(rows) >= chunk:
                flush(conn)
        flush(conn)
    return n


def compute_keys(
    pairs: Iterable[tuple[int, str]], registry: Registry
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, deletions, record ids) sorted by key, deletions, id."""
    keys = array("q")
    drs = array("b")
    ids = array("q")
    model = registry.model
    for rid, norm in pairs:
        ks = keys_of(norm, model)
        keys.extend(ks.keys())
        drs.extend(ks.values())
        ids.extend([rid] * len(ks))
    k = np.frombuffer(keys, dtype=np.int64)
    d = np.frombuffer(drs, dtype=np.int8)
    i = np.frombuffer(ids, dtype=np.int64)
    order = np.lexsort((i, d, k))
    return k[order], d[order], i[order]


def _set_fingerprint(conn: sa.Connection, registry: Registry) -> None:
    conn.execute(sa.delete(meta).where(meta.c.name == FINGERPRINT))
    conn.execute(sa.insert(meta).values(name=FINGERPRINT, value=fingerprint(registry.model)))


def rebuild_index(registry: Registry, chunk: int = 200_000) -> int:
    """Recompute every index key (after a bulk load, or after the confusion classes changed)."""
    with registry.engine.connect() as conn:
        pairs = [(int(r[0]), str(r[1])) for r in conn.exec_driver_sql("SELECT id, serial_norm FROM registry_records")]
    keys, drs, ids = compute_keys(pairs, registry)
    del pairs
    with registry.engine.begin() as conn:
        if registry.dialect == "postgresql":
            conn.exec_driver_sql("TRUNCATE registry_keys")
            conn.exec_driver_sql("ALTER TABLE registry_keys DROP CONSTRAINT pk_registry_keys")
            raw: Any = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
                with cur.copy("COPY registry_keys (key, dr, record_id) FROM STDIN WITH (FORMAT BINARY)") as cp:
                    cp.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0))
                    rec = np.dtype([("n", ">i2"), ("l1", ">i4"), ("k", ">i8"), ("l2", ">i4"), ("d", ">i2"),
                                    ("l3", ">i4"), ("i", ">i4")])
                    for s in range(0, len(keys), chunk * 5):
                        part = np.empty(min(chunk * 5, len(keys) - s), dtype=rec)
                        part["n"] = 3
                        part["l1"] = 8
                        part["k"] = keys[s : s + len(part)]
                        part["l2"] = 2
                        part["d"] = drs[s : s + len(part)]
                        part["l3"] = 4
                        part["i"] = ids[s : s + len(part)]
                        cp.write(part.tobytes())
                    cp.write(struct.pack(">h", -1))
            conn.exec_driver_sql(
                "ALTER TABLE registry_keys ADD CONSTRAINT pk_registry_keys PRIMARY KEY (key, dr, record_id)"
            )
            conn.exec_driver_sql("ANALYZE registry_keys")
            conn.exec_driver_sql("ANALYZE registry_records")
            _set_fingerprint(conn, registry)
        else:
            conn.exec_driver_sql("DELETE FROM registry_keys")
            for s in range(0, len(keys), chunk):
                rows = list(zip(keys[s : s + chunk].tolist(), drs[s : s + chunk].tolist(),
                                ids[s : s + chunk].tolist(), strict=True))
                conn.exec_driver_sql("INSERT INTO registry_keys (key, dr, record_id) VALUES (?, ?, ?)", rows)
            conn.exec_driver_sql("ANALYZE")
            _set_fingerprint(conn, registry)
    if registry.dialect == "postgresql":  # index-only scans need the visibility map
        with registry.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE registry_keys")
            conn.exec_driver_sql("VACUUM ANALYZE registry_records")
    registry._index_ok = None
    return len(keys)


