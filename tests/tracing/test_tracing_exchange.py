from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tracing.exchange import (
    ImportFormatError,
    export_stream,
    import_file,
    import_text,
    parse_mapping,
    resolve_columns,
)
from tracing.registry import Registry

CSV = """serial,make,model,calibre,type,country,importer,status,reference
B2345678,Zastava,M70,7.65 mm,pistol,Serbia,,stolen,S-1
,Glock,17,9x19,pistol,Austria,,lost,S-2
A123457,Glock,17,9x19,pistol,Austria,,bogus,S-3
369J257,CZ,CZ 75,9x19,pistol,Czech Republic,Uvoz d.o.o.,seized,S-4
"""


def test_csv_bad_rows_reported_with_line_numbers_and_rest_imported(registry: Registry) -> None:
    rep = import_text(registry, CSV, "csv")
    assert (rep.rows, rep.inserted) == (4, 2)
    assert [(e.line, e.message.split(" ")[0]) for e in rep.errors] == [(3, "serial"), (4, "status")]
    assert registry.count() == 2


def test_import_is_idempotent(registry: Registry) -> None:
    first = import_text(registry, CSV, "csv")
    again = import_text(registry, CSV, "csv")
    assert (first.inserted, again.inserted, again.updated, again.unchanged) == (2, 0, 0, 2)
    changed = import_text(registry, CSV.replace("stolen,S-1", "recovered,S-1"), "csv")
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    assert registry.count() == 2
    assert registry.search("B2345678").hits[0].record.status == "recovered"


@pytest.mark.parametrize(
    ("header", "mapping", "expected"),
    [
        (["serial", "make"], None, {"serial": "serial", "make": "make"}),
        (["Fabrički broj", "Proizvođač", "Kalibar", "Vrsta"], None,
         {"Fabrički broj": "serial", "Proizvođač": "make", "Kalibar": "calibre", "Vrsta": "type"}),
        (["Serial Number", "Caliber"], None, {"Serial Number": "serial", "Caliber": "calibre"}),
        (["Broj oružja", "Marka"], {"Broj oružja": "serial"}, {"Broj oružja": "serial", "Marka": "make"}),
        (["SN", "Weird"], {"Weird": "notes"}, {"SN": "serial", "Weird": "notes"}),
    ],
)
def test_resolve_columns(header: list[str], mapping: dict[str, str] | None, expected: dict[str, str]) -> None:
    cols, _ = resolve_columns(header, mapping)
    assert cols == expected


@pytest.mark.parametrize("item", ["noequals", "col=nosuchfield", "=serial"])
def test_bad_mapping(item: str) -> None:
    with pytest.raises(ValueError):
        parse_mapping([item])


def test_mapping_and_semicolons(registry: Registry) -> None:
    text = "Broj oružja;Marka;Stanje;Datum\nB2345678;Zastava;ukraden;01.02.2020\nX1;CZ;stolen;2020-13-01\n"
    rep = import_text(registry, text, "csv", mapping=parse_mapping(["Broj oružja=serial", "Datum=date"]))
    assert rep.inserted == 1
    assert [e.line for e in rep.errors] == [3]
    rec = registry.search("B2345678").hits[0].record
    assert (rec.make, rec.status, str(rec.date)) == ("Zastava", "stolen", "2020-02-01")


def test_no_serial_column() -> None:
    with pytest.raises(ImportFormatError):
        import_text(None, "make,model\nA,B\n", "csv")  # type: ignore[arg-type]


JSON_DOC = """{
  "records": [
    {"serial": "B2345678", "make": "Zastava", "status": "stolen", "reference": "J-1"},
    {"make": "Glock", "status": "lost"},
    "not an object",
    {"serial": 123456, "make": "CZ", "status": "lost", "reference": "J-4"}
  ]
}
"""


def test_json_import_with_line_numbers(registry: Registry) -> None:
    rep = import_text(registry, JSON_DOC, "json")
    assert rep.inserted == 2
    assert [e.line for e in rep.errors] == [4, 5]


def test_round_trip(registry: Registry, tmp_path: Path) -> None:
    import_text(registry, CSV, "csv", source="national")
    for fmt in ("csv", "json"):
        buf = io.StringIO()
        assert export_stream(registry, buf, fmt) == 2
        path = tmp_path / f"out.{fmt}"
        path.write_text(buf.getvalue(), "utf-8")
        rep = import_file(registry, path)
        assert (rep.inserted, rep.updated, rep.unchanged, rep.errors) == (0, 0, 2, [])
    data = json.loads((tmp_path / "out.json").read_text("utf-8"))
    assert {d["source"] for d in data} == {"national"}
