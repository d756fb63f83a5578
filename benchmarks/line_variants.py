"""Line-level ablation of the enhancement variants and their fusion.

Step 1 (``--extract``) runs the pipeline's detector on every image of a set with truth quads (the
synthetic set), matches each truth line to the detected region that overlaps it most, and stores
that region's upright crop (as the pipeline cuts it, after the 0/180 classifier) with its truth in
``DIR/line-crops/``. Step 2 reads those crops as the pipeline would, then with each enhancement
variant alone, then with variant sets fused per character, and prints, per kind of marking, how
many lines are read exactly and the character error rate: the cost and the gain of every
operator, measured on the lines the detector does find.

    python -m benchmarks.line_variants benchmarks/data/synth-v1 --extract
    python -m benchmarks.line_variants benchmarks/data/synth-v1
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.datasets import load_dataset
from benchmarks.scoring import norm_exact
from vision.ctc import DecodedText
from vision.fusion import edit_distance


@dataclass(frozen=True, slots=True)
class LineCrop:
    path: Path
    truth: str
    group: str
    surface: str
    notes: str


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    union = cv2.contourArea(a.astype(np.float32)) + cv2.contourArea(b.astype(np.float32)) - inter
    return float(inter / union) if union > 0 else 0.0


def extract(dataset_dir: Path, out: Path, min_iou: float = 0.3) -> int:
    from vision.geometry import crop_quad
    from vision.intake import IntakeError
    from vision.pipeline import build_pipeline

    pipeline = build_pipeline(interpret=False)
    ds = load_dataset(dataset_dir)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for n, entry in enumerate(ds.images):
        rows = [r for r in entry.rows if r.quad and r.truth and not r.headstamp and not r.symbol and not r.negative]
        if not rows:
            continue
        try:
            image, _step = pipeline.take_in(entry.read_bytes())
        except IntakeError:
            continue
        regions = pipeline.detector.detect(image.bgr)
        polys = [np.array(r.quad.points) for r in regions]
        for k, row in enumerate(rows):
            truth_poly = np.array(row.quad)
            scored = [(_iou(truth_poly, p), i) for i, p in enumerate(polys)]
            if not scored:
                continue
            best, i = max(scored)
            if best < min_iou:
                continue
            crop = crop_quad(image.bgr, regions[i].quad)
            if pipeline.direction is not None and pipeline.direction.upside_down([crop])[0][0]:
                crop = np.ascontiguousarray(crop[::-1, ::-1])
            name = f"{Path(entry.file).stem}_{k}.png"
            cv2.imwrite(str(out / name), crop)
            index.append({"file": name, "truth": row.truth, "group": row.group, "surface": row.surface,
                          "notes": row.notes})
        if n % 50 == 0:
            print(f"{n}/{len(ds.images)} images, {len(index)} crops", file=sys.stderr)
    with (out / "index.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "truth", "group", "surface", "notes"])
        w.writeheader()
        w.writerows(index)
    return len(index)


def load_crops(folder: Path) -> list[LineCrop]:
    with (folder / "index.csv").open(newline="", encoding="utf-8") as fh:
        return [LineCrop(folder / r["file"], r["truth"], r["group"], r["surface"], r["notes"])
                for r in csv.DictReader(fh)]


def _cer(truth: str, text: str) -> float:
    t = norm_exact(truth)
    return min(1.0, edit_distance(t, norm_exact(text)) / max(len(t), 1))


def evaluate(crops: Sequence[LineCrop], configs: Sequence[str], limit: int | None = None) -> str:
    from vision.enhance import VARIANTS
    from vision.fusion import fuse
    from vision.pipeline import build_pipeline

    pipeline = build_pipeline(interpret=False)
    rec = pipeline.recognizer
    crops = list(crops[:limit] if limit else crops)
    images: list[np.ndarray] = []
    for c in crops:
        img = cv2.imread(str(c.path), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read line crop {c.path}")
        images.append(img)
    needed = sorted({v for cfg in configs for v in cfg.split("@")[0].split("+") if v and v != "original"} |
                    {v for cfg in configs if cfg.startswith("only:") for v in [cfg[5:]]})
    reads: dict[str, list[DecodedText]] = {}
    cost: dict[str, float] = {}
    t0 = time.perf_counter()
    reads["original"] = rec.recognize(images)
    cost["original"] = time.perf_counter() - t0
    for name in needed:
        if name.startswith("only:") or name not in VARIANTS:
            continue
        t0 = time.perf_counter()
        variant_imgs = [VARIANTS[name].apply(im) for im in images]
        reads[name] = rec.recognize(variant_imgs)
        cost[name] = time.perf_counter() - t0

    groups = sorted({c.group for c in crops})
    header = "| reading | " + " | ".join(groups) + " | all lines | CER | s/line |"
    lines = [header, "|" + "---|" * (len(groups) + 4)]
    for cfg in configs:
        spec, _, below_text = cfg.partition("@")
        below = float(below_text) if below_text else 2.0
        names = [spec[5:]] if spec.startswith("only:") else ["original", *[v for v in spec.split("+") if v]]
        names = list(dict.fromkeys(n for n in names if n))
        exact: dict[str, int] = defaultdict(int)
        total: dict[str, int] = defaultdict(int)
        cer_sum = 0.0
        secs = cost["original"]
        for i, c in enumerate(crops):
            rs = [reads[n][i] for n in names]
            if len(rs) > 1 and reads["original"][i].confidence < below:
                text = fuse(rs).text
                secs += sum(cost[n] for n in names[1:]) / len(crops)
            else:
                text = rs[0].text
            ok = norm_exact(text) == norm_exact(c.truth)
            exact[c.group] += ok
            total[c.group] += 1
            cer_sum += _cer(c.truth, text)
        secs = (secs if len(names) > 1 else cost[names[0]]) / max(len(crops), 1)
        cells = [f"{exact[g]}/{total[g]}" for g in groups]
        n_all = sum(total.values())
        lines.append(f"| {cfg} | " + " | ".join(cells) +
                     f" | {sum(exact.values())}/{n_all} {100 * sum(exact.values()) / max(n_all, 1):.1f} %"
                     f" | {cer_sum / max(n_all, 1):.3f} | {1000 * secs:.0f} ms |")
    return "\n".join(lines)


DEFAULT_CONFIGS = (
    "original",
    "only:flatten", "only:clahe", "only:flatten+clahe", "only:deglare", "only:relief", "only:join_dots",
    "only:invert", "only:sharpen",
    "flatten+clahe+relief",
    "flatten+clahe+relief+join_dots+sharpen",
)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--extract", action="store_true", help="detect and store the line crops first")
    ap.add_argument("--config", action="append", default=[],
                    help="'original', 'only:VARIANT', or variants joined by '+' fused with the original; "
                         "'@0.9' after it fuses only lines first read with confidence below 0.9")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    folder = args.dataset / "line-crops"
    if args.extract:
        n = extract(args.dataset, folder)
        print(f"stored {n} line crops in {folder}", file=sys.stderr)
    crops = load_crops(folder)
    print(evaluate(crops, args.config or DEFAULT_CONFIGS, args.limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
