"""/v1/recognitions: read a photo, fetch the result, its original, its overlay, and correct it."""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Query, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import get_reader, get_services, require
from api.keys import Permission, Principal
from api.overlay import render_overlay
from api.problems import Problem, ProblemCode, problem_responses
from api.routes.common import bounded, read_upload
from api.schemas import CorrectionIn, CorrectionOut, MachineReading, ReadOptionsOut, RecognitionOut
from api.services import Reader, Services
from api.store import DuplicateIdempotencyKey, StoredCorrection, StoredRecognition, machine_reading
from vision.intake import IntakeError
from vision.pipeline import ReadOptions

log = logging.getLogger("caliber.api")
router = APIRouter(prefix="/v1/recognitions", tags=["recognitions"])

AUTH = (ProblemCode.UNAUTHORIZED, ProblemCode.FORBIDDEN)


def correction_out(c: StoredCorrection) -> CorrectionOut:
    machine = None if c.machine_value is None else MachineReading(value=c.machine_value, score=c.machine_score)
    return CorrectionOut(id=c.id, recognition_id=c.recognition_id, field=c.field, machine=machine, value=c.value,
                         confirmed=c.confirmed, note=c.note, created_at=c.created_at, created_by=c.created_by)


def recognition_out(rec: StoredRecognition, corrections: list[StoredCorrection]) -> RecognitionOut:
    return RecognitionOut.model_validate({
        **rec.result,
        "id": rec.id,
        "created_at": rec.created_at,
        "created_by": rec.created_by,
        "filename": rec.filename,
        "options": ReadOptionsOut(**rec.options),
        "batch_id": rec.batch_id,
        "corrections": [correction_out(c) for c in corrections],
    })


def _load(services: Services, rec_id: str, principal: Principal) -> StoredRecognition:
    rec = services.store.recognition(rec_id)
    if rec is None or not principal.sees(rec.created_by):  # another integrator's reading does not exist for it
        raise Problem(ProblemCode.NOT_FOUND, f"no recognition {rec_id}")
    return rec


@router.post(
    "", status_code=201, response_model=RecognitionOut,
    summary="Read the markings in a photo",
    description="Multipart upload: field `image` (JPEG, PNG, WebP, TIFF, HEIC; the format is sniffed from the "
                "bytes, never from the name or declared type) and optional reading options. The original is "
                "stored by SHA-256 and the result with its provenance. A photo without legible text is a result "
                "with the warning `no_text`, not an error.",
    responses=problem_responses(
        *AUTH, ProblemCode.EMPTY, ProblemCode.NOT_AN_IMAGE, ProblemCode.CORRUPT, ProblemCode.UNSUPPORTED_FORMAT,
        ProblemCode.TOO_MANY_PIXELS, ProblemCode.TOO_LARGE, ProblemCode.REQUEST_TOO_LARGE,
        ProblemCode.VALIDATION_ERROR, ProblemCode.IDEMPOTENCY_CONFLICT, ProblemCode.BUSY, ProblemCode.TIMEOUT,
        ProblemCode.NOT_READY,
    ),
)
async def create_recognition(
    response: Response,
    image: Annotated[UploadFile, File(description="the photo")],
    principal: Annotated[Principal, Depends(require(Permission.READ_PHOTO))],
    services: Annotated[Services, Depends(get_services)],
    reader: Annotated[Reader, Depends(get_reader)],
    top_k: Annotated[int, Form(ge=1, le=10, description="alternatives kept per character")] = 5,
    temperature: Annotated[float, Form(ge=0.5, le=5.0, description="softens the recogniser's confidence")] = 2.0,
    min_confidence: Annotated[float, Form(ge=0.0, le=1.0, description="lines read with less are dropped")] = 0.3,
    det_max_side: Annotated[int | None, Form(ge=320, le=4096, description="size of the detection copy")] = None,
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=200, description="a retry with the same key returns the first reading")] = None,
) -> RecognitionOut:
    settings = services.settings
    data = await read_upload(image, settings.max_upload_bytes)
    if idempotency_key:
        earlier = await run_in_threadpool(services.store.by_idempotency_key, principal.key_id, idempotency_key)
        if earlier is not None:
            return await run_in_threadpool(_replay, services, earlier, data, response)
    options = ReadOptions(top_k=top_k, temperature=temperature, min_confidence=min_confidence,
                          det_max_side=det_max_side)
    filename = image.filename or ""
    try:
        rec = await bounded(services, reader.read_bytes, data, options)
    except IntakeError as exc:
        await run_in_threadpool(services.reject_upload, data, str(exc.code), principal.key_id, filename)
        raise Problem.from_intake(exc.code, str(exc)) from exc
    except Problem:
        raise
    except Exception as exc:  # a broken stage is an error, never an empty result
        log.exception("reading failed")
        services.metrics.recognitions.labels("internal_error").inc()
        raise Problem(ProblemCode.INTERNAL_ERROR, "the reading failed; the error was logged") from exc
    try:
        stored = await run_in_threadpool(services.persist_reading, data, rec, options, principal.key_id, filename,
                                         None, idempotency_key)
    except DuplicateIdempotencyKey as exc:  # a concurrent request with the same key stored its reading first
        earlier = await run_in_threadpool(services.store.by_idempotency_key, principal.key_id, str(exc))
        if earlier is None:
            raise
        return await run_in_threadpool(_replay, services, earlier, data, response)
    return recognition_out(stored, [])


def _replay(services: Services, earlier: StoredRecognition, data: bytes, response: Response) -> RecognitionOut:
    if hashlib.sha256(data).hexdigest() != earlier.sha256:
        raise Problem(ProblemCode.IDEMPOTENCY_CONFLICT,
                      "this Idempotency-Key was used for another photo; use a new key for a new photo")
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
    return recognition_out(earlier, services.store.corrections(earlier.id))


@router.get("/{rec_id}", response_model=RecognitionOut, summary="A stored recognition with its corrections",
            responses=problem_responses(*AUTH, ProblemCode.NOT_FOUND))
async def get_recognition(
    rec_id: str,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    services: Annotated[Services, Depends(get_services)],
) -> RecognitionOut:
    rec = await run_in_threadpool(_load, services, rec_id, principal)
    corrections = await run_in_threadpool(services.store.corrections, rec_id)
    return recognition_out(rec, corrections)


@router.get(
    "/{rec_id}/original", summary="The exact bytes uploaded",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the original, unmodified"},
               **problem_responses(*AUTH, ProblemCode.NOT_FOUND)},
)
async def get_original(
    rec_id: str,
    principal: Annotated[Principal, Depends(require(Permission.ORIGINAL))],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    rec = await run_in_threadpool(_load, services, rec_id, principal)
    data = await run_in_threadpool(services.evidence.get, rec.sha256)
    await run_in_threadpool(services.audit.append, principal.key_id, "export.original", rec_id,
                            {"sha256": rec.sha256})
    media = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff",
             "HEIF": "image/heif"}.get(str(rec.result.get("provenance", {}).get("format")), "application/octet-stream")
    return Response(data, media_type=media, headers={
        "Digest": f"sha-256={rec.sha256}", "ETag": f'"{rec.sha256}"', "Cache-Control": "private, no-transform",
        "Content-Disposition": f'attachment; filename="{rec.sha256}"', "X-Content-Type-Options": "nosniff",
    })


@router.get(
    "/{rec_id}/overlay.png", summary="The photo with the regions and readings drawn",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "a new image; the original is untouched"},
               **problem_responses(*AUTH, ProblemCode.NOT_FOUND)},
)
async def get_overlay(
    rec_id: str,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    services: Annotated[Services, Depends(get_services)],
    max_side: Annotated[int, Query(ge=64, le=16384, description="long side of the image (at most the "
                                                                  "service's overlay_max_side)")] = 2048,
) -> Response:
    rec = await run_in_threadpool(_load, services, rec_id, principal)
    data = await run_in_threadpool(services.evidence.get, rec.sha256)
    side = min(max_side, services.settings.overlay_max_side)
    png = await bounded(services, render_overlay, data, rec.result, side, services.settings.max_pixels)
    await run_in_threadpool(services.audit.append, principal.key_id, "export.overlay", rec_id,
                            {"sha256": rec.sha256, "max_side": side})
    return Response(png, media_type="image/png")


@router.post(
    "/{rec_id}/corrections", status_code=201, response_model=CorrectionOut,
    summary="Confirm or correct a value (the machine reading is kept beside it)",
    responses=problem_responses(*AUTH, ProblemCode.NOT_FOUND, ProblemCode.VALIDATION_ERROR),
)
async def add_correction(
    rec_id: str,
    body: CorrectionIn,
    principal: Annotated[Principal, Depends(require(Permission.CORRECT))],
    services: Annotated[Services, Depends(get_services)],
) -> CorrectionOut:
    rec = await run_in_threadpool(_load, services, rec_id, principal)
    machine_value, machine_score = machine_reading(rec.result, body.field)
    value = body.value.strip()
    stored = await run_in_threadpool(services.store.add_correction, rec_id, body.field, machine_value,
                                     machine_score, value, body.note, principal.key_id)
    await run_in_threadpool(services.audit.append, principal.key_id, "correction", rec_id, {
        "id": stored.id, "field": body.field, "machine": machine_value, "value": value, "confirmed": stored.confirmed,
    })
    return correction_out(stored)
