"""Latency and memory of ``caliber read`` beside rapidocr's own high-level call.

    python -m benchmarks.speed [--runs 10]

Each (reader, photo) pair runs in a fresh process, so the peak resident memory printed is that
reader's alone. The photos are synthetic stamped markings from the benchmark generator, scaled to
a 12 MP and a 1 MP phone photo and JPEG-encoded (decoding is part of every reader's time).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from benchmarks.readers import FOUNDATION
from vision.pipeline import ENHANCED_VARIANTS

PHOTOS = {"12 MP (4000x3000)": (4000, 3000), "1 MP (1152x864)": (1152, 864)}


def make_photo(size: tuple[int, int], seed: int = 11) -> bytes:
    from benchmarks.synth import Spec, generate_sample

    sample = generate_sample(seed, Spec(group="stamped", size="phone"))
    bgr = cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR)
    scaled = cv2.resize(bgr, size, interpolation=cv2.INTER_CUBIC if size[0] > bgr.shape[1] else cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return buf.tobytes()


def _caliber_reader(options: str = "", recognizer: str = "") -> Callable[[bytes], int]:
    from benchmarks.readers import parse_options, parse_settings
    from vision.pipeline import build_pipeline
    from vision.recognition import RecognizerConfig

    pipeline = build_pipeline(recognizer_config=parse_settings(recognizer, RecognizerConfig()))
    pipeline.warm_up()
    opts = parse_options(options)
    return lambda data: len(pipeline.read_bytes(data, opts).lines)


def _rapidocr_reader(params: dict[str, Any]) -> Callable[[bytes], int]:
    import logging

    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error", **params})
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)

    def read(data: bytes) -> int:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError("not an image")
        out: Any = engine(img)
        return len(out.txts or ())

    return read


READERS: dict[str, Callable[[], Callable[[bytes], int]]] = {
    "caliber read": _caliber_reader,
    # the pipeline as the foundation built it (no second pass, quality, headstamps or variants)
    "caliber foundation": lambda: _caliber_reader(FOUNDATION),
    # without reading turned and uncertain lines the other way up as well (the default does)
    "caliber no direction check": lambda: _caliber_reader("direction_check=0"),
    # without reading each line further along its ends (the default does)
    "caliber no line extension": lambda: _caliber_reader("extend_lines=0"),
    # without detecting small lines again up close (the default does)
    "caliber no refine": lambda: _caliber_reader("refine_small=0"),
    # without cutting boxes too tall for their text again (tighter, or in two; the default does)
    "caliber no rebox": lambda: _caliber_reader("rebox=0"),
    # without the other readings of each whole line (vision/ctc.py prefix beam search; the default keeps them)
    "caliber no line alternates": lambda: _caliber_reader(recognizer="alternates=0"),
    # with every enhanced variant read for uncertain lines (not the default)
    "caliber + variants": lambda: _caliber_reader("variants=" + "/".join(ENHANCED_VARIANTS)),
    "rapidocr default": lambda: _rapidocr_reader({}),
    "rapidocr max side 1280": lambda: _rapidocr_reader({"Det.limit_type": "max", "Det.limit_side_len": 1280}),
}


def _measure(reader: str, data: bytes, runs: int, queue: Any) -> None:
    read = READERS[reader]()
    read(data)  # warm-up: first-call allocations are not what an officer waits for
    times, lines = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        lines = read(data)
        times.append((time.perf_counter() - t0) * 1000)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((times, lines, peak_mb))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--reader", action="append", choices=sorted(READERS), help="default: all")
    args = parser.parse_args(argv)
    readers = args.reader or list(READERS)
    ctx = mp.get_context("spawn")
    print(f"machine: {platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.runs} timed runs after one warm-up, each reader in its own process\n")
    header = f"{'photo':<20} {'reader':<24} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'lines':>6} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    for photo, size in PHOTOS.items():
        data = make_photo(size)
        for reader in readers:
            queue = ctx.Queue()
            proc = ctx.Process(target=_measure, args=(reader, data, args.runs, queue))
            proc.start()
            times, lines, peak = queue.get()
            proc.join()
            print(f"{photo:<20} {reader:<24} {percentile(times, 0.5):>8.0f} {percentile(times, 0.95):>8.0f} "
                  f"{statistics.mean(times):>8.0f} {lines:>6} {peak:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
