"""Readers the accuracy harness can run side by side, each ``bytes -> Prediction``.

- ``caliber``: the project's pipeline (alphabet-restricted decoding with alternatives, direction,
  interpretation into serial candidates).
- ``caliber-lines``: the same pipeline without interpretation (serial candidates = line texts).
- ``rec-bundled`` / ``rec-markings`` / ``rec-both``: the pipeline with the bundled recogniser, the
  project's own fine-tuned markings recogniser, or both fused (``benchmarks/readers_rec.py``).
- ``raw``: the raw engine, rapidocr's own high-level call on the same PP-OCR models, with no
  enhancement and no interpretation (serial candidates = its line texts by confidence).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import cv2
import numpy as np

from benchmarks.scoring import Prediction, prediction_from_recognition

Reader = Callable[[bytes], Prediction]
if TYPE_CHECKING:
    from _typeshed import DataclassInstance
T = TypeVar("T", bound="DataclassInstance")


# The pipeline as the foundation built it: no line joining, second pass, variants, quality, headstamps,
# flattened copy, direction check, line extension, refine or rebox.
FOUNDATION = ("second_pass=0,join_lines=0,variants=,quality=0,headstamps=0,flat_pass=0,direction_check=0,"
              "extend_lines=0,refine_small=0,rebox=0")


def parse_settings(spec: str, defaults: T) -> T:
    """``defaults`` (a dataclass of settings) with the fields named in ``key=value,...`` changed:
    booleans 0/1, tuples joined by '/' (a variant's own name may hold '+': flatten+clahe/invert),
    empty = none, other values converted to the field's type."""
    from dataclasses import fields, replace

    names = {f.name for f in fields(defaults)}
    changes: dict[str, Any] = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        if key not in names:
            raise KeyError(f"unknown setting {key!r} of {type(defaults).__name__}; known: {', '.join(sorted(names))}")
        current = getattr(defaults, key)
        if isinstance(current, bool):
            changes[key] = value not in ("0", "false", "no", "")
        elif isinstance(current, tuple):
            changes[key] = tuple(v for v in value.split("/") if v)
        elif isinstance(current, int | float):
            changes[key] = type(current)(value)
        elif isinstance(current, str):
            changes[key] = value
        else:
            changes[key] = None if value in ("", "none") else int(value)  # det_max_side
    return replace(defaults, **changes)


def parse_options(spec: str) -> Any:
    """``ReadOptions`` from ``key=value,...`` (see :func:`parse_settings`)."""
    from vision.pipeline import ReadOptions

    return parse_settings(spec, ReadOptions())


def _pipeline_reader(interpret: bool, options: str = "") -> Reader:
    from vision.intake import IntakeError
    from vision.pipeline import build_pipeline

    pipeline = build_pipeline(interpret=interpret)
    pipeline.warm_up()
    opts = parse_options(options)

    def read(data: bytes) -> Prediction:
        t0 = time.perf_counter()
        try:
            rec = pipeline.read_bytes(data, opts)
        except IntakeError as exc:
            return Prediction(seconds=time.perf_counter() - t0, error=str(exc.code))
        return prediction_from_recognition(rec, time.perf_counter() - t0)

    return read


def _raw_reader() -> Reader:
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)

    def read(data: bytes) -> Prediction:
        t0 = time.perf_counter()
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            return Prediction(seconds=time.perf_counter() - t0, error="not_an_image")
        out: Any = engine(img)
        texts = tuple(str(t) for t in (out.txts or ()))
        scores = tuple(float(s) for s in (out.scores or ()))
        ranked = sorted(zip(texts, scores, strict=True), key=lambda ts: -ts[1])
        return Prediction(lines=texts, serials=tuple(ranked), seconds=time.perf_counter() - t0)

    return read


READERS: dict[str, Callable[[], Reader]] = {
    "caliber": lambda: _pipeline_reader(interpret=True),
    "caliber-lines": lambda: _pipeline_reader(interpret=False),
    "raw": _raw_reader,
}


def _recognizer_reader(choice: str) -> Reader:
    from benchmarks.readers_rec import recognizer_reader

    reader: Reader = recognizer_reader(choice)
    return reader


# the same pipeline with the bundled, the project's own markings, or both recognisers (readers_rec.py)
READERS.update({
    "rec-bundled": lambda: _recognizer_reader("bundled"),
    "rec-markings": lambda: _recognizer_reader("markings"),
    "rec-both": lambda: _recognizer_reader("both"),
})
READER_NAMES = (*READERS, "caliber-foundation")


def build_reader(name: str) -> Reader:
    """A reader by name; ``caliber:key=value,...`` is the pipeline with those read options (an
    ablation: ``caliber:variants=`` reads without enhanced variants), ``caliber-foundation`` the
    pipeline with every step added after the foundation turned off."""
    if name == "caliber-foundation":
        return _pipeline_reader(interpret=True, options=FOUNDATION)
    base, sep, options = name.partition(":")
    if sep and base in ("caliber", "caliber-lines"):
        return _pipeline_reader(interpret=base == "caliber", options=options)
    if name not in READERS:
        raise KeyError(f"unknown reader {name!r}; choose from {', '.join(READER_NAMES)}")
    return READERS[name]()
