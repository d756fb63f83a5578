"""The HTTP service: ``create_app`` builds everything from settings and injected parts.

Nothing happens at import. Models load once in the lifespan (``/readyz`` says when); inference
runs in a bounded worker pool; routes stay thin and reach their collaborators through
``api.deps`` so tests can override them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.audit import AuditLog
from api.db import migrate, open_engine
from api.evidence import EvidenceStore
from api.keys import KeyStore
from api.metrics import LimitAndCount, Metrics
from api.problems import install_handlers
from api.routes import batches, health, recognitions, traces, web
from api.services import BatchRunner, Reader, Services
from api.settings import ServiceSettings, load_settings
from api.store import Store
from api.workers import InferencePool
from vision.pipeline import IntakeLimits, Pipeline

log = logging.getLogger("caliber.api")

DESCRIPTION = """
Reads serial numbers and markings from photos of firearms and looks them up for tracing.

Every `/v1` call needs an API key in the `X-API-Key` header (`caliber keys create --role ROLE`).
Roles: **officer** (read, view, originals, corrections, traces), **lab** (all, batches too),
**integrator** (read, view, traces, batches; no originals, no corrections; only its own key's
readings and batches), **admin** (all).

Errors are `application/problem+json` with a stable `code`: the intake codes (`empty`,
`not_an_image`, `corrupt`, `unsupported_format`, `too_many_pixels`, `too_large`) and the service's
(`unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, `validation_error`, `bad_request`,
`request_too_large`, `request_timeout`, `too_many_files`, `zip_path_traversal`, `zip_bomb`, `zip_invalid`, `no_serial`,
`idempotency_conflict`, `busy` (429 with Retry-After), `timeout`, `not_ready`, `internal_error`).

Uploads may carry an `Idempotency-Key` header: a retry with the same key (and the same photo) returns
the first reading (200, `Idempotent-Replayed: true`) instead of reading the photo again.
"""


def _default_reader(settings: ServiceSettings) -> Reader:
    from models.registry import OrtConfig
    from vision.pipeline import build_pipeline

    return build_pipeline(ort_config=OrtConfig(intra_op_threads=settings.inference_threads),
                          limits=IntakeLimits(max_pixels=settings.max_pixels, max_bytes=settings.max_upload_bytes))


def _open_registry(engine: Engine) -> Any:
    from tracing.db import migrate as migrate_registry
    from tracing.registry import Registry

    migrate_registry(engine)
    return Registry(engine)


def create_app(
    settings: ServiceSettings | None = None,
    pipeline: Reader | None = None,
    *,
    engine: Engine | None = None,
    registry: Any = None,
    run_batches: bool = True,
) -> FastAPI:
    settings = settings or load_settings()
    if pipeline is None:
        pipeline = _default_reader(settings)
    elif isinstance(pipeline, Pipeline):
        # same shared models, this service's intake limits
        pipeline = replace(pipeline, limits=IntakeLimits(max_pixels=settings.max_pixels,
                                                         max_bytes=settings.max_upload_bytes))
    engine = engine or open_engine(settings.resolved_database_url)
    migrate(engine)
    metrics = Metrics()
    services = Services(
        settings=settings, engine=engine, reader=pipeline,
        pool=InferencePool(settings.inference_workers, settings.queue_size, on_done=metrics.inference.observe),
        evidence=EvidenceStore(settings.evidence_dir), store=Store(engine),
        keys=KeyStore(engine, dev_mode=settings.dev_mode), audit=AuditLog(engine, settings.audit_head_file),
        metrics=metrics,
        registry=registry,
    )
    if run_batches:
        services.batches = BatchRunner(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(services.reader.warm_up)
            services.models_loaded = True
        except Exception as exc:  # stay up: /healthz answers, /readyz says why not ready
            services.load_error = f"models failed to load: {exc}"
            log.error("%s", services.load_error)
        if services.registry is None:
            try:
                services.registry = await run_in_threadpool(_open_registry, engine)
            except Exception as exc:  # readings still work; /v1/traces answers not_ready with the reason
                services.registry_error = f"the registry could not be opened: {exc}"
                log.error("%s", services.registry_error)
        if services.batches is not None:
            services.batches.start()
        try:
            yield
        finally:
            if services.batches is not None:
                await run_in_threadpool(services.batches.stop)
            await run_in_threadpool(services.pool.shutdown)

    app = FastAPI(
        title="caliber", version="1", description=DESCRIPTION, lifespan=lifespan,
        openapi_tags=[
            {"name": "recognitions", "description": "read photos, fetch results, originals, overlays, corrections"},
            {"name": "traces", "description": "registry lookups and trace requests"},
            {"name": "batches", "description": "many photos or zip archives, read in the background"},
            {"name": "health", "description": "liveness, readiness, metrics"},
        ],
    )
    app.state.services = services
    install_handlers(app)
    app.include_router(recognitions.router)
    app.include_router(traces.router)
    app.include_router(batches.router)
    app.include_router(health.router)
    app.include_router(web.build_router())  # the officers' page at /
    app.add_middleware(LimitAndCount, limit_for=settings.max_request_bytes, metrics=metrics,
                       body_timeout=settings.request_body_timeout_s)
    return app
