"""Accuracy of readers on a dataset, per kind of marking and overall, readers side by side.

    python -m benchmarks.accuracy DATASET_DIR [--reader NAME ...] [--limit N] [--json]

DATASET_DIR is any folder with a ``manifest.csv`` (the generated set, or shared real-dev).
Readers come from ``benchmarks.readers`` (``build_reader(name)`` returning a callable that takes
image bytes and returns a :class:`benchmarks.scoring.Prediction` or a ``Recognition``). Two
readers are built in to check the harness itself: ``oracle`` (answers the manifest's truth) and
``blank`` (reads nothing).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.datasets import Dataset, load_dataset
from benchmarks.scoring import (
    DEFAULT_SERIAL_THRESHOLD,
    OVERALL,
    ImageScore,
    Prediction,
    RowScore,
    Summary,
    coerce_prediction,
    score_image,
    summarise,
)

Reader = Callable[[bytes], Any]
BUILTIN_READERS = ("oracle", "blank")


@dataclass(frozen=True, slots=True)
class ReaderResult:
    name: str
    rows: tuple[RowScore, ...]
    images: tuple[ImageScore, ...]
    summaries: dict[str, Summary]
    wall_seconds: float


def oracle_reader(dataset: Dataset) -> Reader:
    """Answers the truth of the image whose bytes it is given: a perfect reader."""
    truth: dict[bytes, Prediction] = {}
    for im in dataset.images:
        texts = tuple(r.truth for r in im.rows if r.truth and not r.symbol and not r.negative)
        serials = tuple((r.truth, 1.0) for r in im.rows if r.kind == "serial")
        truth[im.read_bytes()] = Prediction(texts, serials)
    return lambda data: truth.get(data, Prediction())


def blank_reader(_data: bytes) -> Prediction:
    return Prediction()


def project_readers() -> tuple[Callable[[str], Reader] | None, tuple[str, ...]]:
    """``(build_reader, READER_NAMES)`` from ``benchmarks.readers``, or ``(None, ())``."""
    try:
        mod = importlib.import_module("benchmarks.readers")
    except ImportError:
        return None, ()
    return getattr(mod, "build_reader", None), tuple(getattr(mod, "READER_NAMES", ()))


def resolve_readers(names: Sequence[str], dataset: Dataset) -> dict[str, Reader]:
    build, known = project_readers()
    if not names:
        names = known or ("blank",)
    out: dict[str, Reader] = {}
    for name in names:
        if name == "oracle":
            out[name] = oracle_reader(dataset)
        elif name == "blank":
            out[name] = blank_reader
        elif build is None:
            raise SystemExit(f"reader {name!r}: benchmarks.readers is not available "
                             f"(built in: {', '.join(BUILTIN_READERS)})")
        else:
            out[name] = build(name)
    return out


def run_reader(name: str, reader: Reader, dataset: Dataset,
               threshold: float = DEFAULT_SERIAL_THRESHOLD) -> ReaderResult:
    """Run ``reader`` on every image; an exception is recorded as that image's error."""
    rows: list[RowScore] = []
    images: list[ImageScore] = []
    t_all = time.perf_counter()
    for entry in dataset.images:
        data = entry.read_bytes()
        t0 = time.perf_counter()
        try:
            raw = reader(data)
            seconds = time.perf_counter() - t0
            pred = coerce_prediction(raw, seconds)
        except Exception as exc:  # a broken read is a result to count, not a crash of the run
            seconds = time.perf_counter() - t0
            pred = Prediction(seconds=seconds, error=f"{type(exc).__name__}: {exc}")
            if len(images) < 3 or not any(i.error for i in images):
                traceback.print_exc(file=sys.stderr)
        r, im = score_image(entry, pred, threshold)
        rows.extend(r)
        images.append(im)
    wall = time.perf_counter() - t_all
    return ReaderResult(name, tuple(rows), tuple(images), summarise(rows, images), wall)


# --- output -------------------------------------------------------------------------------------
def _frac(k: int, n: int) -> str:
    return f"{k}/{n} {100.0 * k / n:5.1f}%" if n else "-"


METRICS: tuple[tuple[str, Callable[[Summary], str]], ...] = (
    ("lines found, exact", lambda s: _frac(s.exact, s.lines)),
    ("lines found, alnum only", lambda s: _frac(s.alnum, s.lines)),
    ("serial top-1", lambda s: _frac(s.top1, s.serials)),
    ("serial top-5", lambda s: _frac(s.top5, s.serials)),
    ("char error rate", lambda s: f"{s.cer:.3f}" if s.cer is not None else "-"),
    ("false serials on negatives", lambda s: _frac(s.false_serials, s.negatives)),
    ("errors", lambda s: str(s.errors)),
    ("images / s", lambda s: f"{s.images_per_second:.2f}" if s.images_per_second else "-"),
)


def format_tables(dataset: Dataset, results: Sequence[ReaderResult], threshold: float) -> str:
    groups: list[str] = []
    for res in results:
        for g in res.summaries:
            if g != OVERALL and g not in groups:
                groups.append(g)
    groups.append(OVERALL)
    names = [r.name for r in results]
    out = [f"dataset {dataset.root} ({len(dataset.images)} images, {len(dataset.rows)} rows); "
           f"false serial = candidate score >= {threshold:g}"]
    for g in groups:
        first = next((r.summaries[g] for r in results if g in r.summaries), Summary(g))
        head = f"{g}: {first.images} images, {first.lines} lines, {first.serials} serials"
        if first.negatives:
            head += f", {first.negatives} negatives"
        if first.symbols:
            head += f", {first.symbols} symbols not scored"
        cells = [[label] + [fn(r.summaries.get(g, Summary(g))) for r in results] for label, fn in METRICS]
        widths = [max(len(row[i]) for row in [["metric", *names], *cells]) for i in range(len(names) + 1)]
        line = "  ".join(("metric" if i == 0 else names[i - 1]).ljust(widths[i]) for i in range(len(widths)))
        out.append("")
        out.append(head)
        out.append(line)
        out.append("  ".join("-" * w for w in widths))
        for row in cells:
            out.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    return "\n".join(out)


def as_json(dataset: Dataset, results: Sequence[ReaderResult], threshold: float) -> dict[str, Any]:
    return {
        "dataset": str(dataset.root),
        "images": len(dataset.images),
        "rows": len(dataset.rows),
        "serial_threshold": threshold,
        "readers": {
            r.name: {
                "wall_seconds": r.wall_seconds,
                "groups": {g: s.as_dict() for g, s in r.summaries.items()},
                "misses": [
                    {"file": x.file, "truth": x.truth, "kind": x.kind, "cer": round(x.cer, 3)}
                    for x in r.rows if not x.alnum
                ],
                "errors": [{"file": i.file, "error": i.error} for i in r.images if i.error],
            }
            for r in results
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", help="folder with a manifest.csv")
    ap.add_argument("--reader", action="append", default=[],
                    help="reader name (repeatable); default: all of benchmarks.readers.READER_NAMES")
    ap.add_argument("--limit", type=int, default=None, help="only the first N images")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument("--serial-threshold", type=float, default=DEFAULT_SERIAL_THRESHOLD,
                    help="score from which a serial candidate on a negative counts as false")
    args = ap.parse_args(argv)
    dataset = load_dataset(args.dataset).limit(args.limit)
    readers = resolve_readers(args.reader, dataset)
    results = []
    for name, reader in readers.items():
        print(f"running {name} on {len(dataset.images)} images ...", file=sys.stderr)
        results.append(run_reader(name, reader, dataset, args.serial_threshold))
    if args.json:
        print(json.dumps(as_json(dataset, results, args.serial_threshold), indent=2, ensure_ascii=False))
    else:
        print(format_tables(dataset, results, args.serial_threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main())
