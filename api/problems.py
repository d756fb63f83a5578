"""Errors as ``application/problem+json`` (RFC 9457) with stable codes.

Every error the service answers carries ``code`` (stable, for programs), ``title`` and
``detail`` (for people), ``status`` and ``type`` (``/problems/<code>``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vision.intake import IntakeCode

PROBLEM_JSON = "application/problem+json"


class ProblemCode(StrEnum):
    # the intake codes of vision.intake, same spelling
    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    CORRUPT = "corrupt"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_MANY_PIXELS = "too_many_pixels"
    TOO_LARGE = "too_large"
    # the service's own
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    VALIDATION_ERROR = "validation_error"
    BAD_REQUEST = "bad_request"
    REQUEST_TOO_LARGE = "request_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    TOO_MANY_FILES = "too_many_files"
    ZIP_PATH_TRAVERSAL = "zip_path_traversal"
    ZIP_BOMB = "zip_bomb"
    ZIP_INVALID = "zip_invalid"
    NO_SERIAL = "no_serial"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    BUSY = "busy"
    TIMEOUT = "timeout"
    NOT_READY = "not_ready"
    INTERNAL_ERROR = "internal_error"


STATUS: dict[ProblemCode, int] = {
    ProblemCode.EMPTY: 422,
    ProblemCode.NOT_AN_IMAGE: 415,
    ProblemCode.CORRUPT: 422,
    ProblemCode.UNSUPPORTED_FORMAT: 415,
    ProblemCode.TOO_MANY_PIXELS: 413,
    ProblemCode.TOO_LARGE: 413,
    ProblemCode.UNAUTHORIZED: 401,
    ProblemCode.FORBIDDEN: 403,
    ProblemCode.NOT_FOUND: 404,
    ProblemCode.METHOD_NOT_ALLOWED: 405,
    ProblemCode.VALIDATION_ERROR: 422,
    ProblemCode.BAD_REQUEST: 400,
    ProblemCode.REQUEST_TOO_LARGE: 413,
    ProblemCode.REQUEST_TIMEOUT: 408,
    ProblemCode.TOO_MANY_FILES: 413,
    ProblemCode.ZIP_PATH_TRAVERSAL: 422,
    ProblemCode.ZIP_BOMB: 413,
    ProblemCode.ZIP_INVALID: 422,
    ProblemCode.NO_SERIAL: 422,
    ProblemCode.IDEMPOTENCY_CONFLICT: 409,
    ProblemCode.BUSY: 429,
    ProblemCode.TIMEOUT: 504,
    ProblemCode.NOT_READY: 503,
    ProblemCode.INTERNAL_ERROR: 500,
}

TITLES: dict[ProblemCode, str] = {
    ProblemCode.EMPTY: "The file is empty",
    ProblemCode.NOT_AN_IMAGE: "Not an image",
    ProblemCode.CORRUPT: "Corrupt image",
    ProblemCode.UNSUPPORTED_FORMAT: "Unsupported image format",
    ProblemCode.TOO_MANY_PIXELS: "Too many pixels",
    ProblemCode.TOO_LARGE: "File too large",
    ProblemCode.UNAUTHORIZED: "Missing or invalid API key",
    ProblemCode.FORBIDDEN: "The key's role does not allow this",
    ProblemCode.NOT_FOUND: "Not found",
    ProblemCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ProblemCode.VALIDATION_ERROR: "Invalid request",
    ProblemCode.BAD_REQUEST: "Malformed request",
    ProblemCode.REQUEST_TOO_LARGE: "Request body too large",
    ProblemCode.REQUEST_TIMEOUT: "Request body stalled",
    ProblemCode.TOO_MANY_FILES: "Too many files",
    ProblemCode.ZIP_PATH_TRAVERSAL: "Unsafe path in zip",
    ProblemCode.ZIP_BOMB: "Zip expands too much",
    ProblemCode.ZIP_INVALID: "Invalid zip",
    ProblemCode.NO_SERIAL: "Nothing to search for",
    ProblemCode.IDEMPOTENCY_CONFLICT: "Idempotency key reused for another photo",
    ProblemCode.BUSY: "Too many requests in progress",
    ProblemCode.TIMEOUT: "Reading took too long",
    ProblemCode.NOT_READY: "Service not ready",
    ProblemCode.INTERNAL_ERROR: "Internal error",
}


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self, code: ProblemCode, detail: str = "", *, headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or TITLES[code])
        self.code = code
        self.detail = detail or TITLES[code]
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def status(self) -> int:
        return STATUS[self.code]

    @classmethod
    def from_intake(cls, code: IntakeCode, detail: str) -> Problem:
        return cls(ProblemCode(str(code)), detail)


def problem_body(code: ProblemCode, detail: str, instance: str = "", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": TITLES[code],
        "status": STATUS[code],
        "code": str(code),
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_response(
    code: ProblemCode, detail: str = "", instance: str = "", headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(code, detail or TITLES[code], instance, **extra),
        status_code=STATUS[code],
        media_type=PROBLEM_JSON,
        headers=headers,
    )


_HTTP_CODES = {
    400: ProblemCode.BAD_REQUEST,
    401: ProblemCode.UNAUTHORIZED,
    403: ProblemCode.FORBIDDEN,
    404: ProblemCode.NOT_FOUND,
    405: ProblemCode.METHOD_NOT_ALLOWED,
    408: ProblemCode.REQUEST_TIMEOUT,
    413: ProblemCode.REQUEST_TOO_LARGE,
    422: ProblemCode.VALIDATION_ERROR,
    429: ProblemCode.BUSY,
    503: ProblemCode.NOT_READY,
}


def install_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc.code, exc.detail, request.url.path, exc.headers, **exc.extra)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return problem_response(ProblemCode.VALIDATION_ERROR, detail, request.url.path, errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, ProblemCode.BAD_REQUEST if exc.status_code < 500
                               else ProblemCode.INTERNAL_ERROR)
        detail = str(exc.detail) if exc.detail else TITLES[code]
        body = problem_body(code, detail, request.url.path)
        body["status"] = exc.status_code
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_JSON,
                            headers=dict(exc.headers or {}))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(ProblemCode.INTERNAL_ERROR, "an unexpected error occurred; it was logged",
                                request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def problem_responses(*codes: ProblemCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries with an example problem document per status."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        status = STATUS[code]
        entry = out.setdefault(status, {"description": TITLES[code], "content": {PROBLEM_JSON: {"examples": {}}}})
        entry["content"][PROBLEM_JSON]["examples"][str(code)] = {
            "summary": TITLES[code],
            "value": problem_body(code, TITLES[code], "/v1/..."),
        }
    return out
