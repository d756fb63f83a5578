"""Does the quality advice fire where photos are really worse, and stay quiet elsewhere?

Reads every photo of the synthetic set (whose manifest records the blur, glare and scale the
generator applied) and prints, per generator condition, how often each warning was given and how
many truth lines were read exactly: advice is useful when it fires on the conditions that cost
lines and rarely on clean photos.

    python -m benchmarks.quality_check benchmarks/data/synth-v1 [--limit N]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from benchmarks.datasets import load_dataset
from benchmarks.scoring import norm_exact

ADVICE = ("small_text", "out_of_focus", "motion_blur", "glare", "too_dark", "overexposed")


def _condition(notes: str) -> dict[str, str]:
    out = {}
    for key in ("blur", "glare", "size"):
        m = re.search(rf"(?:^|;\s*){key}=([^;]+)", notes)
        out[key] = m.group(1).strip() if m else "?"
    blur = out["blur"]
    if blur.startswith("defocus"):
        sigma = float(blur[len("defocus"):])
        out["blur"] = "defocus < 1.5" if sigma < 1.5 else "defocus >= 1.5"
    elif blur.startswith("motion"):
        out["blur"] = "motion < 6" if int(blur[len("motion"):]) < 6 else "motion >= 6"
    out["glare"] = "no glare" if out["glare"] == "0" else "glare"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from vision.intake import IntakeError
    from vision.pipeline import ReadOptions, build_pipeline

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args(argv)
    ds = load_dataset(args.dataset).limit(args.limit)
    pipeline = build_pipeline(interpret=False)
    opts = ReadOptions(variants=())
    # condition value -> counters
    photos: dict[tuple[str, str], int] = defaultdict(int)
    fired: dict[tuple[str, str, str], int] = defaultdict(int)
    lines: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for n, entry in enumerate(ds.images):
        rows = [r for r in entry.rows if r.truth and not r.symbol and not r.negative and not r.headstamp]
        if not rows:
            continue
        try:
            rec = pipeline.read_bytes(entry.read_bytes(), opts)
        except IntakeError:
            continue
        codes = {w.code for w in rec.warnings}
        read = {norm_exact(line.text) for line in rec.lines}
        exact = sum(norm_exact(r.truth) in read for r in rows)
        cond = _condition(rows[0].notes)
        for key in ("blur", "glare", "size"):
            c = (key, cond[key])
            photos[c] += 1
            lines[c][0] += exact
            lines[c][1] += len(rows)
            for code in codes:
                fired[(key, cond[key], code)] += 1
        if n % 100 == 0:
            print(f"{n}/{len(ds.images)}", file=sys.stderr)
    print("| condition (photos) | lines exact | " + " | ".join(ADVICE) + " |")
    print("|---|---|" + "---|" * len(ADVICE))
    for (key, value), count in sorted(photos.items()):
        ok, total = lines[(key, value)]
        cells = [f"{100 * fired[(key, value, code)] / count:.0f} %" for code in ADVICE]
        print(f"| {key}: {value} ({count}) | {100 * ok / max(total, 1):.0f} % | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
