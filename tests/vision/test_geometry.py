from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.imaging import to_bytes
from vision.detection import DetectorConfig, reduced_size, regions_from_probability
from vision.geometry import (
    crop_quad,
    quad_to_stored,
    rotate_order,
    stored_to_upright,
    text_order,
    upright_to_stored,
)
from vision.intake import decode
from vision.types import Quad


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_maps_points_like_the_decoded_pixels(orientation: int) -> None:
    w, h = 60, 40
    stored = np.zeros((h, w, 3), dtype=np.uint8)
    sx, sy = 45, 7  # a marker pixel in the stored grid
    stored[sy, sx] = (255, 255, 255)
    img = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = decode(to_bytes(img, "PNG", exif=exif.tobytes()))
    assert out.exif_orientation == orientation
    ys, xs = np.nonzero(out.bgr[:, :, 0] > 128)
    assert len(xs) == 1
    ux, uy = stored_to_upright((sx + 0.5, sy + 0.5), orientation, (w, h))
    assert (ux - 0.5, uy - 0.5) == (xs[0], ys[0])
    back = upright_to_stored((ux, uy), orientation, (w, h))
    assert back == pytest.approx((sx + 0.5, sy + 0.5))
    q = quad_to_stored(Quad.from_points([(ux, uy)] * 4), orientation, (w, h))
    assert q.points[0] == pytest.approx((sx + 0.5, sy + 0.5))


def test_detector_regions_are_mapped_back_to_full_resolution() -> None:
    cfg = DetectorConfig()
    full_w, full_h = 4000, 3000
    rw, rh = reduced_size(full_w, full_h, cfg)
    assert (rw, rh) == (1280, 960)
    prob = np.zeros((rh, rw), dtype=np.float32)
    prob[100:120, 200:400] = 0.9  # a text core in the reduced copy
    regions = regions_from_probability(prob, full_w / rw, full_h / rh, cfg)
    assert len(regions) == 1
    x0, y0, x1, y1 = regions[0].quad.bounds()
    s = full_w / rw
    # the region, grown around its core, encloses the core in full-resolution pixels
    assert x0 <= 200 * s and x1 >= 400 * s and y0 <= 100 * s and y1 >= 120 * s
    assert x1 - x0 < 260 * s and y1 - y0 < 60 * s


@pytest.mark.parametrize(
    ("size", "expected"),
    [((4000, 3000), (1280, 960)), ((256, 256), (736, 736)), ((1000, 750), (992, 736)), ((3000, 4000), (960, 1280))],
)
def test_reduced_size(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert reduced_size(*size, DetectorConfig()) == expected


def test_text_order_starts_at_text_start_and_runs_clockwise() -> None:
    horizontal = text_order([[10, 2], [0, 2], [0, 0], [10, 0]])
    assert horizontal.tolist() == [[0, 0], [10, 0], [10, 2], [0, 2]]
    vertical = text_order([[0, 0], [2, 0], [2, 10], [0, 10]])  # tall box: text reads downwards
    assert vertical[0].tolist() == [2, 0] and vertical[1].tolist() == [2, 10]


def test_rotate_order_keeps_the_same_corners() -> None:
    q = Quad.from_points([(0, 0), (10, 0), (10, 2), (0, 2)])
    r = rotate_order(q, 2)
    assert r.points[0] == (10, 2) and set(r.points) == set(q.points)


def test_crop_quad_is_upright_and_keeps_resolution() -> None:
    img = np.zeros((200, 300, 3), dtype=np.uint8)
    img[50:70, 100:200] = 255
    crop = crop_quad(img, Quad.from_points([(100, 50), (200, 50), (200, 70), (100, 70)]))
    assert crop.shape[:2] == (20, 100)
    assert crop.mean() > 240


def test_tile_grid_covers_the_photo_with_overlap() -> None:
    from vision.detection import TextDetector

    detector = TextDetector.__new__(TextDetector)  # the grid needs no model
    tiles = detector.tile_grid(4000, 3000, DetectorConfig())
    assert len(tiles) == 4
    assert min(t[0] for t in tiles) == 0 and max(t[2] for t in tiles) == 4000
    assert min(t[1] for t in tiles) == 0 and max(t[3] for t in tiles) == 3000
    left, right = sorted({(t[0], t[2]) for t in tiles})
    assert right[0] < left[1]  # neighbouring tiles overlap
    assert detector.tile_grid(1000, 750, DetectorConfig()) == [(0, 0, 1000, 750)]


def test_merge_keeps_one_region_per_line() -> None:
    from vision.detection import Region, merge_regions

    def region(x0: float, y0: float, x1: float, y1: float) -> Region:
        return Region(Quad.from_points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]), 0.9)

    first = [region(100, 100, 400, 140)]
    extra = [region(110, 102, 390, 138), region(1000, 500, 1300, 540), region(1005, 505, 1150, 535)]
    merged = merge_regions(first, extra)
    assert merged == [first[0], extra[1]]


def test_a_coarse_patch_gives_way_to_the_lines_found_inside_it() -> None:
    from vision.detection import COARSE, Region, merge_regions

    def region(x0: float, y0: float, x1: float, y1: float) -> Region:
        return Region(Quad.from_points([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]), 0.9)

    size = (4000, 3000)
    patch = region(500, 400, 2500, 2000)  # 2000 x 1600: a textured background taken for text
    line = region(1200, 1100, 1600, 1160)  # a serial inside it
    stray = region(3000, 2500, 3400, 2560)
    assert COARSE(patch, size) and not COARSE(line, size)
    assert merge_regions([patch], [line, stray], size) == [line, stray]
    # without the photo's size (or for a region that is a line) the first region stands
    assert merge_regions([patch], [line, stray]) == [patch, stray]
    long_line = region(200, 1000, 3800, 1700)  # a close-up line 700 px high: long, not coarse
    assert not COARSE(long_line, size)
    assert merge_regions([long_line], [line], size) == [long_line]
    # lines of about its own height do not break up a region (two lines found as one stay one)
    two_lines = region(500, 400, 1300, 1000)
    assert merge_regions([two_lines], [region(520, 420, 1280, 680)], size) == [two_lines]
