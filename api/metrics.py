"""Prometheus metrics, one registry per app (so several apps in one process do not collide),
and the ASGI middleware that limits request bodies and counts requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import ProblemCode, problem_response

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("caliber_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("caliber_http_request_seconds", "time to answer a request",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.inference = Histogram("caliber_inference_seconds", "time to read one photo in a worker",
                                   buckets=LATENCY_BUCKETS, registry=self.registry)
        self.rejected = Counter("caliber_rejected", "requests refused before reading", ["reason"],
                                registry=self.registry)
        self.admitted = Gauge("caliber_inference_admitted", "readings running or waiting for a worker",
                              registry=self.registry)
        self.capacity = Gauge("caliber_inference_capacity", "readings allowed at once (workers + queue)",
                              registry=self.registry)
        self.ready = Gauge("caliber_models_ready", "1 when the models are loaded", registry=self.registry)
        self.recognitions = Counter("caliber_recognitions", "photos read", ["outcome"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class BodyProblem(StarletteHTTPException):
    code = ProblemCode.REQUEST_TOO_LARGE


class RequestTooLarge(BodyProblem):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds {limit:,} bytes")


class RequestTimedOut(BodyProblem):
    code = ProblemCode.REQUEST_TIMEOUT

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"no part of the request body arrived for {seconds:g} s")


class LimitAndCount:
    """Refuses bodies over the limit for their path (declared or streamed), and bodies that stall
    (no chunk for ``body_timeout`` seconds); records metrics."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int], metrics: Metrics,
                 body_timeout: float = 30.0) -> None:
        self.app = app
        self.limit_for = limit_for
        self.metrics = metrics
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        path: str = scope["path"]
        limit = self.limit_for(path)
        status = {"code": 500, "started": False}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
                status["started"] = True
            await send(message)

        try:
            declared = Headers(scope=scope).get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                resp = problem_response(ProblemCode.REQUEST_TOO_LARGE,
                                        f"the request body has {int(declared):,} bytes; the limit is {limit:,}", path)
                await resp(scope, receive, counting_send)
                return
            seen = 0
            body_done = False

            async def limited_receive() -> Message:
                nonlocal seen, body_done
                if body_done:  # e.g. waiting for a disconnect while answering: no time limit
                    return await receive()
                try:
                    message = await asyncio.wait_for(receive(), self.body_timeout)
                except TimeoutError as exc:
                    raise RequestTimedOut(self.body_timeout) from exc
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise RequestTooLarge(limit)
                    body_done = not message.get("more_body", False)
                return message

            try:
                await self.app(scope, limited_receive, counting_send)
            except BodyProblem as exc:
                if status["started"]:
                    raise
                resp = problem_response(exc.code, str(exc.detail), path)
                await resp(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], name, str(status["code"])).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - t0)
