"""Import and export of registry records as CSV and JSON.

Columns named like the trace-record fields (serial, make, model, calibre, type, country,
importer, status, reference, ...) are understood as they are, and so are the aliases in
``data/columns.json`` (e.g. the Serbian register's names); a mapping covers other exports.
A bad row is reported with its line number and the rest is imported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from tracing.confusions import ConfusionModel
from tracing.normalise import normalise_serial
from tracing.records import FIELDS, STATUSES, FirearmRecord
from tracing.registry import Registry

MAX_LEN = {"serial": 100, "calibre": 100, "type": 100, "country": 100, "status": 40}
DEFAULT_MAX_LEN = 200

STATUS_ALIASES = {
    "ukraden": "stolen",
    "ukradeno": "stolen",
    "izgubljen": "lost",
    "izgubljeno": "lost",
    "oduzet": "seized",
    "oduzeto": "seized",
    "registrovan": "registered",
    "registrovano": "registered",
    "missing": "lost",
    "confiscated": "seized",
}


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (no serial column, not a list of records, ...)."""


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [{"line": e.line, "message": e.message} for e in self.errors],
            "ignored_columns": self.ignored_columns,
        }


def _key(name: str) -> str:
    t = unicodedata.normalize("NFKD", name)
    t = "".join(c for c in t if not unicodedata.combining(c)).replace("đ", "dj").replace("Đ", "DJ")
    return "".join(c for c in t.upper() if c.isalnum())


def _aliases() -> dict[str, str]:
    data = json.loads(resources.files("tracing").joinpath("data/columns.json").read_text("utf-8"))
    out: dict[str, str] = {}
    for fld, names in data.items():
        if fld not in FIELDS:
            continue
        out[_key(fld)] = fld
        for n in names:
            out.setdefault(_key(n), fld)
    return out


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["Serijski broj=serial", "Proizvođač=make"]`` -> {source column: field}."""
    out: dict[str, str] = {}
    for item in items:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or dst.strip() not in FIELDS:
            raise ValueError(f"bad mapping {item!r}: use COLUMN=FIELD, FIELD one of {', '.join(FIELDS)}")
        out[src.strip()] = dst.strip()
    return out


def resolve_columns(
    header: list[str], mapping: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """{source column: field} and the ignored columns. A mapping wins over the built-in names."""
    user = {_key(k): v for k, v in (mapping or {}).items()}
    for v in user.values():
        if v not in FIELDS:
            raise ValueError(f"unknown field {v!r} in the mapping")
    aliases = _aliases()
    cols: dict[str, str] = {}
    taken: set[str] = set()
    ignored: list[str] = []
    for pass_user in (True, False):
        for col in header:
            if col in cols:
                continue
            k = _key(col)
            fld = user.get(k) if pass_user else aliases.get(k)
            if fld and fld not in taken:
                cols[col] = fld
                taken.add(fld)
    ignored = [c for c in header if c not in cols]
    return cols, ignored


def _parse_date(text: str) -> dt.date:
    t = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%Y.", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date {text!r} is not YYYY-MM-DD or DD.MM.YYYY")


def record_from_row(
    row: Mapping[str, Any], model: ConfusionModel, source: str = "", default_status: str = "unknown"
) -> FirearmRecord:
    """One record from {field: value}; raises ValueError with a message for people."""
    vals: dict[str, str | None] = {}
    for fld in FIELDS:
        raw = row.get(fld)
        if raw is None:
            vals[fld] = None
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise ValueError(f"{fld}: expected text, got {type(raw).__name__}")
        text = str(raw).strip()
        if len(text) > MAX_LEN.get(fld, DEFAULT_MAX_LEN) and fld != "notes":
            raise ValueError(f"{fld} longer than {MAX_LEN.get(fld, DEFAULT_MAX_LEN)} characters")
        vals[fld] = text or None
    serial = vals["serial"]
    if not serial:
        raise ValueError("serial is missing")
    if not normalise_serial(serial, model):
        raise ValueError(f"serial {serial!r} has no letters or digits")
    status = (vals["status"] or default_status).lower()
    status = STATUS_ALIASES.get(status, status)
    if status not in STATUSES:
        raise ValueError(f"status {vals['status']!r} is not one of {', '.join(STATUSES)}")
    date = _parse_date(vals["date"]) if vals["date"] else None
    return FirearmRecord(
        serial=serial,
        make=vals["make"],
        model=vals["model"],
        calibre=vals["calibre"],
        type=vals["type"],
        country=vals["country"],
        importer=vals["importer"],
        status=status,
        source=vals["source"] or source,
        reference=vals["reference"],
        date=date,
        notes=vals["notes"],
    )


def _csv_rows(
    stream: TextIO, mapping: Mapping[str, str] | None, report: ImportReport
) -> Iterator[tuple[int, dict[str, Any]]]:
    sample = stream.read(8192)
    stream.seek(0)
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(stream, dialect)
    header = next(reader, None)
    if header is None:
        raise ImportFormatError("the file is empty")
    header = [h.strip().lstrip("\ufeff") for h in header]
    cols, ignored = resolve_columns(header, mapping)
    report.ignored_columns = ignored
    if "serial" not in cols.values():
        raise ImportFormatError(f"no serial column among {header}; map one with --map COLUMN=serial")
    index = [(i, cols[h]) for i, h in enumerate(header) if h in cols]
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            report.errors.append(RowError(line, f"{len(row)} cells, the header has {len(header)}"))
            continue
        yield line, {fld: (row[i] if i < len(row) else None) for i, fld in index}


def _json_elements(text: str) -> Iterator[tuple[int, Any]]:
    """Elements of the top-level array (or of its "records" array) with their line numbers."""
    dec = json.JSONDecoder()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"not JSON: line {exc.lineno}: {exc.msg}") from exc
    if isinstance(doc, dict):
        if not isinstance(doc.get("records"), list):
            raise ImportFormatError('expected a list of records or {"records": [...]}')
        start = text.find("[", text.find('"records"'))
    elif isinstance(doc, list):
        start = text.find("[")
    else:
        raise ImportFormatError('expected a list of records or {"records": [...]}')
    pos = start + 1
    n = len(text)
    line, counted = text.count("\n", 0, pos) + 1, pos
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n or text[pos] == "]":
            return
        line += text.count("\n", counted, pos)
        counted = pos
        value, pos = dec.raw_decode(text, pos)
        yield line, value


def _json_rows(
    text: str, mapping: Mapping[str, str] | None, report: ImportReport
) -> Iterator[tuple[int, dict[str, Any]]]:
    seen_ignored: set[str] = set()
    for line, el in _json_elements(text):
        if not isinstance(el, dict):
            report.errors.append(RowError(line, "expected an object"))
            continue
        cols, ignored = resolve_columns([str(k) for k in el], mapping)
        for c in ignored:
            if c not in seen_ignored and c != "id":
                seen_ignored.add(c)
                report.ignored_columns.append(c)
        if "serial" not in cols.values():
            report.errors.append(RowError(line, "no serial field"))
            continue
        yield line, {fld: el[col] for col, fld in cols.items()}


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        return fmt.lower()
    ext = path.suffix.lower()
    if ext == ".json":
        return "json"
    if ext in (".csv", ".tsv", ".txt"):
        return "csv"
    raise ImportFormatError(f"cannot tell the format of {path.name}; say csv or json")


def import_text(
    registry: Registry,
    text: str,
    fmt: str,
    *,
    mapping: Mapping[str, str] | None = None,
    source: str = "",
    default_status: str = "unknown",
    batch: int = 2000,
) -> ImportReport:
    report = ImportReport()
    rows: Iterator[tuple[int, dict[str, Any]]]
    if fmt == "csv":
        rows = _csv_rows(io.StringIO(text, newline=""), mapping, report)
    elif fmt == "json":
        rows = _json_rows(text, mapping, report)
    else:
        raise ImportFormatError(f"unknown format {fmt!r}")
    pending: list[FirearmRecord] = []

    def flush() -> None:
        counts = registry.upsert(pending)
        report.inserted += counts.inserted
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        pending.clear()

    for line, row in rows:
        report.rows += 1
        try:
            pending.append(record_from_row(row, registry.model, source, default_status))
        except ValueError as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    report.errors.sort(key=lambda e: e.line)
    return report


def import_file(
    registry: Registry,
    path: Path,
    fmt: str | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    source: str = "",
    default_status: str = "unknown",
) -> ImportReport:
    text = path.read_text(encoding="utf-8-sig")
    return import_text(
        registry, text, detect_format(path, fmt), mapping=mapping, source=source, default_status=default_status
    )


def _export_row(rec: FirearmRecord) -> dict[str, str | None]:
    d = rec.as_dict()
    return {f: (None if d[f] is None else str(d[f])) for f in FIELDS}


def export_stream(registry: Registry, out: TextIO, fmt: str) -> int:
    n = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for rec in registry.iter_records():
            row = _export_row(rec)
            writer.writerow(["" if row[f] is None else row[f] for f in FIELDS])
            n += 1
        return n
    if fmt == "json":
        out.write("[")
        for rec in registry.iter_records():
            out.write(",\n  " if n else "\n  ")
            out.write(json.dumps(_export_row(rec), ensure_ascii=False))
            n += 1
        out.write("\n]\n" if n else "]\n")
        return n
    raise ImportFormatError(f"unknown format {fmt!r}")


def export_file(registry: Registry, path: Path, fmt: str | None = None) -> int:
    fmt = detect_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        return export_stream(registry, out, fmt)
