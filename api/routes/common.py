"""Helpers shared by the routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import UploadFile

from api.problems import Problem, ProblemCode
from api.services import Services
from api.workers import Busy, TimedOut

T = TypeVar("T")


async def bounded(services: Services, fn: Callable[..., T], *args: Any) -> T:
    """Run CPU-heavy work in the bounded pool: 429 when full, 504 past the timeout."""
    settings = services.settings
    try:
        return await services.pool.run(fn, *args, timeout=settings.inference_timeout_s)
    except Busy as exc:
        services.metrics.rejected.labels("busy").inc()
        raise Problem(ProblemCode.BUSY, f"{services.pool.capacity} readings are running or waiting; retry later",
                      headers={"Retry-After": str(settings.retry_after_s)}) from exc
    except TimedOut as exc:
        services.metrics.rejected.labels("timeout").inc()
        raise Problem(ProblemCode.TIMEOUT, f"the work took longer than {settings.inference_timeout_s:g} s") from exc


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The uploaded bytes, refused past ``limit`` without reading further."""
    buf = bytearray()
    while chunk := await upload.read(1 << 20):
        buf += chunk
        if len(buf) > limit:
            raise Problem(ProblemCode.TOO_LARGE, f"the file exceeds {limit:,} bytes")
    return bytes(buf)
