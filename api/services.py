"""What the routes use, built once by the app factory: settings, database, pool, stores, keys,
audit log, registry and the batch runner. Routes reach it through ``api.deps``."""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from api.audit import AuditLog
from api.evidence import EvidenceStore
from api.keys import KeyStore
from api.metrics import Metrics
from api.serialize import recognition_to_dict
from api.settings import ServiceSettings
from api.store import Store, StoredRecognition, now
from api.workers import InferencePool
from vision.intake import IntakeError
from vision.pipeline import ReadOptions
from vision.types import Recognition

log = logging.getLogger("caliber.api")


class Reader(Protocol):
    """What the service needs of the pipeline (``vision.pipeline.Pipeline`` or a test fake)."""

    def warm_up(self) -> None: ...

    def read_bytes(self, data: bytes, options: ReadOptions | None = None) -> Recognition: ...


def options_dict(opts: ReadOptions) -> dict[str, Any]:
    return {"top_k": opts.top_k, "temperature": opts.temperature, "min_confidence": opts.min_confidence,
            "det_max_side": opts.det_max_side}


def options_from(d: dict[str, Any]) -> ReadOptions:
    return ReadOptions(top_k=int(d.get("top_k", 5)), temperature=float(d.get("temperature", 2.0)),
                       min_confidence=float(d.get("min_confidence", 0.3)),
                       det_max_side=None if d.get("det_max_side") is None else int(d["det_max_side"]))


def marks_summary(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"kind": m["kind"], "value": m["value"], "score": m["score"]} for m in result.get("marks", [])]


@dataclass
class Services:
    settings: ServiceSettings
    engine: Engine
    reader: Reader
    pool: InferencePool
    evidence: EvidenceStore
    store: Store
    keys: KeyStore
    audit: AuditLog
    metrics: Metrics
    registry: Any = None  # tracing.registry.Registry, opened at start-up
    models_loaded: bool = False
    load_error: str = ""
    registry_error: str = ""
    batches: BatchRunner | None = None

    def persist_reading(self, data: bytes, rec: Recognition, options: ReadOptions, actor: str, filename: str,
                        batch_id: str | None = None, idempotency_key: str | None = None) -> StoredRecognition:
        """Store the original (by hash, once) and the result with its provenance; audit both.

        Raises ``DuplicateIdempotencyKey`` when a concurrent request with the same key won."""
        sha = self.evidence.put(data)
        result = recognition_to_dict(rec)
        stored = StoredRecognition(id=str(uuid.uuid4()), sha256=sha, size_bytes=len(data), filename=filename,
                                   created_at=now(), created_by=actor, options=options_dict(options), result=result,
                                   batch_id=batch_id, idempotency_key=idempotency_key)
        self.store.save_recognition(stored)
        self.audit.append(actor, "upload", sha, {"size_bytes": len(data), "format": result["provenance"]["format"],
                                                 "filename": filename, "batch_id": batch_id})
        self.audit.append(actor, "reading", stored.id, {
            "sha256": sha, "marks": marks_summary(result), "lines": len(result["lines"]),
            "warnings": [w["code"] for w in result["warnings"]], "options": stored.options,
            "code_version": result["provenance"]["code_version"],
            "models": [m["sha256"] for m in result["provenance"]["models"]],
        })
        self.metrics.recognitions.labels("read").inc()
        return stored

    def reject_upload(self, data: bytes, code: str, actor: str, filename: str, batch_id: str | None = None) -> None:
        self.audit.append(actor, "upload.rejected", hashlib.sha256(data).hexdigest(),
                          {"size_bytes": len(data), "code": code, "filename": filename, "batch_id": batch_id})
        self.metrics.recognitions.labels(code).inc()


class BatchRunner:
    """Reads the items of batches one at a time in the background, through the same bounded pool
    (waiting for a slot rather than being refused). The bytes wait in the evidence store, so
    unfinished batches are picked up again after a restart."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="caliber-batches", daemon=True)
        self._thread.start()
        for batch_id in self.services.store.unfinished_batches():
            self.submit(batch_id)

    def submit(self, batch_id: str) -> None:
        self._queue.put(batch_id)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            batch_id = self._queue.get()
            if batch_id is None:
                return
            try:
                self.run_batch(batch_id)
            except Exception:  # keep serving other batches; the batch stays unfinished and resumes on restart
                log.exception("batch %s stopped", batch_id)

    def run_batch(self, batch_id: str) -> None:
        svc = self.services
        batch = svc.store.batch(batch_id)
        if batch is None or batch.finished_at is not None:
            return
        options = options_from(batch.options)
        for item in batch.items:
            if self._stop.is_set():
                return
            if item.status != "pending":
                continue
            data = svc.evidence.get(item.sha256)
            try:
                rec = svc.pool.run_blocking(svc.reader.read_bytes, data, options)
            except IntakeError as exc:
                svc.reject_upload(data, str(exc.code), batch.created_by, item.name, batch_id)
                svc.store.finish_item(batch_id, item.position, error_code=str(exc.code), error_detail=str(exc))
                continue
            except Exception as exc:
                log.exception("batch %s item %d failed", batch_id, item.position)
                svc.store.finish_item(batch_id, item.position, error_code="internal_error",
                                      error_detail=f"reading failed: {type(exc).__name__}")
                continue
            stored = svc.persist_reading(data, rec, options, batch.created_by, item.name, batch_id)
            svc.store.finish_item(batch_id, item.position, recognition_id=stored.id)
        svc.audit.append(batch.created_by, "batch.finished", batch_id, {"total": batch.total})
        svc.store.finish_batch(batch_id)
