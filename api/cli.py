"""The ``caliber`` command line."""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from api.serialize import recognition_to_dict
from models.registry import ModelError, OrtConfig
from vision.detection import DetectorConfig
from vision.intake import IntakeError
from vision.pipeline import Pipeline, ReadOptions, build_pipeline
from vision.types import Recognition

ALTERNATIVE_SHOWN = 0.05  # an alternative at least this likely is worth a person's look


def _uncertain_positions(rec_line: Any, limit: int = 6) -> str:
    notes = []
    for i, choice in enumerate(rec_line.chars):
        alts = [(c, p) for c, p in choice.alternatives[1:] if p >= ALTERNATIVE_SHOWN and c.strip()]
        if alts:
            lead = f"{choice.best} {choice.p:.2f}"
            others = " / ".join(f"{c} {p:.2f}" for c, p in alts[:2])
            notes.append(f"#{i + 1} {lead} / {others}")
    if len(notes) > limit:
        notes = [*notes[:limit], f"+{len(notes) - limit} more"]
    return "; ".join(notes)


def print_table(path: str, rec: Recognition, out: TextIO) -> None:
    p = rec.provenance
    total_ms = sum(s.ms for s in p.steps)
    out.write(f"{path}\n  sha256 {p.sha256}  {p.format} {p.width}x{p.height}  {total_ms:.0f} ms\n")
    if rec.lines:
        width = max(len(line.text) for line in rec.lines)
        width = max(min(width, 40), 4)
        out.write(f"  {'#':>2}  {'text':<{width}}  conf  uncertain characters (alternatives)\n")
        for i, line in enumerate(rec.lines, start=1):
            out.write(f"  {i:>2}  {line.text:<{width}}  {line.confidence:.2f}  {_uncertain_positions(line)}\n")
    for mark in rec.marks:
        alts = ", ".join(f"{v} {s:.2f}" for v, s in mark.alternatives[:4])
        out.write(f"  {mark.kind}: {mark.value} ({mark.score:.2f}){'  alternatives: ' + alts if alts else ''}\n")
    for w in rec.warnings:
        out.write(f"  warning [{w.code}]: {w.message}\n")
    out.write("\n")


def _read_command(args: argparse.Namespace) -> int:
    ort_config = OrtConfig(intra_op_threads=args.threads)
    det = DetectorConfig(max_side=args.det_max_side)
    pipeline: Pipeline = build_pipeline(ort_config=ort_config, detector_config=det)
    options = ReadOptions(top_k=args.top_k, temperature=args.temperature)
    try:
        pipeline.warm_up()
    except ModelError as exc:
        print(f"caliber: {exc}", file=sys.stderr)
        return 3
    failed = 0
    out = sys.stdout
    for path in args.images:
        record: dict[str, Any] = {"image": path}
        rec: Recognition | None = None
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            record.update(sha256=None, error={"code": "unreadable_file", "message": f"cannot open the file: {exc}"})
        else:
            try:
                rec = pipeline.read_bytes(data, options)
            except IntakeError as exc:
                record.update(sha256=hashlib.sha256(data).hexdigest(),
                              error={"code": str(exc.code), "message": str(exc)})
        if rec is not None:
            record.update(recognition_to_dict(rec))
            record["error"] = None
        else:
            failed += 1
        if args.json:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif rec is not None:
            print_table(path, rec, out)
        else:
            err = record["error"]
            out.write(f"{path}\n  error [{err['code']}]: {err['message']}\n\n")
        out.flush()
    if failed:
        print(f"caliber: {failed} of {len(args.images)} files could not be read", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caliber", description="Read markings from photos of firearms.")
    sub = parser.add_subparsers(dest="command", required=True)

    read = sub.add_parser("read", help="read the markings in one or more photos")
    read.add_argument("images", nargs="+", help="image files (JPEG, PNG, WebP, TIFF, HEIC)")
    read.add_argument("--json", action="store_true", help="one JSON object per image per line")
    read.add_argument("--top-k", type=int, default=5, help="alternatives kept per character (default 5)")
    read.add_argument("--temperature", type=float, default=2.0,
                      help="softens the recogniser's confidence so alternatives carry information (default 2)")
    read.add_argument("--det-max-side", type=int, default=DetectorConfig().max_side,
                      help="long side of the reduced copy used to find text (default %(default)s)")
    read.add_argument("--threads", type=int, default=0, help="inference threads (0 = all cores)")
    read.set_defaults(func=_read_command)

    from api.batch import register as register_batch

    register_batch(sub)

    from api.batch_celery import register as register_worker  # celery itself is imported only when used

    register_worker(sub)

    from api.service_cli import register as register_service

    register_service(sub)

    try:
        tracing_cli = importlib.import_module("tracing.cli")
    except ModuleNotFoundError:
        tracing_cli = None
    if tracing_cli is not None and hasattr(tracing_cli, "register"):
        tracing_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
