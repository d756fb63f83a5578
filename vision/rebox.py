"""Boxes that are too tall for their text: tighten them, or split the two lines they hold.

The detector's box is sometimes much taller than the text in it: a loose box around small text, or
one box over two close lines (dot-peen lines, whose dots leave no clear gap for the detector). The
recogniser scales the crop to 48 pixels high, so the text of a box twice too tall is read at half
the size, and two lines in one box are read as one mixed line. On the synthetic set, lines whose
box is 2 to 3 times the text's height are read exactly half as often as those with a fitting box.

Where the text runs across a crop shows in its profile of horizontal gradient, row by row:
character strokes give strong horizontal gradient over the text's height, the surface between
lines little. :func:`bands` finds the rows where the text is; :func:`sub_quad` maps rows of the
crop back to a quad of the photo (through the crop's own perspective transform).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.types import Quad


@dataclass(frozen=True, slots=True)
class ReboxConfig:
    # a row is text where its gradient rises above ``level`` of the way from the crop's quiet rows
    # (10th percentile) to its strongest
    level: float = 0.4
    min_band: float = 0.12  # a band of text is at least this share of the crop's height
    join_gap: float = 0.06  # bands closer than this share of the height are one
    margin: float = 0.3  # kept above and below a band, in band heights
    tighten_below: float = 0.6  # tighten when the band with its margins is under this share
    min_strength: float = 0.5  # a second line is as strong as this share of the first
    read_below: float = 0.95  # only lines read with less confidence are looked at
    gain: float = 0.02  # a new reading replaces the old when more confident by this much

    def describe(self) -> tuple[tuple[str, str], ...]:
        return (("level", str(self.level)), ("margin", str(self.margin)),
                ("tighten_below", str(self.tighten_below)), ("read_below", str(self.read_below)),
                ("gain", str(self.gain)))


def _profile(crop: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    gx = np.abs(cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3))
    prof = gx.mean(axis=1)
    k = max(3, (crop.shape[0] // 12) | 1)
    smooth: np.ndarray = np.convolve(np.pad(prof, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    return smooth


def bands(crop: np.ndarray, cfg: ReboxConfig | None = None) -> list[tuple[float, float, float]]:
    """The bands of rows where text runs across ``crop`` (an upright line crop): (top, bottom,
    strength), top and bottom as shares of the crop's height, top to bottom."""
    cfg = cfg or ReboxConfig()
    h = crop.shape[0]
    if h < 8 or crop.shape[1] < 8:
        return []
    prof = _profile(crop)
    quiet, peak = float(np.percentile(prof, 10)), float(prof.max())
    if peak <= quiet + 1e-6:
        return []
    on = prof > quiet + cfg.level * (peak - quiet)
    runs: list[list[int]] = []
    for y, v in enumerate(on):
        if not v:
            continue
        if runs and y - runs[-1][1] <= max(1, cfg.join_gap * h):
            runs[-1][1] = y
        else:
            runs.append([y, y])
    out = []
    for a, b in runs:
        if (b + 1 - a) >= cfg.min_band * h:
            strength = (float(prof[a:b + 1].max()) - quiet) / (peak - quiet)
            out.append((a / h, (b + 1) / h, strength))
    return out


def plan(crop: np.ndarray, cfg: ReboxConfig | None = None) -> list[tuple[float, float]]:
    """What to read instead of the whole crop: two row ranges (two lines), one (the text's band,
    tighter than the box), or none (the box fits)."""
    cfg = cfg or ReboxConfig()
    found = [b for b in bands(crop, cfg) if b[2] >= cfg.min_strength]
    if len(found) == 2:
        return [_with_margin(found[0], cfg), _with_margin(found[1], cfg)]
    if len(found) == 1:
        top, bottom = _with_margin(found[0], cfg)
        if bottom - top < cfg.tighten_below:
            return [(top, bottom)]
    return []


def _with_margin(band: tuple[float, float, float], cfg: ReboxConfig) -> tuple[float, float]:
    top, bottom, _ = band
    m = cfg.margin * (bottom - top)
    return max(0.0, top - m), min(1.0, bottom + m)


def sub_quad(quad: Quad, top: float, bottom: float) -> Quad:
    """The part of ``quad`` between ``top`` and ``bottom`` (shares of its height, as cut upright by
    :func:`vision.geometry.crop_quad`), mapped back through the same perspective transform."""
    src = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    dst = np.array(quad.points, dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    pts = np.array([[[0, top], [1, top], [1, bottom], [0, bottom]]], dtype=np.float32)
    out = cv2.perspectiveTransform(pts, m)[0]
    return Quad.from_points([(float(x), float(y)) for x, y in out])
