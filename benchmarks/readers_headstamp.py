"""Headstamp reading (``vision.headstamp``) on its own: a reader and a per-group table.

    python -m benchmarks.readers_headstamp DATASET_DIR [--limit N] [--group G ...] [--json]

For every image: does the headstamp reader fire (a cartridge head found and something read on
it), how long it takes, and for headstamp rows whether the token set read equals the truth (rows
marked PARTIAL: truth tokens among those read), scored by ``benchmarks.scoring`` as the accuracy
harness does. On the other groups every firing is a false trigger; the time there (decoding
excluded) is the cost the reader adds to a photo that is not a headstamp.

``headstamp_reader()`` is a ``bytes -> Prediction`` reader whose lines are the headstamp tokens
only (none when the reader does not fire), for ``benchmarks.accuracy``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from benchmarks.datasets import ImageEntry, load_dataset
from benchmarks.scoring import Prediction, score_row, tokens

Reader = Callable[[bytes], Prediction]


def _decode(data: bytes) -> np.ndarray | None:
    img: np.ndarray | None = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return img


def headstamp_reader() -> Reader:
    from models.registry import ModelStore, OrtConfig
    from vision.headstamp import read_headstamp
    from vision.recognition import TextRecognizer

    recognizer = TextRecognizer(ModelStore(config=OrtConfig()).by_task("rec"))
    _ = recognizer.decoder

    def read(data: bytes) -> Prediction:
        img = _decode(data)
        if img is None:
            return Prediction(error="not_an_image")
        t0 = time.perf_counter()  # the reader's own time: decoding is the pipeline's, done once
        got = read_headstamp(img, recognizer)
        lines = () if got is None else tuple(line.text for line in got.lines)
        return Prediction(lines=lines, seconds=time.perf_counter() - t0)

    return read


@dataclass(slots=True)
class GroupStats:
    group: str
    images: int = 0
    fired: int = 0
    rows: int = 0
    rows_exact: int = 0
    rows_alnum: int = 0
    truth_tokens: int = 0
    tokens_found: int = 0
    tokens_read: int = 0
    ms: list[float] = field(default_factory=list)

    def line(self) -> str:
        ms = sorted(self.ms)
        med = statistics.median(ms) if ms else 0.0
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))] if ms else 0.0
        rows = (f"{self.rows_exact}/{self.rows} exact, {self.rows_alnum}/{self.rows} alnum; "
                f"tokens {self.tokens_found}/{self.truth_tokens} (read {self.tokens_read})") if self.rows else "-"
        return (f"| {self.group} | {self.images} | {self.fired} | {rows} | {med:.0f} / {p90:.0f} / "
                f"{max(ms, default=0.0):.0f} |")


def measure(entries: Sequence[ImageEntry], reader: Reader) -> dict[str, GroupStats]:
    stats: dict[str, GroupStats] = {}
    for entry in entries:
        pred = reader(entry.read_bytes())
        st = stats.setdefault(entry.group, GroupStats(entry.group))
        st.images += 1
        st.fired += bool(pred.lines)
        st.ms.append(pred.seconds * 1000)
        read = set(tokens(pred.lines, alnum=True))
        st.tokens_read += len(read)
        for row in entry.rows:
            if not row.headstamp or row.symbol or row.negative:
                continue
            score = score_row(row, pred)
            st.rows += 1
            st.rows_exact += score.exact
            st.rows_alnum += score.alnum
            want = set(tokens([row.truth], alnum=True))
            st.truth_tokens += len(want)
            st.tokens_found += len(want & read)
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--limit", type=int, default=0, help="at most N images per group")
    ap.add_argument("--group", action="append", default=[], help="only these groups")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    ds = load_dataset(args.dataset)
    per: dict[str, int] = {}
    entries = []
    for e in ds.images:
        if args.group and e.group not in args.group:
            continue
        per[e.group] = per.get(e.group, 0) + 1
        if args.limit and per[e.group] > args.limit:
            continue
        entries.append(e)
    stats = measure(entries, headstamp_reader())
    if args.json:
        json.dump({g: asdict(s) for g, s in stats.items()}, sys.stdout, indent=1)
        return 0
    print(f"dataset {args.dataset}: {len(entries)} images")
    print("| group | images | fired | headstamp rows (token sets) | ms median / p90 / max |")
    print("|---|---|---|---|---|")
    for g in sorted(stats):
        print(stats[g].line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
