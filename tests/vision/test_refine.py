"""Small lines of a large photo are detected again up close (vision.detection.RefineConfig)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PIL import Image

from tests.imaging import to_bytes
from vision.detection import DetectorConfig, RefineConfig, Region, TextDetector, reduced_size
from vision.pipeline import Pipeline, ReadOptions
from vision.types import Quad


class _CutShort(TextDetector):
    """On the reduced copy, the box of the line at ``AT`` ends in the middle of it, as loose boxes
    of lines a few pixels high do; seen up close the detector is itself."""

    AT = (1500, 1400)

    def detect_reduced(self, small: np.ndarray, full_size: tuple[int, int],
                       config: DetectorConfig | None = None) -> list[Region]:
        found = super().detect_reduced(small, full_size, config)
        out = []
        for r in found:
            x0, y0, x1, y1 = r.quad.bounds()
            if x0 <= self.AT[0] + 40 and y0 <= self.AT[1] + 40 <= y1:
                mid = (x0 + x1) / 2  # keep the second half only: the prefix is lost
                r = Region(Quad.from_points([(mid, y0), (x1, y0), (x1, y1), (mid, y1)]), r.score)
            out.append(r)
        return out


def _photo(make_image: Callable[..., Image.Image]) -> bytes:
    # a 12 MP photo: the serial is 40 px high, 13 px in the detector's reduced copy
    img = make_image([("ZASTAVA ARMS", (400, 300), 150), ("AB 4817305", _CutShort.AT, 40)], size=(4000, 3000))
    return to_bytes(img, quality=92)


def test_a_small_line_cut_short_is_read_whole_once_seen_up_close(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    data = _photo(make_image)
    cut = replace(pipeline, detector=_CutShort(pipeline.detector.model, pipeline.detector.config))
    opts = ReadOptions(headstamps=False, extend_lines=False, second_pass=False)
    first_look = cut.read_bytes(data, replace(opts, refine_small=False))
    assert not any("AB4817305" in line.text.replace(" ", "") for line in first_look.lines)
    rec = cut.read_bytes(data, opts)
    assert any("AB4817305" in line.text.replace(" ", "") for line in rec.lines)
    step = dict(next(s for s in rec.provenance.steps if s.name == "detect_refine").params)
    assert step["looked_again"] == "1"  # the serial, not the large maker line


def test_only_small_regions_of_a_reduced_photo_are_looked_at_again(pipeline: Pipeline) -> None:
    detector = pipeline.detector
    width, height = 4000, 3000
    rw, _ = reduced_size(width, height, detector.config)
    scale = rw / width
    bgr = np.full((height, width, 3), 80, np.uint8)
    big = Region(Quad.from_points([(100, 100), (1500, 100), (1500, 250), (100, 250)]), 0.9)  # 150 px high
    small = Region(Quad.from_points([(2000, 2000), (2400, 2000), (2400, 2040), (2000, 2040)]), 0.9)  # 40 px
    kept, looked = detector.refine(bgr, [big, small], scale)
    assert looked == 1
    # a blank window: nothing seen up close, so the first look stands
    assert big in kept and small in kept
    # a photo the detector sees at its own size has nothing to gain
    _, looked = detector.refine(bgr, [small], 1.0)
    assert looked == 0
    _, looked = detector.refine(bgr, [big, small], scale, refine=RefineConfig(below=5.0))
    assert looked == 0
