"""Request and response schemas of the HTTP API (the wire format).

The recognition part mirrors :func:`api.serialize.recognition_to_dict` field for field: responses
are built by validating that function's output, so the CLI's JSON and the API's agree (a test
checks the round trip).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# ------------------------------------------------------------------------ recognition (serialize)


class CharAlternative(BaseModel):
    char: str
    p: float


class LineAlternate(BaseModel):
    text: str
    weight: float


class LineOut(BaseModel):
    text: str
    confidence: float
    quad: list[list[float]] = Field(description="four corners clockwise from the start of the text, in pixels "
                                                "of the upright image")
    chars: list[list[CharAlternative]] = Field(description="per position, the alternatives best first")
    spans: list[list[float]] = Field(description="where each character lies along the line (fractions)")
    variant: str
    angle: int
    alternates: list[LineAlternate] = Field(
        default_factory=list,
        description="other readings of the whole line, best first; weight 1.0 is as likely as `text`. "
                    "They may be a character longer or shorter than `text` (a worn character past the "
                    "box's end, or one the box took in that may be a scratch), or the line read the "
                    "other way up where it reads about as well ('80695' and 'S6908')")


class ValueScore(BaseModel):
    value: str
    score: float


class MarkOut(BaseModel):
    kind: str = Field(description="serial, maker, model, calibre, country, importer, proof, date or other")
    value: str
    score: float
    alternatives: list[ValueScore]
    lines: list[int]
    detail: str


class WarningOut(BaseModel):
    code: str
    message: str
    values: dict[str, str] = Field(default_factory=dict, description="figures the message quotes, by name")


class StepOut(BaseModel):
    name: str
    ms: float
    params: dict[str, str]


class ModelOut(BaseModel):
    task: str
    name: str
    version: str
    sha256: str
    source: str


class ProvenanceOut(BaseModel):
    sha256: str
    size_bytes: int
    format: str
    width: int
    height: int
    exif_orientation: int
    steps: list[StepOut]
    models: list[ModelOut]
    libraries: dict[str, str]
    code_version: str


class RecognitionBody(BaseModel):
    """Exactly the shape of ``api.serialize.recognition_to_dict``."""

    model_config = ConfigDict(extra="forbid")

    sha256: str
    lines: list[LineOut]
    marks: list[MarkOut]
    warnings: list[WarningOut]
    provenance: ProvenanceOut


# ------------------------------------------------------------------------ service records


class MachineReading(BaseModel):
    value: str
    score: float | None = None


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"field": "serial", "value": "4471B09", "note": "checked under oblique light"}],
    })

    field: Literal["serial", "make", "model", "calibre", "country", "importer", "date", "type"]
    value: str = Field(min_length=1, max_length=200)
    note: str = Field("", max_length=2000)


class CorrectionOut(BaseModel):
    id: int
    recognition_id: str
    field: str
    machine: MachineReading | None = Field(description="what the machine read for this field (kept)")
    value: str
    confirmed: bool = Field(description="true when the analyst's value equals the machine reading")
    note: str
    created_at: dt.datetime
    created_by: str = Field(description="id of the API key")


class ReadOptionsOut(BaseModel):
    top_k: int
    temperature: float
    min_confidence: float
    det_max_side: int | None = None


_RECOGNITION_EXAMPLE: dict[str, Any] = {
    "id": "0b6f7c1e-4b7e-4bb8-9a3e-2f2f2b8f6c11",
    "created_at": "2026-11-28T13:00:00Z",
    "created_by": "3f9a1c0b7d2e",
    "filename": "pistol.jpg",
    "options": {"top_k": 5, "temperature": 2.0, "min_confidence": 0.3, "det_max_side": None},
    "sha256": "9f2c...e1",
    "lines": [{
        "text": "4471B09", "confidence": 0.93,
        "quad": [[212.0, 318.0], [530.0, 318.0], [530.0, 380.0], [212.0, 380.0]],
        "chars": [[{"char": "4", "p": 0.99}], [{"char": "4", "p": 0.98}], [{"char": "7", "p": 0.97}],
                  [{"char": "1", "p": 0.81}, {"char": "I", "p": 0.12}], [{"char": "B", "p": 0.71},
                  {"char": "8", "p": 0.27}], [{"char": "0", "p": 0.88}, {"char": "O", "p": 0.1}],
                  [{"char": "9", "p": 0.99}]],
        "spans": [[0.0, 0.14], [0.14, 0.28], [0.28, 0.42], [0.42, 0.56], [0.56, 0.7], [0.7, 0.84], [0.84, 1.0]],
        "variant": "original", "angle": 0,
    }],
    "marks": [{"kind": "serial", "value": "4471B09", "score": 0.71,
               "alternatives": [{"value": "447189", "score": 0.2}], "lines": [0], "detail": ""}],
    "warnings": [],
    "provenance": {"sha256": "9f2c...e1", "size_bytes": 183211, "format": "JPEG", "width": 1600, "height": 1000,
                   "exif_orientation": 1, "steps": [{"name": "detect", "ms": 160.2, "params": {"regions": "1"}}],
                   "models": [{"task": "rec", "name": "PP-OCRv6 small rec", "version": "6", "sha256": "...",
                               "source": "rapidocr==3.10.0"}],
                   "libraries": {"onnxruntime": "1.23"}, "code_version": "0.1.0"},
    "corrections": [],
}


class RecognitionOut(RecognitionBody):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_RECOGNITION_EXAMPLE]})

    id: str
    created_at: dt.datetime
    created_by: str = Field(description="id of the API key that uploaded the photo")
    filename: str = Field(description="the name the client gave the file (a label; never used as a path)")
    options: ReadOptionsOut
    batch_id: str | None = None
    corrections: list[CorrectionOut] = Field(default_factory=list)


# ------------------------------------------------------------------------ traces


class Candidate(BaseModel):
    value: str = Field(min_length=1, max_length=100)
    score: float = Field(1.0, ge=0, le=1)


class TraceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"serial": "4471B09", "make": "Zastava", "limit": 10},
        {"candidates": [{"value": "4471B09", "score": 0.7}, {"value": "447189", "score": 0.2}]},
        {"recognition_id": "0b6f7c1e-4b7e-4bb8-9a3e-2f2f2b8f6c11", "include_request": True,
         "agency": "Police Directorate", "case_reference": "KU-2026-117"},
    ]})

    serial: str | None = Field(None, max_length=100,
                               description="typed serial; ? for an unknown character, [8B] for alternatives")
    candidates: list[Candidate] | None = Field(None, max_length=50)
    recognition_id: str | None = Field(None, description="search with a stored reading (and its corrections)")
    make: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    calibre: str | None = Field(None, max_length=100)
    type: str | None = Field(None, max_length=100)
    max_cost: float | None = Field(None, gt=0, le=10)
    limit: int = Field(20, ge=1, le=200)
    include_request: bool = Field(False, description="also return a trace request document")
    obliterated: bool = False
    agency: str = Field("", max_length=200)
    case_reference: str = Field("", max_length=200)


class RecordOut(BaseModel):
    id: int | None
    serial: str
    make: str | None
    model: str | None
    calibre: str | None
    type: str | None
    country: str | None
    importer: str | None
    status: str
    source: str
    reference: str | None
    date: str | None
    notes: str | None


class HitOut(BaseModel):
    record: RecordOut
    score: float
    serial_score: float
    view: str
    explanation: list[str]


class TraceOut(BaseModel):
    query: list[str] = Field(description="the readings searched for, best character per position")
    hits: list[HitOut]
    max_cost: float
    strategy: str
    candidates: int
    ms: float
    trace_request: dict[str, Any] | None = None


# ------------------------------------------------------------------------ batches


class BatchItemOut(BaseModel):
    position: int
    name: str
    sha256: str
    size_bytes: int
    status: Literal["pending", "done", "failed"]
    recognition_id: str | None = None
    error: dict[str, str] | None = None


class BatchOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5d1e...", "status": "running", "created_at": "2026-11-28T13:00:00Z", "created_by": "3f9a1c0b7d2e",
        "total": 3, "done": 1, "failed": 0, "pending": 2, "finished_at": None,
        "items": [{"position": 0, "name": "photos.zip/a.jpg", "sha256": "...", "size_bytes": 10233,
                   "status": "done", "recognition_id": "0b6f...", "error": None}],
    }]})

    id: str
    status: Literal["running", "finished"]
    created_at: dt.datetime
    created_by: str
    total: int
    done: int
    failed: int
    pending: int
    finished_at: dt.datetime | None
    items: list[BatchItemOut]


# ------------------------------------------------------------------------ health


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    models_loaded: bool
    database: bool
    detail: str = ""
