"""From a recognition (vision.types) to what the registry is searched with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracing.confusions import ConfusionModel
from tracing.normalise import normalise_char, normalise_serial
from tracing.query import SerialQuery, queries_from_strings, query_from_choices
from vision.types import (
    CharChoice,
    MarkCandidate,
    MarkKind,
    ModelInfo,
    Provenance,
    Quad,
    ReadWarning,
    Recognition,
    Step,
    TextLine,
)


def best_mark(recognition: Recognition, kind: MarkKind) -> MarkCandidate | None:
    marks = [m for m in recognition.marks if m.kind == kind]
    return max(marks, key=lambda m: m.score) if marks else None


def _choices_for(mark: MarkCandidate, lines: Sequence[TextLine], model: ConfusionModel) -> list[CharChoice] | None:
    """The per-character choices behind a mark's value, if its line still holds them."""
    target = normalise_serial(mark.value, model)
    if not target:
        return None
    for idx in mark.line_indices:
        if not 0 <= idx < len(lines):
            continue
        line = lines[idx]
        if len(line.chars) != len(line.text):
            continue
        kept = [(i, normalise_char(c, model)) for i, c in enumerate(line.text)]
        kept = [(i, c) for i, c in kept if c]
        text = "".join(c for _, c in kept)
        at = text.find(target)
        if at < 0:
            continue
        return [line.chars[i] for i, _ in kept[at : at + len(target)]]
    return None


def serial_queries(
    recognition: Recognition, model: ConfusionModel, mark: MarkCandidate | None = None
) -> list[SerialQuery]:
    """Queries for the serial mark: per-position alternatives when the line has them, else the
    mark's whole-string alternatives."""
    mark = mark or best_mark(recognition, MarkKind.SERIAL)
    if mark is None:
        return []
    choices = _choices_for(mark, recognition.lines, model)
    if choices:
        lattice = query_from_choices([c.alternatives for c in choices], model, text=mark.value)
        rest = queries_from_strings([(v, s) for v, s in mark.alternatives], model)
        return [lattice, *[q for q in rest if len(q) != len(lattice)]]
    return queries_from_strings([(mark.value, mark.score), *mark.alternatives], model)


# --------------------------------------------------------------------------------------------
# Reading back the JSON written by ``caliber read --json`` (api.serialize), tolerant of extras.


def recognition_from_dict(d: dict[str, Any]) -> Recognition:
    p = d.get("provenance") or {}
    prov = Provenance(
        sha256=str(p.get("sha256") or d.get("sha256") or ""),
        size_bytes=int(p.get("size_bytes") or 0),
        format=str(p.get("format") or ""),
        width=int(p.get("width") or 0),
        height=int(p.get("height") or 0),
        exif_orientation=int(p.get("exif_orientation") or 1),
        steps=tuple(
            Step(str(s.get("name", "")), float(s.get("ms", 0.0)),
                 tuple((str(k), str(v)) for k, v in (s.get("params") or {}).items()))
            for s in p.get("steps") or []
        ),
        models=tuple(
            ModelInfo(str(m.get("task", "")), str(m.get("name", "")), str(m.get("version", "")),
                      str(m.get("sha256", "")), str(m.get("source", "")))
            for m in p.get("models") or []
        ),
        libraries=tuple((str(k), str(v)) for k, v in (p.get("libraries") or {}).items()),
        code_version=str(p.get("code_version") or ""),
    )
    lines = []
    for ln in d.get("lines") or []:
        quad_pts = ln.get("quad") or [[0, 0], [0, 0], [0, 0], [0, 0]]
        chars = tuple(
            CharChoice(tuple((str(a["char"]), float(a["p"])) for a in alts))
            for alts in ln.get("chars") or []
            if alts
        )
        lines.append(
            TextLine(
                text=str(ln.get("text", "")),
                confidence=float(ln.get("confidence", 0.0)),
                quad=Quad.from_points(quad_pts),
                chars=chars,
                variant=str(ln.get("variant", "original")),
                angle=int(ln.get("angle", 0)),
                alternates=tuple((str(a["text"]), float(a["weight"])) for a in ln.get("alternates") or ()
                                 if isinstance(a, dict) and "text" in a and "weight" in a),
            )
        )
    marks = []
    for m in d.get("marks") or []:
        try:
            kind = MarkKind(str(m.get("kind", "other")))
        except ValueError:
            kind = MarkKind.OTHER
        marks.append(
            MarkCandidate(
                kind=kind,
                value=str(m.get("value", "")),
                score=float(m.get("score", 0.0)),
                alternatives=tuple((str(a["value"]), float(a["score"])) for a in m.get("alternatives") or []),
                line_indices=tuple(int(i) for i in m.get("lines") or []),
                detail=str(m.get("detail", "")),
            )
        )
    warnings = tuple(
        ReadWarning(str(w.get("code", "")), str(w.get("message", "")),
                    tuple((str(k), str(v)) for k, v in (w.get("values") or {}).items()))
        for w in d.get("warnings") or []
    )
    return Recognition(lines=tuple(lines), provenance=prov, marks=tuple(marks), warnings=warnings)
