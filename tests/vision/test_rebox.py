"""Boxes much taller than their text: tightened to the text's rows, or split into the two lines
they hold, and read again (vision.rebox, pipeline step 'rebox')."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tests.imaging import to_bytes
from vision.detection import DetectorConfig, Region, TextDetector
from vision.geometry import crop_quad
from vision.pipeline import Pipeline, ReadOptions
from vision.rebox import bands, plan, sub_quad
from vision.types import Quad

SERIAL, BELOW = "AB 4817305", "MADE IN SERBIA"


def _crop(make_image: Callable[..., Image.Image], lines: list[tuple[str, tuple[int, int], int]],
          box: tuple[int, int, int, int]) -> np.ndarray:
    img = np.asarray(make_image(lines, size=(900, 500)))[:, :, ::-1]
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(img[y0:y1, x0:x1])


def test_two_lines_in_one_box_are_two_bands(make_image: Callable[..., Image.Image]) -> None:
    crop = _crop(make_image, [(SERIAL, (40, 100), 48), (BELOW, (40, 170), 48)], (20, 80, 640, 250))
    found = bands(crop)
    assert len(found) == 2
    (top1, bottom1, _), (top2, bottom2, _) = found
    assert top1 < bottom1 <= top2 < bottom2
    assert len(plan(crop)) == 2


def test_a_loose_box_is_tightened_and_a_fitting_one_left(make_image: Callable[..., Image.Image]) -> None:
    loose = _crop(make_image, [(SERIAL, (40, 200), 40)], (20, 150, 640, 300))  # text ~30 of 150 px
    rows = plan(loose)
    assert len(rows) == 1
    top, bottom = rows[0]
    assert 0.2 < top < bottom < 0.8 and bottom - top < 0.5
    fitting = _crop(make_image, [(SERIAL, (40, 200), 40)], (20, 192, 640, 252))
    assert plan(fitting) == []


def test_sub_quad_follows_the_crop_of_a_turned_quad() -> None:
    quad = Quad.from_points([(100, 100), (300, 100), (300, 180), (100, 180)])
    flat = [v for p in sub_quad(quad, 0.25, 0.75).points for v in p]
    assert flat == pytest.approx([100, 120, 300, 120, 300, 160, 100, 160])
    # a box read the other way up: its first point is the text's top left, at the bottom right
    turned = Quad.from_points([(300, 180), (100, 180), (100, 100), (300, 100)])
    image = np.zeros((300, 400, 3), np.uint8)
    image[100:140] = 255  # the upper half of the box, the lower half of the turned crop
    top_half = crop_quad(image, sub_quad(turned, 0.0, 0.5))
    assert top_half.mean() < 10
    bottom_half = crop_quad(image, sub_quad(turned, 0.5, 1.0))
    assert bottom_half.mean() > 245


class _Merged(TextDetector):
    """Draws one box over the two lines, as the detector does over close dot-peen lines."""

    def detect_reduced(self, small: np.ndarray, full_size: tuple[int, int],
                       config: DetectorConfig | None = None) -> list[Region]:
        found = super().detect_reduced(small, full_size, config)
        pts = [p for r in found for p in r.quad.points]
        if not pts:
            return found
        x0, y0 = min(p[0] for p in pts), min(p[1] for p in pts)
        x1, y1 = max(p[0] for p in pts), max(p[1] for p in pts)
        return [Region(Quad.from_points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]), 0.9)]


def test_the_pipeline_reads_two_lines_the_detector_boxed_as_one(
    pipeline: Pipeline, make_image: Callable[..., Image.Image]
) -> None:
    data = to_bytes(make_image([(SERIAL, (200, 300), 56), (BELOW, (200, 380), 56)], size=(1400, 900)), quality=92)
    merged = replace(pipeline, detector=_Merged(pipeline.detector.model, pipeline.detector.config))
    opts = ReadOptions(headstamps=False, second_pass=False, flat_pass=False, refine_small=False)
    without = merged.read_bytes(data, replace(opts, rebox=False))
    assert len(without.lines) == 1 and without.lines[0].text.replace(" ", "") != SERIAL.replace(" ", "")
    rec = merged.read_bytes(data, opts)
    assert [line.text.replace(" ", "") for line in rec.lines] == [SERIAL.replace(" ", ""), BELOW.replace(" ", "")]
    step = dict(next(s for s in rec.provenance.steps if s.name == "rebox").params)
    assert step["split"] == "1"
    # each line has its own box now, the serial's above the other's
    assert rec.lines[0].quad.bounds()[3] <= rec.lines[1].quad.bounds()[1] + 10
