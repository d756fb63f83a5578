"""Read a dataset once, interpret it many times.

    python -m benchmarks.lines_cache build DATASET_DIR [--out FILE] [--threads N] [--options k=v,...]
    python -m benchmarks.lines_cache score DATASET_DIR [--cache FILE] [--misses] [--json]
    python -m benchmarks.lines_cache extend DATASET_DIR --cache FILE --out FILE [--config k=v,...]

``build`` runs the pipeline with interpretation off over every image of a dataset and writes each
image's reading (lines with their per-character alternatives and spans, quads, variants, angles)
as one JSON line, by default in ``benchmarks/out/lines-<dataset folder>.jsonl``; an interrupted
build resumes where it stopped. A cache holds what the pipeline read when it was built: build it
again after a change to reading (models, detection, recognition, read options). ``score`` runs only the
interpreter (``vision.interpret.build_interpreter()``) on the cached lines and scores the result
with :mod:`benchmarks.scoring`, per kind of marking: serial top-1 / top-5 and false serials on
negatives. Reading takes minutes, interpreting seconds, so changes to the interpreter can be
measured without reading the photos again. The interpreter gets no image here (the proof-mark
matcher, which compares pixels, is left out; it gives no serials).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.datasets import Dataset, ImageEntry, load_dataset
from benchmarks.scoring import (
    DEFAULT_SERIAL_THRESHOLD,
    OVERALL,
    ImageScore,
    Prediction,
    RowScore,
    Summary,
    norm_alnum,
    prediction_from_recognition,
    score_image,
    serial_candidates,
    summarise,
)
from vision.types import CharChoice, MarkCandidate, Provenance, Quad, Recognition, Step, TextLine

FORMAT = 1
OUT_DIR = Path(__file__).resolve().parent / "out"


# --- lines <-> JSON -----------------------------------------------------------------------------
def line_to_dict(line: TextLine) -> dict[str, Any]:
    """A line with everything the interpreter reads; probabilities kept at full precision."""
    return {
        "text": line.text,
        "confidence": line.confidence,
        "quad": [[x, y] for x, y in line.quad.points],
        "chars": [[[ch, p] for ch, p in c.alternatives] for c in line.chars],
        "spans": [list(c.span) for c in line.chars],
        "variant": line.variant,
        "angle": line.angle,
        "alternates": [[t, w] for t, w in line.alternates],
    }


def line_from_dict(d: dict[str, Any]) -> TextLine:
    spans = d.get("spans") or []
    chars = []
    for i, alts in enumerate(d.get("chars") or []):
        span = spans[i] if i < len(spans) else (0.0, 0.0)
        chars.append(CharChoice(tuple((str(ch), float(p)) for ch, p in alts), (float(span[0]), float(span[1]))))
    return TextLine(
        text=str(d.get("text", "")),
        confidence=float(d.get("confidence", 0.0)),
        quad=Quad.from_points(d.get("quad") or [[0, 0], [0, 0], [0, 0], [0, 0]]),
        chars=tuple(chars),
        variant=str(d.get("variant", "original")),
        angle=int(d.get("angle", 0)),
        alternates=tuple((str(t), float(w)) for t, w in d.get("alternates") or ()),
    )


@dataclass(frozen=True, slots=True)
class CachedRead:
    file: str
    lines: tuple[TextLine, ...]
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "file": self.file, "seconds": round(self.seconds, 4),
                           "error": self.error, "lines": [line_to_dict(ln) for ln in self.lines]},
                          ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CachedRead:
        if int(d.get("format", FORMAT)) != FORMAT:
            raise ValueError(f"cache format {d.get('format')} is not {FORMAT}: build the cache again")
        return cls(str(d["file"]), tuple(line_from_dict(x) for x in d.get("lines") or []),
                   float(d.get("seconds", 0.0)), d.get("error"))


def load_cache(path: Path) -> dict[str, CachedRead]:
    """Cached reads by manifest file name; a truncated last line (an interrupted build) is skipped."""
    out: dict[str, CachedRead] = {}
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            try:
                d = json.loads(raw)
            except json.JSONDecodeError:
                continue
            read = CachedRead.from_dict(d)
            out[read.file] = read
    return out


def default_cache_path(dataset_dir: Path) -> Path:
    return OUT_DIR / f"lines-{Path(dataset_dir).resolve().name}.jsonl"


# --- build --------------------------------------------------------------------------------------
LineReader = Callable[[bytes], tuple[tuple[TextLine, ...], str | None]]


def pipeline_line_reader(threads: int = 1, options: str = "") -> LineReader:
    """The project's pipeline without interpretation, with ``threads`` onnxruntime threads."""
    from benchmarks.readers import parse_options
    from models.registry import OrtConfig
    from vision.intake import IntakeError
    from vision.pipeline import build_pipeline

    pipeline = build_pipeline(ort_config=OrtConfig(intra_op_threads=threads), interpret=False)
    pipeline.warm_up()
    opts = parse_options(options)

    def read(data: bytes) -> tuple[tuple[TextLine, ...], str | None]:
        try:
            rec = pipeline.read_bytes(data, opts)
        except IntakeError as exc:
            return (), str(exc.code)
        return rec.lines, None

    return read


def build_cache(dataset: Dataset, out: Path, reader: LineReader, log: Callable[[str], None] | None = None) -> int:
    """Read every image not yet in ``out`` and append it; returns how many were read now."""
    done = load_cache(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    todo = [im for im in dataset.images if im.file not in done]
    if done and todo:  # drop a truncated last line before appending
        out.write_text("".join(r.to_json() + "\n" for r in done.values()), encoding="utf-8")
    with out.open("a", encoding="utf-8") as fh:
        for n, entry in enumerate(todo, 1):
            t0 = time.perf_counter()
            try:
                lines, error = reader(entry.read_bytes())
            except Exception as exc:  # a broken read is recorded, not fatal to the run
                lines, error = (), f"{type(exc).__name__}: {exc}"
            fh.write(CachedRead(entry.file, lines, time.perf_counter() - t0, error).to_json() + "\n")
            fh.flush()
            if log and (n % 25 == 0 or n == len(todo)):
                log(f"{n}/{len(todo)} read")
    return len(todo)


# --- score --------------------------------------------------------------------------------------
Interpret = Callable[[Sequence[TextLine]], tuple[MarkCandidate, ...]]

_PROVENANCE = Provenance(sha256="", size_bytes=0, format="", width=0, height=0, exif_orientation=1)


def recognition_of(read: CachedRead, interpret: Interpret | None) -> Recognition:
    """The Recognition the pipeline would have returned (interpreted when ``interpret`` is given)."""
    if interpret is None:
        return Recognition(lines=read.lines, provenance=_PROVENANCE)
    marks = interpret(read.lines)
    prov = replace(_PROVENANCE, steps=(Step("interpret", 0.0, (("marks", str(len(marks))),)),))
    return Recognition(lines=read.lines, provenance=prov, marks=marks)


@dataclass(frozen=True, slots=True)
class CacheResult:
    rows: tuple[RowScore, ...]
    images: tuple[ImageScore, ...]
    summaries: dict[str, Summary]
    predictions: dict[str, Prediction]
    missing: tuple[str, ...]


def score_cache(dataset: Dataset, cache: dict[str, CachedRead], interpret: Interpret | None,
                threshold: float = DEFAULT_SERIAL_THRESHOLD) -> CacheResult:
    rows: list[RowScore] = []
    images: list[ImageScore] = []
    preds: dict[str, Prediction] = {}
    missing: list[str] = []
    for entry in dataset.images:
        read = cache.get(entry.file)
        if read is None:
            missing.append(entry.file)
            continue
        if read.error is not None:
            pred = Prediction(seconds=read.seconds, error=read.error)
        else:
            pred = prediction_from_recognition(recognition_of(read, interpret), read.seconds)
        preds[entry.file] = pred
        r, im = score_image(entry, pred, threshold)
        rows.extend(r)
        images.append(im)
    return CacheResult(tuple(rows), tuple(images), summarise(rows, images), preds, tuple(missing))


def _frac(k: int, n: int) -> str:
    return f"{k}/{n} {100.0 * k / n:5.1f}%" if n else "-"


def format_table(summaries: dict[str, Summary]) -> str:
    groups = [g for g in summaries if g != OVERALL] + [OVERALL]
    head = (f"{'group':<22} {'images':>6} {'lines exact':>17} {'CER':>6} {'serial top-1':>16} {'serial top-5':>16} "
            f"{'false serials':>15}")
    out = [head, "-" * len(head)]
    for g in groups:
        s = summaries[g]
        cer = f"{s.cer:.3f}" if s.cer is not None else "-"
        out.append(f"{g:<22} {s.images:>6} {_frac(s.exact, s.lines):>17} {cer:>6} {_frac(s.top1, s.serials):>16} "
                   f"{_frac(s.top5, s.serials):>16} {_frac(s.false_serials, s.negatives):>15}")
    return "\n".join(out)


def misses(dataset: Dataset, result: CacheResult, cache: dict[str, CachedRead]) -> Iterator[dict[str, Any]]:
    """Serial rows whose truth is not first: truth, ranked candidates and the lines read."""
    by_file = {im.file: im for im in dataset.images}
    for r in result.rows:
        if r.top1 is None or r.top1:
            continue
        entry: ImageEntry = by_file[r.file]
        pred = result.predictions[entry.file]
        yield {"file": r.file, "group": r.group, "truth": norm_alnum(r.truth), "top5": bool(r.top5),
               "candidates": serial_candidates(pred)[:8],
               "lines": [ln.text for ln in cache[entry.file].lines]}


def extend_cache(dataset: Dataset, cache: dict[str, CachedRead], out: Path, config: str = "",
                 threads: int = 1) -> tuple[int, int, float]:
    """Grow each cached line as the pipeline's ``extend`` step does (cut from the photo again,
    read by the pipeline's recogniser) and write the result as a new cache: the extension's
    settings can then be compared in seconds per setting instead of a full read of the set. Lines
    the pipeline would have joined away come out empty and are left out. Returns (lines grown,
    lines, seconds spent extending)."""
    from benchmarks.readers import parse_settings
    from models.registry import OrtConfig
    from vision.ctc import DecodedText
    from vision.extend import ExtendConfig, extend_lines
    from vision.geometry import crop_quad
    from vision.pipeline import ReadOptions, build_pipeline

    cfg = parse_settings(config, ExtendConfig())
    pipeline = build_pipeline(ort_config=OrtConfig(intra_op_threads=threads), interpret=False)
    opts = ReadOptions()
    grown = total = 0
    took = 0.0
    by_file = {e.file: e for e in dataset.images}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for name, read in sorted(cache.items()):
            lines = list(read.lines)
            idx = [i for i, ln in enumerate(lines) if ln.variant == "original" and ln.text]
            entry = by_file.get(name)
            if idx and entry is not None:
                image, _ = pipeline.take_in(entry.read_bytes())
                bgr = image.bgr

                def cut(q: Quad, bgr: np.ndarray = bgr) -> np.ndarray:
                    return crop_quad(bgr, q)

                t0 = time.perf_counter()
                quads, decoded, n = extend_lines(
                    [lines[i].quad for i in idx],
                    [DecodedText(lines[i].text, lines[i].confidence, lines[i].chars, lines[i].alternates) for i in idx],
                    crop=cut,
                    read=lambda crops: pipeline.recognizer.recognize(
                        crops, top_k=opts.top_k, temperature=opts.temperature),
                    config=cfg,
                )
                took += time.perf_counter() - t0
                grown += n
                total += len(idx)
                for i, quad, dec in zip(idx, quads, decoded, strict=True):
                    lines[i] = replace(lines[i], text=dec.text, quad=quad, chars=dec.chars,
                                       confidence=round(dec.confidence, 4), alternates=dec.alternates)
            kept = tuple(ln for ln in lines if ln.text)
            fh.write(CachedRead(read.file, kept, read.seconds, read.error).to_json() + "\n")
    return grown, total, took


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.lines_cache", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="read a dataset once and cache its lines")
    b.add_argument("dataset", type=Path)
    b.add_argument("--out", type=Path)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--options", default="", help="ReadOptions as key=value,... (see benchmarks.readers)")
    b.add_argument("--limit", type=int)
    e = sub.add_parser("extend", help="grow the cached lines as the extend step would (vision.extend); "
                                      "build the cache with extend_lines=0 first")
    e.add_argument("dataset", type=Path)
    e.add_argument("--cache", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--config", default="", help="ExtendConfig as key=value,... (reach=2.0,min_p=0.7)")
    e.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("score", help="interpret cached lines and score them")
    s.add_argument("dataset", type=Path)
    s.add_argument("--cache", type=Path)
    s.add_argument("--lines-only", action="store_true", help="no interpretation: line texts as serials")
    s.add_argument("--threshold", type=float, default=DEFAULT_SERIAL_THRESHOLD)
    s.add_argument("--misses", action="store_true", help="print serials that are not first (JSON lines)")
    s.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    dataset = load_dataset(args.dataset)
    if args.cmd == "build":
        if args.limit:
            dataset = Dataset(dataset.root, dataset.images[: args.limit])
        out = args.out or default_cache_path(args.dataset)
        n = build_cache(dataset, out, pipeline_line_reader(args.threads, args.options),
                        log=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"{n} images read into {out}")
        return 0

    if args.cmd == "extend":
        grown, lines, took = extend_cache(dataset, load_cache(args.cache), args.out, args.config, args.threads)
        print(f"{grown} of {lines} cached lines grew; extension took {took:.1f} s; written to {args.out}")
        return 0

    path = args.cache or default_cache_path(args.dataset)
    cache = load_cache(path)
    interpret: Interpret | None = None
    if not args.lines_only:
        from vision.interpret import build_interpreter

        interpreter = build_interpreter()

        def interpret(lines: Sequence[TextLine]) -> tuple[MarkCandidate, ...]:
            return tuple(interpreter.interpret(lines))

    t0 = time.perf_counter()
    result = score_cache(dataset, cache, interpret, args.threshold)
    took = time.perf_counter() - t0
    if args.json:
        print(json.dumps({g: s.as_dict() for g, s in result.summaries.items()}, indent=2))
    else:
        print(format_table(result.summaries))
        print(f"interpreted {len(result.images)} cached images in {took:.1f} s"
              + (f"; {len(result.missing)} not in the cache" if result.missing else ""))
    if args.misses:
        for m in misses(dataset, result, cache):
            print(json.dumps(m, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
