"""Liveness, readiness and Prometheus metrics (no key needed; no secrets in them)."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import get_services
from api.schemas import Health, Readiness
from api.services import Services

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


def _db_ok(services: Services) -> bool:
    try:
        with services.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


@router.get("/readyz", response_model=Readiness, summary="Models loaded and database reachable",
            responses={503: {"model": Readiness, "description": "not ready"}})
async def readyz(services: Annotated[Services, Depends(get_services)]) -> JSONResponse:
    db = await run_in_threadpool(_db_ok, services)
    ready = services.models_loaded and db
    body = Readiness(status="ready" if ready else "not_ready", models_loaded=services.models_loaded, database=db,
                     detail=services.load_error)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
async def metrics(services: Annotated[Services, Depends(get_services)]) -> Response:
    m = services.metrics
    m.admitted.set(services.pool.admitted)
    m.capacity.set(services.pool.capacity)
    m.ready.set(1 if services.models_loaded else 0)
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
