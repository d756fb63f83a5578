"""/v1/batches: several photos (or zip archives of photos) read in the background."""

from __future__ import annotations

import hashlib
import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import get_reader, get_services, require
from api.keys import Permission, Principal
from api.problems import Problem, ProblemCode, problem_responses
from api.routes.common import read_upload
from api.schemas import BatchItemOut, BatchOut
from api.services import Reader, Services, options_dict
from api.store import StoredBatch
from api.zips import expand_zip, is_zip
from vision.pipeline import ReadOptions

router = APIRouter(prefix="/v1/batches", tags=["batches"])


def batch_out(b: StoredBatch) -> BatchOut:
    done = sum(i.status == "done" for i in b.items)
    failed = sum(i.status == "failed" for i in b.items)
    return BatchOut(
        id=b.id, status="finished" if b.finished_at else "running", created_at=b.created_at,
        created_by=b.created_by, total=b.total, done=done, failed=failed, pending=b.total - done - failed,
        finished_at=b.finished_at,
        items=[BatchItemOut(position=i.position, name=i.name, sha256=i.sha256, size_bytes=i.size_bytes,
                            status=i.status,  # type: ignore[arg-type]
                            recognition_id=i.recognition_id,
                            error={"code": i.error_code, "detail": i.error_detail or ""} if i.error_code else None)
               for i in b.items],
    )


@router.post(
    "", status_code=202, response_model=BatchOut, summary="Read several photos in the background",
    description="Multipart field `files`, repeated: photos, or zip archives of photos (members that leave "
                "the archive's folder, or expand beyond the limits, refuse the whole request). Answers at once "
                "with the job; follow `Location` for progress and results.",
    responses=problem_responses(ProblemCode.UNAUTHORIZED, ProblemCode.FORBIDDEN, ProblemCode.BUSY,
                                ProblemCode.TOO_MANY_FILES,
                                ProblemCode.ZIP_BOMB, ProblemCode.ZIP_PATH_TRAVERSAL, ProblemCode.ZIP_INVALID,
                                ProblemCode.TOO_LARGE, ProblemCode.REQUEST_TOO_LARGE, ProblemCode.VALIDATION_ERROR),
)
async def create_batch(
    files: Annotated[list[UploadFile], File(description="photos or zip archives")],
    principal: Annotated[Principal, Depends(require(Permission.BATCH))],
    services: Annotated[Services, Depends(get_services)],
    _reader: Annotated[Reader, Depends(get_reader)],
    top_k: Annotated[int, Form(ge=1, le=10)] = 5,
    temperature: Annotated[float, Form(ge=0.5, le=5.0)] = 2.0,
    min_confidence: Annotated[float, Form(ge=0.0, le=1.0)] = 0.3,
    det_max_side: Annotated[int | None, Form(ge=320, le=4096)] = None,
) -> JSONResponse:
    s = services.settings
    open_batches = len(await run_in_threadpool(services.store.unfinished_batches))
    if open_batches >= s.max_open_batches:
        services.metrics.rejected.labels("batches").inc()
        raise Problem(ProblemCode.BUSY, f"{open_batches} batches are still being read; retry later",
                      headers={"Retry-After": str(s.retry_after_s * 10)})
    items: list[tuple[str, bytes]] = []
    total = 0
    for n, upload in enumerate(files):
        data = await read_upload(upload, s.max_batch_bytes)
        label = upload.filename or f"file-{n + 1}"
        if is_zip(data):
            remaining = s.max_batch_bytes - total
            members = await run_in_threadpool(
                partial(expand_zip, data, label=label, max_files=s.max_batch_files - len(items),
                        max_member_bytes=s.max_upload_bytes, max_total_bytes=max(remaining, 0),
                        max_ratio=s.max_zip_ratio))
            items.extend(members)
            total += sum(len(b) for _, b in members)
        else:
            if len(data) > s.max_upload_bytes:
                raise Problem(ProblemCode.TOO_LARGE,
                              f"{label}: {len(data):,} bytes; the limit is {s.max_upload_bytes:,}")
            items.append((label, data))
            total += len(data)
        if len(items) > s.max_batch_files:
            raise Problem(ProblemCode.TOO_MANY_FILES, f"more than {s.max_batch_files} photos in one batch")
    if not items:
        raise Problem(ProblemCode.VALIDATION_ERROR, "the batch holds no files")
    options = ReadOptions(top_k=top_k, temperature=temperature, min_confidence=min_confidence,
                          det_max_side=det_max_side)
    batch_id = str(uuid.uuid4())

    def register() -> StoredBatch:
        rows = []
        for name, data in items:
            sha = services.evidence.put(data)
            rows.append((name, sha, len(data)))
        services.store.create_batch(batch_id, principal.key_id, options_dict(options), rows)
        services.audit.append(principal.key_id, "batch.created", batch_id, {
            "items": [{"name": n, "sha256": hashlib.sha256(d).hexdigest(), "size_bytes": len(d)} for n, d in items],
        })
        stored = services.store.batch(batch_id)
        assert stored is not None
        return stored

    stored = await run_in_threadpool(register)
    if services.batches is not None:
        services.batches.submit(batch_id)
    return JSONResponse(batch_out(stored).model_dump(mode="json"), status_code=202,
                        headers={"Location": f"/v1/batches/{batch_id}"})


@router.get("/{batch_id}", response_model=BatchOut, summary="Progress and results of a batch",
            responses=problem_responses(ProblemCode.UNAUTHORIZED, ProblemCode.FORBIDDEN, ProblemCode.NOT_FOUND))
async def get_batch(
    batch_id: str,
    principal: Annotated[Principal, Depends(require(Permission.VIEW))],
    services: Annotated[Services, Depends(get_services)],
) -> BatchOut:
    stored = await run_in_threadpool(services.store.batch, batch_id)
    if stored is None or not principal.sees(stored.created_by):
        raise Problem(ProblemCode.NOT_FOUND, f"no batch {batch_id}")
    return batch_out(stored)
