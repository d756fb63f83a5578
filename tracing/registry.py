"""The registry: storage, idempotent upserts and the indexed, confusion-aware search."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tracing.confusions import ConfusionModel, default_model, from_centi, to_centi
from tracing.db import FINGERPRINT, create_engine, meta, migrate, record_keys, records
from tracing.keys import INDEX_DELETIONS, KeyPlan, fingerprint, plan_keys, plan_many
from tracing.keys import record_keys as keys_of
from tracing.normalise import normalise_serial, strip_embedded_letters
from tracing.query import SerialQuery, parse_serial
from tracing.records import FirearmRecord
from tracing.scoring import Attributes, Scorer, attribute_penalty, explain
from tracing.settings import TracingSettings, load_settings

_DATA_COLS = (
    "serial", "make", "model", "calibre", "type", "country", "importer", "status", "source",
    "reference", "notes",
)


@dataclass(frozen=True, slots=True)
class Hit:
    record: FirearmRecord
    score: float
    serial_score: float
    view: str  # "plain" or "ncic"
    explanation: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record.as_dict(),
            "score": self.score,
            "serial_score": self.serial_score,
            "view": self.view,
            "explanation": list(self.explanation),
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[Hit, ...]
    max_cost: float
    strategy: str  # "index" or "scan"
    candidates: int
    keys: int
    ms: float
    note: str = ""
    matched_ids: frozenset[int] = field(default_factory=frozenset)  # every record within the threshold


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _row_values(rec: FirearmRecord, model: ConfusionModel, now: dt.datetime) -> dict[str, Any]:
    norm = normalise_serial(rec.serial, model)
    return {
        "record_key": rec.identity(model),
        "serial": rec.serial,
        "serial_norm": norm,
        "serial_ncic": strip_embedded_letters(norm),
        "make": rec.make,
        "model": rec.model,
        "calibre": rec.calibre,
        "type": rec.type,
        "country": rec.country,
        "importer": rec.importer,
        "status": rec.status,
        "source": rec.source,
        "reference": rec.reference,
        "record_date": rec.date,
        "notes": rec.notes,
        "updated_at": now,
    }


def _record_of(row: Any) -> FirearmRecord:
    m = row._mapping
    return FirearmRecord(
        id=m["id"],
        serial=m["serial"],
        make=m["make"],
        model=m["model"],
        calibre=m["calibre"],
        type=m["type"],
        country=m["country"],
        importer=m["importer"],
        status=m["status"],
        source=m["source"],
        reference=m["reference"],
        date=m["record_date"],
        notes=m["notes"],
    )


_CAND_COLS = (
    "id, serial_norm, serial_ncic, make, model, calibre, serial, type, country, importer, status, source, "
    "reference, record_date, notes"
)


def _record_of_candidate(row: Any) -> FirearmRecord:
    date = row[13]
    if isinstance(date, str):  # SQLite through a raw statement
        date = dt.date.fromisoformat(date)
    return FirearmRecord(
        id=row[0], make=row[3], model=row[4], calibre=row[5], serial=row[6], type=row[7], country=row[8],
        importer=row[9], status=row[10], source=row[11], reference=row[12], date=date, notes=row[14],
    )


class Registry:
    """A firearm registry in one database. Thread-safe as far as its engine is."""

    def __init__(self, engine: Engine, model: ConfusionModel | None = None) -> None:
        self.engine = engine
        self.model = model or default_model()
        self.dialect = engine.dialect.name
        self._index_ok: bool | None = None
        # searches only read: no transaction to roll back when the connection goes back to the pool
        self._read_engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    @classmethod
    def open(cls, settings: TracingSettings | None = None, *, upgrade: bool = True) -> Registry:
        s = settings or load_settings()
        engine = create_engine(s.database_url)
        if upgrade:
            migrate(engine)
        return cls(engine)

    # ------------------------------------------------------------------ storage

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one())

    def get(self, record_id: int) -> FirearmRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(records).where(records.c.id == record_id)).first()
        return _record_of(row) if row is not None else None

    def iter_records(self, batch: int = 5000) -> Iterator[FirearmRecord]:
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(records).where(records.c.id > last).order_by(records.c.id).limit(batch)
                ).all()
            if not rows:
                return
            for row in rows:
                yield _record_of(row)
            last = rows[-1]._mapping["id"]

    def upsert(self, items: Iterable[FirearmRecord], batch: int = 1000) -> UpsertCounts:
        """Insert new records, update changed ones, leave identical ones alone (idempotent)."""
        ins = upd = same = 0
        chunk: list[FirearmRecord] = []
        for rec in items:
            chunk.append(rec)
            if len(chunk) >= batch:
                a, b, c = self._upsert_chunk(chunk)
                ins, upd, same = ins + a, upd + b, same + c
                chunk = []
        if chunk:
            a, b, c = self._upsert_chunk(chunk)
            ins, upd, same = ins + a, upd + b, same + c
        return UpsertCounts(ins, upd, same)

    def _upsert_chunk(self, chunk: Sequence[FirearmRecord]) -> tuple[int, int, int]:
        now = dt.datetime.now(dt.UTC)
        values: dict[str, dict[str, Any]] = {}
        for rec in chunk:  # last row wins inside a file, as it would across files
            v = _row_values(rec, self.model, now)
            values[v["record_key"]] = v
        ins = upd = same = 0
        with self.engine.begin() as conn:
            existing = {
                row._mapping["record_key"]: row
                for row in conn.execute(sa.select(records).where(records.c.record_key.in_(list(values))))
            }
            new_rows = [v for k, v in values.items() if k not in existing]
            key_rows: list[dict[str, int]] = []
            if new_rows:
                result = conn.execute(
                    sa.insert(records).returning(records.c.id, sort_by_parameter_order=True), new_rows
                )
                for (rid,), v in zip(result.all(), new_rows, strict=True):
                    key_rows.extend(self._key_rows(rid, v["serial_norm"]))
                ins = len(new_rows)
            for k, v in values.items():
                row = existing.get(k)
                if row is None:
                    continue
                old = row._mapping
                changed = any(old[c] != v[c] for c in _DATA_COLS) or old["record_date"] != v["record_date"]
                if not changed:
                    same += 1
                    continue
                rid = old["id"]
                conn.execute(sa.update(records).where(records.c.id == rid).values(**v))
                if old["serial_norm"] != v["serial_norm"]:
                    old_keys = keys_of(old["serial_norm"], self.model)
                    conn.execute(
                        sa.delete(record_keys).where(
                            record_keys.c.record_id == rid, record_keys.c.key.in_(list(old_keys))
                        )
                    )
                    key_rows.extend(self._key_rows(rid, v["serial_norm"]))
                upd += 1
            if key_rows:
                conn.execute(sa.insert(record_keys), key_rows)
        return ins, upd, same

    def _key_rows(self, rid: int, norm: str) -> list[dict[str, int]]:
        return [{"key": k, "dr": d, "record_id": rid} for k, d in keys_of(norm, self.model).items()]

    def index_current(self) -> bool:
        """Were the stored keys built with this registry's look-alike classes?"""
        if self._index_ok is None:
            with self.engine.connect() as conn:
                value = conn.execute(sa.select(meta.c.value).where(meta.c.name == FINGERPRINT)).scalar()
            self._index_ok = value == fingerprint(self.model)
        return self._index_ok

    def delete(self, record_id: int) -> bool:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(records.c.serial_norm).where(records.c.id == record_id)).first()
            if row is None:
                return False
            conn.execute(
                sa.delete(record_keys).where(
                    record_keys.c.record_id == record_id,
                    record_keys.c.key.in_(list(keys_of(row[0], self.model))),
                )
            )
            conn.execute(sa.delete(records).where(records.c.id == record_id))
        return True

    # ------------------------------------------------------------------ search

    def search(
        self,
        queries: SerialQuery | str | Sequence[SerialQuery],
        *,
        make: str | None = None,
        model: str | None = None,
        calibre: str | None = None,
        max_cost: float | None = None,
        limit: int | None = 20,
        use_index: bool = True,
    ) -> SearchResult:
        """Records within ``max_cost`` of any of the readings, best first, each explained.

        ``max_cost`` defaults to a quarter of a character per known position (1.0 to 2.0).
        ``use_index=False`` scans every record (the brute-force reference).
        """
        t0 = time.perf_counter()
        qs = self._queries(queries)
        threshold = None if max_cost is None else to_centi(max_cost)
        scorers = [Scorer.build(q, self.model, threshold) for q in qs]
        want = Attributes.of(make, model, calibre)
        plan = plan_many(plan_keys(s.query, self.model, s.max_cost) for s in scorers)
        note = plan.fallback if use_index else "index not used"
        if not note and not self.index_current():
            note = "index built for other look-alike classes: run `caliber registry reindex`"
        # a scan streams through a server-side cursor, which needs a transaction
        with (self.engine if note else self._read_engine).connect() as conn:
            rows: Iterable[Any]
            if not note:
                rows = self._candidates(conn, plan)
                strategy = "index"
            else:
                rows = self._scan_rows(conn)
                strategy = "scan"
            scored: dict[int, tuple[int, int, str, Scorer, Any]] = {}
            n_cand = 0
            for row in rows:
                n_cand += 1
                rid, norm, ncic, mk, md, cal = row[:6]
                have: Attributes | None = None
                for sc in scorers:
                    serial_s, view = sc.serial_score(norm, ncic)
                    if serial_s > sc.max_cost:
                        continue
                    if have is None:
                        have = Attributes.of(mk, md, cal)
                    s = serial_s + attribute_penalty(want, have, self.model)
                    if s <= sc.max_cost:
                        prev = scored.get(rid)
                        if prev is None or s < prev[0]:
                            scored[rid] = (s, serial_s, view, sc, row)
            ranked = sorted(scored.items(), key=lambda kv: (kv[1][0], kv[0]))
            top = ranked if limit is None else ranked[:limit]
            if strategy == "index":
                full = {rid: _record_of_candidate(v[4]) for rid, v in top}
            else:
                full = self._fetch(conn, [rid for rid, _ in top])
        hits = []
        for rid, (s, serial_s, view, sc, row) in top:
            rec = full[rid]
            _, norm, ncic, mk, md, cal = row[:6]
            lines = explain(sc, norm, ncic, view, want, Attributes.of(mk, md, cal), mk, md, cal)
            hits.append(Hit(rec, from_centi(s), from_centi(serial_s), view, tuple(lines)))
        return SearchResult(
            hits=tuple(hits),
            max_cost=from_centi(max(s.max_cost for s in scorers)),
            strategy=strategy,
            candidates=n_cand,
            keys=len(plan.keys),
            ms=(time.perf_counter() - t0) * 1000,
            note=note,
            matched_ids=frozenset(scored),
        )

    def _queries(self, queries: SerialQuery | str | Sequence[SerialQuery]) -> list[SerialQuery]:
        if isinstance(queries, str):
            return [parse_serial(queries, self.model)]
        if isinstance(queries, SerialQuery):
            return [queries]
        qs = list(queries)
        if not qs:
            raise ValueError("nothing to search for")
        return qs

    def _candidates(self, conn: Connection, plan: KeyPlan) -> list[Any]:
        by_depth: list[list[int]] = [[] for _ in range(INDEX_DELETIONS + 1)]
        for k, d in plan.keys.items():
            by_depth[d].append(k)
        if self.dialect == "postgresql":
            # Two statements: joined in one, the planner may hash-join a scan of the records.
            cond = " OR ".join(f"(key = ANY(%s) AND dr <= {d})" for d in range(len(by_depth)))
            sql = f"SELECT DISTINCT record_id FROM registry_keys WHERE {cond}"
            ids = [r[0] for r in conn.exec_driver_sql(sql, tuple(sorted(ks) for ks in by_depth))]
            if not ids:
                return []
            sql = f"SELECT {_CAND_COLS} FROM registry_records WHERE id = ANY(%s)"
            return list(conn.exec_driver_sql(sql, (ids,)).all())
        out: dict[int, Any] = {}
        for depth, keys in enumerate(by_depth):
            keys.sort()
            for i in range(0, len(keys), 30000):
                part = keys[i : i + 30000]
                marks = ",".join("?" * len(part))
                sql = (
                    f"SELECT {_CAND_COLS} FROM registry_records WHERE id IN (SELECT record_id "
                    f"FROM registry_keys WHERE key IN ({marks}) AND dr <= ?)"
                )
                for row in conn.exec_driver_sql(sql, (*part, depth)).all():
                    out[row[0]] = row
        return list(out.values())

    def _scan_rows(self, conn: Connection) -> Iterator[Any]:
        sql = sa.select(
            records.c.id, records.c.serial_norm, records.c.serial_ncic, records.c.make, records.c.model,
            records.c.calibre,
        )
        yield from conn.execution_options(yield_per=10000).execute(sql)

    def _fetch(self, conn: Connection, ids: Sequence[int]) -> dict[int, FirearmRecord]:
        out: dict[int, FirearmRecord] = {}
        for i in range(0, len(ids), 5000):
            part = list(ids[i : i + 5000])
            for row in conn.execute(sa.select(records).where(records.c.id.in_(part))):
                rec = _record_of(row)
                assert rec.id is not None
                out[rec.id] = rec
        return out
