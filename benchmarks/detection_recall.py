"""How many truth lines does detection find as one region, and what does line grouping change?

For every photo of a set with truth quads (the synthetic set), runs the pipeline's detector once
and counts, per kind of marking, the truth lines that some region covers with an intersection
over union of at least 0.5: as detected, then after joining neighbouring regions into lines
(``vision.detection.group_lines``) with several largest gaps, or after adding the regions found on
an enhanced copy of the reduced photo (``--enhanced flatten``: the pipeline's ``flat_pass``). Also
counts how many pairs of truth lines were wrongly joined into one region (a region overlapping two
truth lines).

    python -m benchmarks.detection_recall benchmarks/data/synth-v1 [--limit N] [--gap 0.6 --gap 1.0]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from benchmarks.datasets import load_dataset
from vision.enhance import flatten_photo


def _iou_and_cover(truth: np.ndarray, region: np.ndarray) -> tuple[float, float]:
    inter, _ = cv2.intersectConvexConvex(truth.astype(np.float32), region.astype(np.float32))
    at = cv2.contourArea(truth.astype(np.float32))
    ar = cv2.contourArea(region.astype(np.float32))
    union = at + ar - inter
    return (float(inter / union) if union > 0 else 0.0), (float(inter / at) if at > 0 else 0.0)


def _clahe_photo(bgr: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    lab[..., 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(lab[..., 0])
    out: np.ndarray = cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)
    return out


def _invert_photo(bgr: np.ndarray) -> np.ndarray:
    out: np.ndarray = 255 - bgr
    return out


def _blur_photo(sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    """The reduced photo blurred by ``sigma`` pixels: the dots of a dot-peen line run together."""
    def blur(bgr: np.ndarray) -> np.ndarray:
        out: np.ndarray = cv2.GaussianBlur(bgr, (0, 0), sigma)
        return out
    return blur


PHOTO_ENHANCERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "clahe": _clahe_photo, "flatten": flatten_photo, "invert": _invert_photo,
    "blur1.5": _blur_photo(1.5), "blur3": _blur_photo(3.0),
}


def main(argv: Sequence[str] | None = None) -> int:
    from vision.detection import LineGrouping, Region, group_lines, merge_regions
    from vision.intake import IntakeError
    from vision.pipeline import build_pipeline

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--gap", type=float, action="append", default=[])
    ap.add_argument("--enhanced", action="append", default=[], choices=sorted(PHOTO_ENHANCERS),
                    help="also detect on an enhanced copy of the photo and add the regions found")
    args = ap.parse_args(argv)
    gaps = args.gap if args.gap else ([] if args.enhanced else [0.6, 1.0, 1.5])
    ds = load_dataset(args.dataset).limit(args.limit)
    pipeline = build_pipeline(interpret=False)
    settings: list[tuple[str, LineGrouping | None]] = [("as detected", None)]
    settings += [(f"grouped, gap {g:g}", LineGrouping(max_gap=g)) for g in gaps]
    settings += [(f"+ detection on {e}", None) for e in args.enhanced]
    found: dict[tuple[str, str], int] = defaultdict(int)
    merged_wrong: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for n, entry in enumerate(ds.images):
        rows = [r for r in entry.rows if r.quad and r.truth and not r.headstamp and not r.symbol and not r.negative]
        if not rows:
            continue
        try:
            image, _ = pipeline.take_in(entry.read_bytes())
        except IntakeError:
            continue
        detected = pipeline.detector.detect(image.bgr)
        for r in rows:
            total[r.group] += 1
        for name, grouping in settings:
            regions: list[Region] = detected if grouping is None else group_lines(detected, grouping)
            if name.startswith("+ detection on "):
                enhance = PHOTO_ENHANCERS[name.removeprefix("+ detection on ")]
                full = (image.width, image.height)
                enhanced = pipeline.detector.detect_reduced(enhance(pipeline.detector.reduce(image.bgr)), full)
                regions = merge_regions(list(detected), enhanced)
            polys = [np.asarray(reg.quad.points) for reg in regions]
            for r in rows:
                t = np.asarray(r.quad)
                if any(_iou_and_cover(t, p)[0] >= 0.5 for p in polys):
                    found[(name, r.group)] += 1
            for p in polys:
                covered = sum(_iou_and_cover(np.asarray(r.quad), p)[1] >= 0.5 for r in rows)
                merged_wrong[name] += max(0, covered - 1)
        if n % 100 == 0:
            print(f"{n}/{len(ds.images)}", file=sys.stderr)
    groups = sorted(total)
    print("| regions | " + " | ".join(groups) + " | all lines | lines joined wrongly |")
    print("|---|" + "---|" * (len(groups) + 2))
    for name, _ in settings:
        cells = [f"{found[(name, g)]}/{total[g]}" for g in groups]
        all_found = sum(found[(name, g)] for g in groups)
        n_all = sum(total.values())
        print(f"| {name} | " + " | ".join(cells) +
              f" | {all_found}/{n_all} {100 * all_found / max(n_all, 1):.1f} % | {merged_wrong[name]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
