from __future__ import annotations

import json

from tracing.confusions import default_model
from tracing.reading import recognition_from_dict, serial_queries
from tracing.registry import Registry
from tracing.request import Correction, build_trace_request
from vision.types import CharChoice, MarkCandidate, MarkKind, Provenance, Quad, Recognition, TextLine

M = default_model()
QUAD = Quad.from_points([[0, 0], [100, 0], [100, 20], [0, 20]])


def recognition() -> Recognition:
    text = "NO 8Z34567"
    chars = []
    for ch in text:
        if ch == "8":
            chars.append(CharChoice((("8", 0.55), ("B", 0.40))))
        elif ch == "Z":
            chars.append(CharChoice((("Z", 0.6), ("2", 0.35))))
        else:
            chars.append(CharChoice(((ch, 0.95),)))
    line = TextLine(text=text, confidence=0.8, quad=QUAD, chars=tuple(chars))
    marks = (
        MarkCandidate(MarkKind.SERIAL, "8Z34567", 0.6, (("BZ34567", 0.3),), (0,)),
        MarkCandidate(MarkKind.MAKER, "Zastava <Kragujevac>", 0.9),
        MarkCandidate(MarkKind.CALIBRE, "7.65 mm", 0.8),
        MarkCandidate(MarkKind.PROOF, "crown over N", 0.4),
    )
    prov = Provenance(sha256="ab" * 32, size_bytes=1234, format="JPEG", width=640, height=480, exif_orientation=1)
    return Recognition(lines=(line,), provenance=prov, marks=marks)


def test_serial_queries_use_per_character_choices() -> None:
    qs = serial_queries(recognition(), M)
    assert len(qs) == 1
    assert [p.best for p in qs[0].positions] == list("8Z34567")
    assert dict(qs[0].positions[0].alternatives)["B"] > 0


def test_trace_request_json_and_html(registry: Registry) -> None:
    from tracing.records import FirearmRecord

    registry.upsert([FirearmRecord("B2345678", make="Zastava", model="M70", calibre="7.65 mm", country="Serbia",
                                   status="stolen", reference="S-1")])
    rec = recognition()
    hits = registry.search(serial_queries(rec, M), make="Zastava").hits
    assert hits and hits[0].record.serial == "B2345678"
    doc = build_trace_request(
        rec, hits=hits, corrections=[Correction("serial", "B2345678", note="restored by etching")],
        fields={"type": "pistol"}, obliterated=True, agency="Lab", request_id="TR-1",
    )
    d = json.loads(doc.to_json())
    assert d["firearm"]["serial"] == "B2345678"
    assert d["corrections"] == [{"field": "serial", "read": "8Z34567", "corrected": "B2345678",
                                 "note": "restored by etching", "by": ""}]
    assert d["photo"]["sha256"] == "ab" * 32
    assert d["reading"]["serial"]["confidence"] == 0.6
    assert d["firearm"]["additional_markings"][0]["kind"] == "proof"
    assert d["firearm"]["obliterated"] is True
    assert d["send_to"][0]["country"] == "Serbia"
    html = doc.to_html()
    assert "Zastava &lt;Kragujevac&gt;" in html and "<Kragujevac>" not in html
    assert "B2345678" in html and "ab" * 32 in html


def test_recognition_from_dict_round_trip() -> None:
    d = {
        "sha256": "cd" * 32,
        "lines": [{"text": "A1", "confidence": 0.5, "quad": [[0, 0], [1, 0], [1, 1], [0, 1]],
                   "chars": [[{"char": "A", "p": 0.9}], [{"char": "1", "p": 0.5}, {"char": "I", "p": 0.4}]]}],
        "marks": [{"kind": "serial", "value": "A1", "score": 0.5, "alternatives": [], "lines": [0]},
                  {"kind": "mystery", "value": "x", "score": 0.1}],
        "provenance": {"sha256": "cd" * 32, "size_bytes": 10, "format": "PNG", "width": 2, "height": 2},
    }
    rec = recognition_from_dict(d)
    assert rec.provenance.sha256 == "cd" * 32
    assert rec.marks[1].kind == MarkKind.OTHER
    assert rec.lines[0].alternates == ()
    assert [p.best for p in serial_queries(rec, M)[0].positions] == ["A", "1"]


def test_recognition_from_dict_keeps_the_other_readings_of_a_line() -> None:
    from api.serialize import line_to_dict

    line = TextLine(text="A1", confidence=0.5, quad=QUAD, chars=(CharChoice((("A", 0.9),)), CharChoice((("1", 0.5),))),
                    alternates=(("A17", 0.4), ("AI", 0.3)))
    d = {"sha256": "cd" * 32, "lines": [line_to_dict(line)], "marks": [],
         "provenance": {"sha256": "cd" * 32, "size_bytes": 10, "format": "PNG", "width": 2, "height": 2}}
    back = recognition_from_dict(json.loads(json.dumps(d)))
    assert back.lines[0].alternates == (("A17", 0.4), ("AI", 0.3))
