"""Trace request documents (JSON and a printable HTML page) built from a recognition.

The fields follow a trace record (ATF F 3312.1 part V, ISACS 05.31 trace form): serial,
obliterated, make, model, calibre, type, country of manufacture, importer, additional markings;
plus the photo's SHA-256, the reading with its confidence and alternatives, the analyst's
corrections, the registry check and the provenance of the reading.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracing.reading import best_mark
from tracing.registry import Hit
from vision.types import MarkKind, Recognition

SCHEMA = "caliber.trace-request/1"

FIELD_KINDS = {
    "serial": MarkKind.SERIAL,
    "make": MarkKind.MAKER,
    "model": MarkKind.MODEL,
    "calibre": MarkKind.CALIBRE,
    "country": MarkKind.COUNTRY,
    "importer": MarkKind.IMPORTER,
}
FIREARM_FIELDS = ("serial", "make", "model", "calibre", "type", "country", "importer")
LABELS = {
    "serial": "Serial number",
    "make": "Make / manufacturer",
    "model": "Model",
    "calibre": "Calibre",
    "type": "Type",
    "country": "Country of manufacture",
    "importer": "Importer (import mark)",
}


@dataclass(frozen=True, slots=True)
class Correction:
    """An analyst's change to a read value, kept beside what was read."""

    field: str
    value: str
    note: str = ""
    by: str = ""


@dataclass(frozen=True, slots=True)
class TraceRequest:
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=indent)

    def to_html(self) -> str:
        return render_html(self.data)


def _read_values(recognition: Recognition | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    if recognition is None:
        return out
    for fld, kind in FIELD_KINDS.items():
        mark = best_mark(recognition, kind)
        if mark is None:
            continue
        entry: dict[str, Any] = {
            "value": mark.value,
            "confidence": round(mark.score, 4),
            "alternatives": [{"value": v, "score": round(s, 4)} for v, s in mark.alternatives],
        }
        if fld == "serial":
            chars = []
            for idx in mark.line_indices[:1]:
                if 0 <= idx < len(recognition.lines):
                    line = recognition.lines[idx]
                    entry["line"] = line.text
                    chars = [
                        [{"char": c, "p": round(p, 4)} for c, p in ch.alternatives[:5]] for ch in line.chars
                    ]
            entry["characters"] = chars
        out[fld] = entry
    return out


def build_trace_request(
    recognition: Recognition | None = None,
    *,
    fields: dict[str, str | None] | None = None,
    corrections: Sequence[Correction] = (),
    hits: Sequence[Hit] = (),
    obliterated: bool = False,
    agency: str = "",
    case_reference: str = "",
    request_id: str | None = None,
    created: dt.datetime | None = None,
    max_hits: int = 10,
) -> TraceRequest:
    """The document for one firearm. ``fields`` gives values typed by the analyst (no reading);
    ``corrections`` override read values and are listed with what was read."""
    read = _read_values(recognition)
    firearm: dict[str, Any] = {}
    for fld in FIREARM_FIELDS:
        firearm[fld] = read[fld]["value"] if fld in read else None
    for fld, v in (fields or {}).items():
        if fld not in FIREARM_FIELDS:
            raise ValueError(f"unknown field {fld!r}")
        if v:
            firearm[fld] = v
    corr_out = []
    for c in corrections:
        if c.field not in FIREARM_FIELDS:
            raise ValueError(f"unknown field {c.field!r} in a correction")
        corr_out.append(
            {"field": c.field, "read": firearm.get(c.field), "corrected": c.value, "note": c.note, "by": c.by}
        )
        firearm[c.field] = c.value
    firearm["obliterated"] = obliterated
    additional = []
    if recognition is not None:
        used = {id(best_mark(recognition, k)) for k in FIELD_KINDS.values()}
        for m in recognition.marks:
            if id(m) not in used:
                additional.append({"kind": str(m.kind), "value": m.value, "confidence": round(m.score, 4)})
    firearm["additional_markings"] = additional

    photo = None
    provenance = None
    warnings: list[dict[str, str]] = []
    if recognition is not None:
        p = recognition.provenance
        photo = {"sha256": p.sha256, "size_bytes": p.size_bytes, "format": p.format, "width": p.width,
                 "height": p.height}
        provenance = {
            "code_version": p.code_version,
            "models": [
                {"task": m.task, "name": m.name, "version": m.version, "sha256": m.sha256} for m in p.models
            ],
            "steps": [{"name": s.name, "ms": round(s.ms, 1), "params": dict(s.params)} for s in p.steps],
            "libraries": dict(p.libraries),
        }
        warnings = [{"code": w.code, "message": w.message} for w in recognition.warnings]

    recipients = []
    country = firearm.get("country") or next(
        (h.record.country for h in hits[:1] if h.record.country), None
    )
    recipients.append({"to": "registry of the country of manufacture", "country": country})
    if firearm.get("importer"):
        recipients.append({"to": "country of last legal import", "importer": firearm["importer"]})

    created = created or dt.datetime.now(dt.UTC)
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "request_id": request_id or str(uuid.uuid4()),
        "created": created.isoformat(timespec="seconds"),
        "agency": agency,
        "case_reference": case_reference,
        "firearm": firearm,
        "reading": read,
        "corrections": corr_out,
        "photo": photo,
        "registry_check": {
            "hits": [h.as_dict() for h in hits[:max_hits]],
            "result": "match" if hits else "no record within the threshold",
        },
        "send_to": recipients,
        "warnings": warnings,
        "provenance": provenance,
    }
    return TraceRequest(data)


# --------------------------------------------------------------------------------------------

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:11pt;margin:2em;color:#000}
h1{font-size:16pt;border-bottom:2px solid #000;padding-bottom:.2em}
h2{font-size:12pt;margin-top:1.4em;border-bottom:1px solid #888}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{border:1px solid #888;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee;width:28%}
.mono{font-family:"DejaVu Sans Mono",monospace;word-break:break-all}
.serial{font-size:14pt;font-weight:bold;letter-spacing:.08em}
.sign{margin-top:3em;display:flex;gap:4em}
.sign div{border-top:1px solid #000;padding-top:.2em;min-width:14em}
@media print{body{margin:1cm}h2{page-break-after:avoid}table{page-break-inside:avoid}}
"""


def _e(v: Any) -> str:
    if v is None or v == "":
        return "&mdash;"
    return html.escape(str(v))


def _rows(pairs: Sequence[tuple[str, Any]], mono: Sequence[str] = ()) -> str:
    out = []
    for k, v in pairs:
        cls = ' class="mono"' if k in mono else ""
        out.append(f"<tr><th>{html.escape(k)}</th><td{cls}>{_e(v)}</td></tr>")
    return "<table>" + "".join(out) + "</table>"


def render_html(d: dict[str, Any]) -> str:
    f = d["firearm"]
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>Trace request {_e(d['request_id'])}</title><style>{_CSS}</style></head><body>",
        "<h1>Firearm trace request</h1>",
        _rows([("Request", d["request_id"]), ("Created", d["created"]), ("Agency", d["agency"]),
               ("Case reference", d["case_reference"])], mono=("Request",)),
        "<h2>Firearm</h2>",
        f"<p class=\"serial mono\">{_e(f.get('serial'))}</p>",
        _rows([(LABELS[k], f.get(k)) for k in FIREARM_FIELDS]
              + [("Serial obliterated", "yes" if f.get("obliterated") else "no")]),
    ]
    if f.get("additional_markings"):
        parts.append("<h2>Additional markings</h2><table><tr><th>Kind</th><th>Value</th><th>Confidence</th></tr>")
        for m in f["additional_markings"]:
            parts.append(f"<tr><td>{_e(m['kind'])}</td><td class=\"mono\">{_e(m['value'])}</td>"
                         f"<td>{m['confidence']:.2f}</td></tr>")
        parts.append("</table>")
    if d["reading"]:
        parts.append("<h2>Reading from the photo</h2><table><tr><th>Field</th><th>Read</th>"
                     "<th>Confidence</th><th>Alternatives</th></tr>")
        for k, r in d["reading"].items():
            alts = ", ".join(f"{a['value']} ({a['score']:.2f})" for a in r.get("alternatives", [])[:5])
            parts.append(f"<tr><td>{_e(LABELS.get(k, k))}</td><td class=\"mono\">{_e(r['value'])}</td>"
                         f"<td>{r['confidence']:.2f}</td><td class=\"mono\">{_e(alts)}</td></tr>")
        parts.append("</table>")
        chars = d["reading"].get("serial", {}).get("characters") or []
        if chars:
            parts.append("<table><tr><th>Position</th><th>Character choices (probability)</th></tr>")
            for i, alts in enumerate(chars, start=1):
                txt = "  ".join(f"{a['char']} {a['p']:.2f}" for a in alts)
                parts.append(f"<tr><td>{i}</td><td class=\"mono\">{_e(txt)}</td></tr>")
            parts.append("</table>")
    if d["corrections"]:
        parts.append("<h2>Analyst's corrections</h2><table><tr><th>Field</th><th>Read</th><th>Corrected</th>"
                     "<th>Note</th><th>By</th></tr>")
        for c in d["corrections"]:
            parts.append(f"<tr><td>{_e(LABELS.get(c['field'], c['field']))}</td><td class=\"mono\">{_e(c['read'])}"
                         f"</td><td class=\"mono\">{_e(c['corrected'])}</td><td>{_e(c['note'])}</td>"
                         f"<td>{_e(c['by'])}</td></tr>")
        parts.append("</table>")
    if d["photo"]:
        p = d["photo"]
        parts.append("<h2>Photo</h2>")
        parts.append(_rows([("SHA-256", p["sha256"]), ("Size", f"{p['size_bytes']} bytes"),
                            ("Format", p["format"]), ("Pixels", f"{p['width']} x {p['height']}")],
                           mono=("SHA-256",)))
    rc = d["registry_check"]
    parts.append(f"<h2>Registry check</h2><p>{_e(rc['result'])}</p>")
    if rc["hits"]:
        parts.append("<table><tr><th>Score</th><th>Record</th><th>Why</th></tr>")
        for h in rc["hits"]:
            r = h["record"]
            desc = " · ".join(str(x) for x in (r["serial"], r["make"], r["model"], r["calibre"], r["status"],
                                               r["source"], r["reference"]) if x)
            why = "<br>".join(html.escape(x) for x in h["explanation"])
            parts.append(f"<tr><td>{h['score']:.2f}</td><td class=\"mono\">{_e(desc)}</td><td>{why}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Send to</h2><ul>")
    for s in d["send_to"]:
        extra = s.get("country") or s.get("importer")
        parts.append(f"<li>{_e(s['to'])}{': ' + _e(extra) if extra else ''}</li>")
    parts.append("</ul>")
    if d["warnings"]:
        parts.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w['message'])}</li>" for w in d["warnings"])
                     + "</ul>")
    if d["provenance"]:
        pv = d["provenance"]
        parts.append("<h2>Provenance</h2>")
        rows = [("Code version", pv["code_version"])]
        rows += [(f"Model ({m['task']})", f"{m['name']} {m['version']} sha256:{m['sha256']}")
                 for m in pv["models"]]
        rows += [("Steps", ", ".join(s["name"] for s in pv["steps"]))]
        parts.append(_rows(rows))
    parts.append('<div class="sign"><div>Analyst</div><div>Date</div><div>Signature</div></div>')
    parts.append("</body></html>\n")
    return "\n".join(parts)
