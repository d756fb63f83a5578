"""The one place where internal result types become plain JSON-ready data."""

from __future__ import annotations

from typing import Any

from vision.types import CharChoice, MarkCandidate, Provenance, Recognition, TextLine


def char_choices(choice: CharChoice) -> list[dict[str, Any]]:
    return [{"char": ch, "p": round(p, 4)} for ch, p in choice.alternatives]


def line_to_dict(line: TextLine) -> dict[str, Any]:
    return {
        "text": line.text,
        "confidence": round(line.confidence, 4),
        "quad": line.quad.as_lists(),
        "chars": [char_choices(c) for c in line.chars],
        "spans": [[round(c.span[0], 4), round(c.span[1], 4)] for c in line.chars],
        "variant": line.variant,
        "angle": line.angle,
        "alternates": [{"text": t, "weight": round(w, 4)} for t, w in line.alternates],
    }


def mark_to_dict(mark: MarkCandidate) -> dict[str, Any]:
    return {
        "kind": str(mark.kind),
        "value": mark.value,
        "score": round(mark.score, 4),
        "alternatives": [{"value": v, "score": round(s, 4)} for v, s in mark.alternatives],
        "lines": list(mark.line_indices),
        "detail": mark.detail,
    }


def provenance_to_dict(p: Provenance) -> dict[str, Any]:
    return {
        "sha256": p.sha256,
        "size_bytes": p.size_bytes,
        "format": p.format,
        "width": p.width,
        "height": p.height,
        "exif_orientation": p.exif_orientation,
        "steps": [{"name": s.name, "ms": s.ms, "params": dict(s.params)} for s in p.steps],
        "models": [
            {"task": m.task, "name": m.name, "version": m.version, "sha256": m.sha256, "source": m.source}
            for m in p.models
        ],
        "libraries": dict(p.libraries),
        "code_version": p.code_version,
    }


def recognition_to_dict(rec: Recognition) -> dict[str, Any]:
    return {
        "sha256": rec.provenance.sha256,
        "lines": [line_to_dict(line) for line in rec.lines],
        "marks": [mark_to_dict(m) for m in rec.marks],
        "warnings": [{"code": w.code, "message": w.message, "values": dict(w.values)} for w in rec.warnings],
        "provenance": provenance_to_dict(rec.provenance),
    }
