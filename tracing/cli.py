"""Command-line hooks: ``caliber registry ...`` and ``caliber trace ...``.

``api/cli.py`` calls :func:`register` with its subparsers and then ``args.func(args)``, which
returns the exit code: 0 done (``trace``: at least one hit), 1 nothing found or some rows
rejected, 2 bad input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from tracing.confusions import ConfusionModel
from tracing.records import FIELDS, STATUSES
from tracing.settings import load_settings


def _open_registry() -> Any:
    from tracing.registry import Registry

    return Registry.open(load_settings())


def _err(msg: str) -> None:
    print(f"caliber: {msg}", file=sys.stderr)


# ------------------------------------------------------------------------------------ registry


def _import(args: argparse.Namespace) -> int:
    from tracing.exchange import ImportFormatError, import_file, parse_mapping

    try:
        mapping = parse_mapping(args.map or [])
        if args.map_file:
            mapping.update(json.loads(Path(args.map_file).read_text("utf-8")))
        reg = _open_registry()
        report = import_file(reg, Path(args.file), args.format, mapping=mapping, source=args.source,
                             default_status=args.default_status)
    except (ImportFormatError, ValueError, OSError) as exc:
        _err(str(exc))
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"{args.file}: {report.rows} rows, {report.inserted} inserted, {report.updated} updated, "
              f"{report.unchanged} unchanged, {len(report.errors)} rejected")
        if report.ignored_columns:
            print(f"  ignored columns: {', '.join(report.ignored_columns)}")
        for e in report.errors:
            print(f"  {e}")
    return 1 if report.errors else 0


def _export(args: argparse.Namespace) -> int:
    from tracing.exchange import ImportFormatError, detect_format, export_file, export_stream

    try:
        reg = _open_registry()
        if args.file == "-":
            n = export_stream(reg, sys.stdout, args.format or "csv")
        else:
            n = export_file(reg, Path(args.file), detect_format(Path(args.file), args.format))
    except (ImportFormatError, OSError) as exc:
        _err(str(exc))
        return 2
    if args.file != "-":
        print(f"{args.file}: {n} records")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from tracing.bulk import rebuild_index

    reg = _open_registry()
    n = rebuild_index(reg)
    print(f"{reg.count()} records, {n} index keys")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    reg = _open_registry()
    print(f"registry ready: {reg.engine.url.render_as_string(hide_password=True)}, {reg.count()} records")
    return 0


# ------------------------------------------------------------------------------------ trace


def _print_hits(result: Any, out: TextIO) -> None:
    if not result.hits:
        out.write(f"no record within {result.max_cost:.2f}\n")
        return
    for i, h in enumerate(result.hits, start=1):
        r = h.record
        desc = "  ".join(str(x) for x in (r.make, r.model, r.calibre, r.type, r.country) if x)
        ref = " ".join(str(x) for x in (r.source, r.reference) if x)
        out.write(f"{i:>3}. {h.score:5.2f}  {r.serial:<16} {r.status.upper():<11} {desc}  [{ref}]\n")
        for line in h.explanation:
            out.write(f"       {line}\n")
    out.write(f"({len(result.hits)} shown; {result.strategy}, {result.candidates} candidates, "
              f"{result.ms:.1f} ms, threshold {result.max_cost:.2f})\n")


def _parse_corrections(items: list[str]) -> list[Any]:
    from tracing.request import Correction

    out = []
    for item in items:
        fld, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"bad correction {item!r}: use FIELD=VALUE")
        out.append(Correction(fld.strip(), value.strip()))
    return out


def _load_recognition(path: str, index: int) -> Any:
    from tracing.reading import recognition_from_dict

    text = Path(path).read_text("utf-8").strip()
    try:
        doc = json.loads(text)
        docs = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:  # one JSON object per line, as `caliber read --json` writes
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    return recognition_from_dict(docs[index])


def _trace(args: argparse.Namespace) -> int:
    from tracing.query import SerialQuery, parse_serial
    from tracing.reading import serial_queries
    from tracing.request import build_trace_request

    try:
        reg = _open_registry()
        model: ConfusionModel = reg.model
        recognition = _load_recognition(args.recognition, args.index) if args.recognition else None
        corrections = _parse_corrections(args.correct or [])
        serial_fix = next((c.value for c in corrections if c.field == "serial"), None)
        queries: list[SerialQuery]
        if args.serial:
            queries = [parse_serial(args.serial, model)]
        elif serial_fix:
            queries = [parse_serial(serial_fix, model)]
        elif recognition is not None:
            queries = serial_queries(recognition, model)
            if not queries:
                _err("the recognition has no serial; give one with SERIAL or --correct serial=...")
                return 2
        else:
            _err("give a SERIAL or --recognition FILE")
            return 2
        fixes = {c.field: c.value for c in corrections}
        make = args.make or fixes.get("make")
        mdl = args.model or fixes.get("model")
        cal = args.calibre or fixes.get("calibre")
        if recognition is not None:
            from tracing.reading import best_mark
            from vision.types import MarkKind

            for kind, cur in ((MarkKind.MAKER, "make"), (MarkKind.MODEL, "model"), (MarkKind.CALIBRE, "calibre")):
                m = best_mark(recognition, kind)
                if m is not None:
                    if cur == "make" and not make:
                        make = m.value
                    elif cur == "model" and not mdl:
                        mdl = m.value
                    elif cur == "calibre" and not cal:
                        cal = m.value
        result = reg.search(queries, make=make, model=mdl, calibre=cal, max_cost=args.max_cost,
                            limit=args.limit, use_index=not args.scan)
    except (ValueError, OSError, IndexError) as exc:
        _err(str(exc))
        return 2
    if args.json:
        print(json.dumps([h.as_dict() for h in result.hits], ensure_ascii=False, indent=2))
    else:
        _print_hits(result, sys.stdout)
    if args.request:
        fields = {"serial": args.serial, "make": args.make, "model": args.model, "calibre": args.calibre,
                  "type": args.type}
        doc = build_trace_request(
            recognition, fields=fields, corrections=corrections, hits=result.hits,
            obliterated=args.obliterated or "?" in (args.serial or ""), agency=args.agency,
            case_reference=args.case,
        )
        if recognition is None and args.photo:
            data = Path(args.photo).read_bytes()
            doc.data["photo"] = {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data),
                                 "format": Path(args.photo).suffix.lstrip(".").upper(), "width": 0, "height": 0}
        out = Path(args.request)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(doc.to_html() if out.suffix.lower() in (".html", ".htm") else doc.to_json(), "utf-8")
        print(f"trace request written to {out}", file=sys.stderr)
    return 0 if result.hits else 1


def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--make", help="make as read or known; disagreement costs 0.5")
    p.add_argument("--model", help="model; disagreement costs 0.3")
    p.add_argument("--calibre", "--caliber", dest="calibre", help="calibre; disagreement costs 0.3")
    p.add_argument("--max-cost", type=float, default=None,
                   help="score threshold (default: 0.25 per known character, 1.0 to 2.0)")
    p.add_argument("--limit", type=int, default=20, help="hits shown (default 20)")
    p.add_argument("--json", action="store_true", help="a JSON list of hits, best first")
    p.add_argument("--scan", action="store_true", help="scan every record instead of using the index")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    reg = subparsers.add_parser("registry", help="the firearm registry: import, export, search")
    rsub = reg.add_subparsers(dest="registry_command", required=True)

    imp = rsub.add_parser("import", help="import records from CSV or JSON (importing again updates)")
    imp.add_argument("file")
    imp.add_argument("--format", choices=("csv", "json"), help="default: from the file name")
    imp.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                     help=f"read COLUMN as FIELD ({', '.join(FIELDS)}); repeatable")
    imp.add_argument("--map-file", help="JSON object {column: field}")
    imp.add_argument("--source", default="", help="source registry of rows without a source column")
    imp.add_argument("--default-status", default="unknown", choices=STATUSES)
    imp.add_argument("--json", action="store_true", help="the report as JSON")
    imp.set_defaults(func=_import)

    exp = rsub.add_parser("export", help="export every record as CSV or JSON ('-' for standard output)")
    exp.add_argument("file")
    exp.add_argument("--format", choices=("csv", "json"))
    exp.set_defaults(func=_export)

    srch = rsub.add_parser("search", help="search a serial (same as `caliber trace`)")
    srch.add_argument("serial", help="serial; ? for an unknown character, [8B] for alternatives")
    _search_args(srch)
    srch.set_defaults(func=_trace, recognition=None, index=0, correct=None, request=None, photo=None,
                      obliterated=False, agency="", case="", type=None)

    mig = rsub.add_parser("migrate", help="create or upgrade the registry database")
    mig.set_defaults(func=_migrate)

    rix = rsub.add_parser("reindex", help="rebuild the search index (after editing the confusion classes)")
    rix.set_defaults(func=_reindex)

    tr = subparsers.add_parser(
        "trace", help="look a serial up in the registry and optionally write a trace request",
        description="Exit code 0 when a record is found, 1 when none is, 2 on bad input.",
    )
    tr.add_argument("serial", nargs="?", help="serial; ? for an unknown character, [8B] for alternatives")
    _search_args(tr)
    tr.add_argument("--recognition", help="JSON written by `caliber read --json` (serial, make, ... from it)")
    tr.add_argument("--index", type=int, default=0, help="which recognition in that file (default 0)")
    tr.add_argument("--correct", action="append", metavar="FIELD=VALUE", help="analyst's correction; repeatable")
    tr.add_argument("--type", help="firearm type (pistol, rifle, revolver, ...)")
    tr.add_argument("--obliterated", action="store_true", help="the serial was obliterated (restored or partial)")
    tr.add_argument("--request", metavar="FILE", help="write a trace request (.json or .html)")
    tr.add_argument("--photo", help="photo file whose SHA-256 goes into the request (without --recognition)")
    tr.add_argument("--agency", default="", help="requesting agency")
    tr.add_argument("--case", default="", help="case reference")
    tr.set_defaults(func=_trace)
