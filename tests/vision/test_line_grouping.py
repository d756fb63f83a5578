"""Joining detected regions that continue one another along a line."""

from __future__ import annotations

import math

from vision.detection import LineGrouping, Region, group_lines
from vision.types import Quad


def _box(x: float, y: float, w: float, h: float, angle: float = 0.0) -> Region:
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    pts = [(x, y), (x + w * c, y + w * s), (x + w * c - h * s, y + w * s + h * c), (x - h * s, y + h * c)]
    return Region(Quad.from_points(pts), 0.9)


def test_words_of_one_line_are_joined_and_lines_above_each_other_are_not() -> None:
    prefix, number = _box(100, 100, 80, 40), _box(210, 102, 200, 40)  # gap 30 px = 0.75 heights
    below = _box(100, 170, 300, 40)
    out = group_lines([prefix, number, below])
    assert len(out) == 2
    joined = next(r for r in out if r.quad.bounds()[1] < 150)
    x0, y0, x1, y1 = joined.quad.bounds()
    assert x0 <= 100.5 and x1 >= 409.5 and y0 <= 100.5 and y1 >= 141.5


def test_far_apart_different_sizes_or_directions_stay_apart() -> None:
    a = _box(100, 100, 80, 40)
    assert len(group_lines([a, _box(300, 100, 80, 40)])) == 2  # gap of 3 heights
    assert len(group_lines([a, _box(190, 100, 80, 16)])) == 2  # a much smaller line beside it
    assert len(group_lines([a, _box(190, 100, 80, 40, angle=30)])) == 2
    assert len(group_lines([a, _box(300, 100, 80, 40)], LineGrouping(max_gap=6.0))) == 1


def test_tilted_line_is_joined_along_its_own_direction() -> None:
    a = _box(100, 100, 100, 30, angle=20)
    c, s = math.cos(math.radians(20)), math.sin(math.radians(20))
    b = _box(100 + 120 * c, 100 + 120 * s, 100, 30, angle=20)  # 20 px further along the same line
    out = group_lines([a, b])
    assert len(out) == 1
    assert abs(out[0].quad.width - 220) < 2 and abs(out[0].quad.height - 30) < 2
