"""Recognitions, corrections and batches in the database (results with their provenance)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from api.db import batch_items, batches, corrections, recognitions

# correction field -> the mark kind the machine reading of that field comes from
FIELD_KINDS = {
    "serial": "serial",
    "make": "maker",
    "model": "model",
    "calibre": "calibre",
    "country": "country",
    "importer": "importer",
    "date": "date",
    "type": None,
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class StoredRecognition:
    id: str
    sha256: str
    size_bytes: int
    filename: str
    created_at: dt.datetime
    created_by: str
    options: dict[str, Any]
    result: dict[str, Any]
    batch_id: str | None
    idempotency_key: str | None = None


class DuplicateIdempotencyKey(Exception):
    """The caller already stored a reading under this idempotency key."""


@dataclass(frozen=True, slots=True)
class StoredCorrection:
    id: int
    recognition_id: str
    field: str
    machine_value: str | None
    machine_score: float | None
    value: str
    confirmed: bool
    note: str
    created_at: dt.datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class BatchItem:
    position: int
    name: str
    sha256: str
    size_bytes: int
    status: str
    recognition_id: str | None
    error_code: str | None
    error_detail: str | None


@dataclass(frozen=True, slots=True)
class StoredBatch:
    id: str
    created_at: dt.datetime
    created_by: str
    options: dict[str, Any]
    total: int
    finished_at: dt.datetime | None
    items: tuple[BatchItem, ...]


def machine_reading(result: dict[str, Any], field: str) -> tuple[str | None, float | None]:
    """The machine's best value for a correctable field, from a stored result."""
    kind = FIELD_KINDS.get(field)
    marks = [m for m in result.get("marks", []) if kind is not None and m.get("kind") == kind]
    if not marks:
        return None, None
    best = max(marks, key=lambda m: float(m.get("score", 0.0)))
    return str(best.get("value", "")), float(best.get("score", 0.0))


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---------------------------------------------------------------- recognitions

    def save_recognition(self, rec: StoredRecognition) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(recognitions).values(
                    id=rec.id, sha256=rec.sha256, size_bytes=rec.size_bytes, filename=rec.filename[:500],
                    created_at=rec.created_at, created_by=rec.created_by, options=rec.options, result=rec.result,
                    batch_id=rec.batch_id, idempotency_key=rec.idempotency_key,
                ))
        except IntegrityError as exc:
            if rec.idempotency_key and self.by_idempotency_key(rec.created_by, rec.idempotency_key) is not None:
                raise DuplicateIdempotencyKey(rec.idempotency_key) from exc
            raise

    @staticmethod
    def _stored(r: Any) -> StoredRecognition:
        return StoredRecognition(r.id, r.sha256, r.size_bytes, r.filename, _utc(r.created_at), r.created_by,
                                 dict(r.options), dict(r.result), r.batch_id, r.idempotency_key)

    def recognition(self, rec_id: str) -> StoredRecognition | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(recognitions).where(recognitions.c.id == rec_id)).first()
        return None if r is None else self._stored(r)

    def by_idempotency_key(self, created_by: str, key: str) -> StoredRecognition | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(recognitions).where(recognitions.c.created_by == created_by,
                                                           recognitions.c.idempotency_key == key)).first()
        return None if r is None else self._stored(r)

    def count_recognitions(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(recognitions)).scalar_one())

    # ---------------------------------------------------------------- corrections

    def add_correction(self, rec_id: str, field: str, machine_value: str | None, machine_score: float | None,
                       value: str, note: str, by: str) -> StoredCorrection:
        confirmed = machine_value is not None and machine_value == value
        at = now()
        with self.engine.begin() as conn:
            res = conn.execute(sa.insert(corrections).values(
                recognition_id=rec_id, field=field, machine_value=machine_value, machine_score=machine_score,
                value=value, confirmed=confirmed, note=note, created_at=at, created_by=by,
            ))
            new_id = int(res.inserted_primary_key[0]) if res.inserted_primary_key else 0
        return StoredCorrection(new_id, rec_id, field, machine_value, machine_score, value, confirmed, note, at, by)

    def corrections(self, rec_id: str) -> list[StoredCorrection]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(corrections).where(corrections.c.recognition_id == rec_id).order_by(corrections.c.id)
            ).all()
        return [StoredCorrection(r.id, r.recognition_id, r.field, r.machine_value, r.machine_score, r.value,
                                 bool(r.confirmed), r.note, _utc(r.created_at), r.created_by) for r in rows]

    # ---------------------------------------------------------------- batches

    def create_batch(self, batch_id: str, by: str, options: dict[str, Any],
                     items: Sequence[tuple[str, str, int]]) -> None:
        """``items``: (name, sha256, size) in upload order."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(batches).values(id=batch_id, created_at=now(), created_by=by, options=options,
                                                   total=len(items)))
            if items:
                conn.execute(sa.insert(batch_items), [
                    {"batch_id": batch_id, "position": i, "name": name[:500], "sha256": sha, "size_bytes": size,
                     "status": "pending"}
                    for i, (name, sha, size) in enumerate(items)
                ])

    def finish_item(self, batch_id: str, position: int, *, recognition_id: str | None = None,
                    error_code: str | None = None, error_detail: str | None = None) -> None:
        status = "done" if recognition_id else "failed"
        with self.engine.begin() as conn:
            conn.execute(sa.update(batch_items)
                         .where(batch_items.c.batch_id == batch_id, batch_items.c.position == position)
                         .values(status=status, recognition_id=recognition_id, error_code=error_code,
                                 error_detail=error_detail))

    def finish_batch(self, batch_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(batches).where(batches.c.id == batch_id).values(finished_at=now()))

    def batch(self, batch_id: str) -> StoredBatch | None:
        with self.engine.connect() as conn:
            b = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
            if b is None:
                return None
            rows = conn.execute(sa.select(batch_items).where(batch_items.c.batch_id == batch_id)
                                .order_by(batch_items.c.position)).all()
        items = tuple(BatchItem(r.position, r.name, r.sha256, r.size_bytes, r.status, r.recognition_id,
                                r.error_code, r.error_detail) for r in rows)
        return StoredBatch(b.id, _utc(b.created_at), b.created_by, dict(b.options), b.total,
                           _utc(b.finished_at) if b.finished_at else None, items)

    def unfinished_batches(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(batches.c.id).where(batches.c.finished_at.is_(None))
                                .order_by(batches.c.created_at)).all()
        return [r.id for r in rows]
