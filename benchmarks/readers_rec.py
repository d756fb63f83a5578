"""Readers that differ only in the line recogniser, for the "Own recogniser" tables.

- ``rec-bundled``: the pipeline with PP-OCRv6 small as rapidocr ships it;
- ``rec-markings``: the pipeline with the project's fine-tuned markings model (``rec_markings_v1``);
- ``rec-both``: both read every line, fused per character where they disagree.

Everything else (detection, second pass, crops, 0/180 direction, interpretation) is the default
pipeline's; all three run onnxruntime with one thread per session, so their speeds compare.

``python -m benchmarks.readers_rec benchmarks/data/synth-v1/line-crops`` compares the recognisers
alone on the line crops the detector finds (made by ``benchmarks.line_variants --extract``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.scoring import Prediction, prediction_from_recognition

RECOGNIZER_READERS = {"rec-bundled": "bundled", "rec-markings": "markings", "rec-both": "both"}


def recognizer_reader(choice: str, threads: int = 1) -> Callable[[bytes], Prediction]:
    from models.registry import ModelStore, OrtConfig
    from vision.intake import IntakeError
    from vision.pipeline import build_pipeline
    from vision.recognition import build_recognizer

    store = ModelStore(config=OrtConfig(intra_op_threads=threads))
    base = build_pipeline(store=store)
    pipeline = replace(base, recognizer=build_recognizer(store, choice, base.recognizer.config))
    pipeline.warm_up()

    def read(data: bytes) -> Prediction:
        t0 = time.perf_counter()
        try:
            rec = pipeline.read_bytes(data)
        except IntakeError as exc:
            return Prediction(seconds=time.perf_counter() - t0, error=str(exc.code))
        return prediction_from_recognition(rec, time.perf_counter() - t0)

    return read


# --- line level: the recognisers alone, on the lines the detector finds -----------------------------
def _is_cyrillic(text: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in text)


def compare_lines(folder: Path, choices: Sequence[str] = ("bundled", "markings", "both"),
                  limit: int | None = None) -> str:
    """Read every crop of ``folder/index.csv`` (made by ``benchmarks.line_variants --extract``: the
    detector's regions matched to truth lines, cut and turned as the pipeline does) with each
    recogniser; a Markdown table per kind of marking: exact lines (upper-cased, no whitespace,
    scripts kept apart) and character error rate, and a row for the lines holding Cyrillic."""
    import cv2

    from benchmarks.scoring import norm_exact
    from models.registry import ModelStore, OrtConfig
    from vision.fusion import edit_distance
    from vision.recognition import build_recognizer

    with (folder / "index.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:limit] if limit else list(csv.DictReader(fh))
    images = []
    for r in rows:
        img = cv2.imread(str(folder / r["file"]), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(folder / r["file"])
        images.append(img)
    store = ModelStore(config=OrtConfig(intra_op_threads=1))
    texts: dict[str, list[str]] = {}
    ms: dict[str, float] = {}
    for choice in choices:
        rec = build_recognizer(store, choice)
        rec.recognize(images[:1])  # load the models outside the timing
        t0 = time.perf_counter()
        texts[choice] = [d.text for d in rec.recognize(images)]
        ms[choice] = (time.perf_counter() - t0) * 1000 / max(1, len(images))

    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r["group"]].append(i)
        groups["overall"].append(i)
        if _is_cyrillic(r["truth"]):
            groups["Cyrillic lines"].append(i)
    kinds: tuple[str, ...] = ("stamped", "engraved", "laser", "dot-peen", "moulded", "printed")
    order: list[str] = [g for g in kinds if g in groups]
    order += sorted(g for g in groups if g not in order and g not in ("Cyrillic lines", "overall"))
    order += [g for g in ("Cyrillic lines", "overall") if g in groups]
    head = "| kind (lines) | " + " | ".join(f"exact {c}" for c in choices) + " | " + \
        " | ".join(f"CER {c}" for c in choices) + " |"
    out = [head, "|---" * (1 + 2 * len(choices)) + "|"]
    for g in order:
        idx = groups[g]
        cells_exact, cells_cer = [], []
        for c in choices:
            exact = sum(norm_exact(texts[c][i]) == norm_exact(rows[i]["truth"]) for i in idx)
            errs = sum(edit_distance(norm_exact(rows[i]["truth"]), norm_exact(texts[c][i])) for i in idx)
            chars = sum(max(1, len(norm_exact(rows[i]["truth"]))) for i in idx)
            cells_exact.append(f"{exact}/{len(idx)} {exact / len(idx):.1%}")
            cells_cer.append(f"{errs / chars:.3f}")
        name = f"**{g}**" if g == "overall" else g
        out.append(f"| {name} ({len(idx)}) | " + " | ".join(cells_exact) + " | " + " | ".join(cells_cer) + " |")
    out.append("")
    out.append("ms per line (batches of 8, one thread): " + ", ".join(f"{c} {ms[c]:.1f}" for c in choices))
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Recognisers side by side on detected line crops")
    ap.add_argument("crops", type=Path, help="a line-crops folder with index.csv (benchmarks.line_variants --extract)")
    ap.add_argument("--choice", action="append", default=[], help="bundled | markings | both (repeatable)")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    print(compare_lines(args.crops, tuple(args.choice) or ("bundled", "markings", "both"), args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
