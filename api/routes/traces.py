"""/v1/traces: look a serial (typed, ranked candidates, or a stored reading) up in the registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from api.deps import get_registry, get_services, require
from api.keys import Permission, Principal
from api.problems import Problem, ProblemCode, problem_responses
from api.schemas import TraceIn, TraceOut
from api.services import Services
from tracing.query import SerialQuery, parse_serial, queries_from_strings
from tracing.reading import best_mark, recognition_from_dict, serial_queries
from tracing.request import Correction, build_trace_request
from vision.types import MarkKind, Recognition

router = APIRouter(prefix="/v1/traces", tags=["traces"])


def run_trace(services: Services, registry: Any, body: TraceIn, principal: Principal) -> TraceOut:
    actor = principal.key_id
    model = registry.model
    recognition: Recognition | None = None
    fixes: dict[str, str] = {}
    corrections: list[Correction] = []
    if body.recognition_id:
        stored = services.store.recognition(body.recognition_id)
        if stored is None or not principal.sees(stored.created_by):
            raise Problem(ProblemCode.NOT_FOUND, f"no recognition {body.recognition_id}")
        recognition = recognition_from_dict(stored.result)
        for c in services.store.corrections(body.recognition_id):
            fixes[c.field] = c.value  # the latest correction of a field wins
            if not c.confirmed:
                corrections.append(Correction(c.field, c.value, c.note, c.created_by))
    try:
        queries: list[SerialQuery]
        if body.serial:
            queries = [parse_serial(body.serial, model)]
        elif body.candidates:
            queries = queries_from_strings([(c.value, c.score) for c in body.candidates], model)
        elif "serial" in fixes:
            queries = [parse_serial(fixes["serial"], model)]
        elif recognition is not None:
            queries = serial_queries(recognition, model)
        else:
            raise Problem(ProblemCode.NO_SERIAL, "give serial, candidates or recognition_id")
    except ValueError as exc:
        raise Problem(ProblemCode.VALIDATION_ERROR, str(exc)) from exc
    if not queries:
        raise Problem(ProblemCode.NO_SERIAL, "the reading has no serial; give one or correct the reading")

    wanted: dict[str, str | None] = {"make": body.make or fixes.get("make"), "model": body.model or fixes.get("model"),
                                     "calibre": body.calibre or fixes.get("calibre")}
    if recognition is not None:
        for fld, kind in (("make", MarkKind.MAKER), ("model", MarkKind.MODEL), ("calibre", MarkKind.CALIBRE)):
            mark = best_mark(recognition, kind)
            if not wanted[fld] and mark is not None:
                wanted[fld] = mark.value
    result = registry.search(queries, make=wanted["make"], model=wanted["model"], calibre=wanted["calibre"],
                             max_cost=body.max_cost, limit=body.limit)
    doc = None
    if body.include_request:
        fields = {"serial": body.serial, "make": body.make, "model": body.model, "calibre": body.calibre,
                  "type": body.type}
        doc = build_trace_request(recognition, fields=fields, corrections=corrections, hits=result.hits,
                                  obliterated=body.obliterated or "?" in (body.serial or ""), agency=body.agency,
                                  case_reference=body.case_reference).data
    services.audit.append(actor, "trace", body.recognition_id or "", {
        "query": [q.text or q.best for q in queries][:10], "make": wanted["make"], "model": wanted["model"],
        "calibre": wanted["calibre"], "hits": [h.record.id for h in result.hits][:20],
        "request_id": doc["request_id"] if doc else None,
    })
    return TraceOut.model_validate({
        "query": [q.best for q in queries],
        "hits": [h.as_dict() for h in result.hits],
        "max_cost": result.max_cost,
        "strategy": result.strategy,
        "candidates": result.candidates,
        "ms": round(result.ms, 2),
        "trace_request": doc,
    })


@router.post(
    "", response_model=TraceOut, summary="Search the registry for a serial",
    description="Give a typed `serial` (`?` an unknown character, `[8B]` alternatives), ranked `candidates`, "
                "or a `recognition_id` (its serial mark's per-character alternatives, or the analyst's "
                "correction). Make, model and calibre narrow the ranking. `include_request` adds a trace "
                "request document.",
    responses=problem_responses(ProblemCode.UNAUTHORIZED, ProblemCode.FORBIDDEN, ProblemCode.NOT_FOUND,
                                ProblemCode.NO_SERIAL, ProblemCode.VALIDATION_ERROR),
)
async def create_trace(
    body: TraceIn,
    principal: Annotated[Principal, Depends(require(Permission.TRACE))],
    services: Annotated[Services, Depends(get_services)],
    registry: Annotated[Any, Depends(get_registry)],
) -> TraceOut:
    return await run_in_threadpool(run_trace, services, registry, body, principal)
