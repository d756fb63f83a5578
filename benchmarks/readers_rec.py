"""Readers that differ only in the line recogniser, for the "Own recogniser" tables.

- ``rec-bundled``: the pipeline with PP-OCRv6 small as rapidocr ships it;
- ``rec-markings``: the pipeline with the project's fine-tuned markings model (``rec_markings_v1``);
- ``rec-both``: both read every line, fused per character where they disagree.

Everything else (detection, second pass, crops, 0/180 direction, interpretation) is the default
pipeline's; all three run onnxruntime with one thread per session, so their speeds compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

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
