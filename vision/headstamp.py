"""Circular text on cartridge heads (headstamps): find the head, unroll its band, read the tokens.

A headstamp photo shows the base of a case: the rim (outer circle), the primer (a concentric inner
circle) and, in the ring between them, a few stamped tokens (maker code, calibre, year) laid round
the circle. Tokens in the upper half usually face outwards; those in the lower half face outwards
or inwards (upright for a person holding the case). The line detector does not find such text.

Steps:

1. *Find*: circles on a reduced grey copy (Hough, gradient-alternative variant), each checked in
   polar coordinates: a headstamp needs a rim edge round most of the circle **and** a concentric
   ring (the primer) inside it. Photos without such a pair are not headstamps, and cost only this
   check (a few tens of ms at most on a 12 MP photo).
2. *Fit*: the rim is refined at higher resolution as an ellipse (a head seen at an angle), so the
   band can be unrolled as an affine image of a circle.
3. *Unroll*: the band between the primer and the rim becomes a straight strip (x = angle, running
   clockwise; y = radius, outside at the top). Outward-facing tokens read left to right in it;
   inward-facing ones in the strip turned by 180 degrees.
4. *Segment and read*: runs of ink along the angle, closed over gaps narrower than a character,
   are cut out (wrapping round the seam) and read outward and turned by 180 degrees; close
   neighbours that do not read as a known token on their own are also read together, and the
   split of the circle into tokens with the best total score is kept. One direction convention
   holds per head (all outward, or the lower half inward), which settles 0/1/8 and 6/9 tokens.
5. *Match*: each read is matched against known headstamp codes and calibres
   (``vision/data/headstamps.json``) with a look-alike-aware distance that uses the recogniser's
   own alternatives; a match is reported in its dictionary spelling (Cyrillic codes in Cyrillic),
   anything else is kept as read when it is confident and plausible (years, numbers, letters).

Coordinates of the returned lines are in pixels of the image passed in.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from vision.ctc import DecodedText
from vision.types import CharChoice, Quad, Step, TextLine

VARIANT = "polar"


class Recognizer(Protocol):
    def recognize(
        self, crops: Sequence[np.ndarray], *, top_k: int | None = None, temperature: float | None = None
    ) -> list[DecodedText]: ...


@dataclass(frozen=True, slots=True)
class HeadstampConfig:
    # --- finding the head ---
    detect_side: int = 512  # long side of the reduced grey copy searched for circles
    min_radius: float = 0.05  # rim radius range, fractions of the reduced copy's short side
    max_radius: float = 0.62
    canny_high: float = 100.0  # Hough (gradient-alternative) edge threshold
    hough_dp: float = 2.0  # accumulator resolution (reduced-copy pixels per cell)
    circle_quality: float = 0.7  # Hough "perfectness" (0..1)
    max_candidates: int = 6
    rim_support: float = 0.55  # fraction of the rim's (visible) angles with a radial edge
    primer_support: float = 0.45  # fraction of angles with an edge on the best inner ring
    primer_range: tuple[float, float] = (0.18, 0.62)  # where the primer ring may lie (of the rim)
    min_visible: float = 0.5  # fraction of the rim inside the photo
    dominance: float = 2.0  # a ring edge is this many times the mean edge strength around it
    # rim + primer support a head needs in all: generated and real heads score 1.4-2.0, circles in
    # other photos that pass each check alone 1.1-1.3 (synth-v1, real-dev, November 2026)
    min_head_score: float = 1.35
    # --- unrolling ---
    work_radius: int = 240  # rim radius, in pixels, of the copy the band is unrolled from
    band_outer: float = 0.97  # outer edge of the unrolled band (of the rim radius)
    band_inner_min: float = 0.42  # the band starts just outside the primer, but not nearer the centre
    # --- segmentation and reading ---
    gap_heights: float = 0.8  # ink runs closer than this many text heights form one segment
    merge_heights: float = 2.6  # segments this close may also be read together (one token)
    max_merge: int = 3  # segments read together at most
    merge_bonus: float = 0.3  # preference for reading close neighbours as one token
    min_token_conf: float = 0.75  # recogniser confidence needed to keep an unmatched read
    min_match_conf: float = 0.35  # confidence (read x match quality) needed to report a known token
    upright_prior: float = 0.3  # preference for the reading direction that is upright in the photo
    max_segments: int = 10


@dataclass(frozen=True, slots=True)
class Head:
    """A cartridge head in image pixels: the rim as an ellipse (centre, semi-axes, angle in
    degrees) and the primer ring as a fraction of the rim radius."""

    cx: float
    cy: float
    a: float  # semi-axis along ``angle``
    b: float  # the other semi-axis
    angle: float
    primer: float
    rim_support: float
    primer_support: float

    @property
    def radius(self) -> float:
        return (self.a + self.b) / 2

    def frac_at(self, x: float, y: float) -> float:
        """Radius fraction of an image point in the head's own (circular) coordinates."""
        ca, sa = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        dx, dy = x - self.cx, y - self.cy
        return math.hypot((ca * dx + sa * dy) / self.a, (-sa * dx + ca * dy) / self.b)

    def point(self, theta: np.ndarray | float, frac: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Image point of the head's circle at angle ``theta`` (radians) and radius fraction."""
        t = np.asarray(theta, dtype=np.float64)
        f = np.asarray(frac, dtype=np.float64)
        ca, sa = math.cos(math.radians(self.angle)), math.sin(math.radians(self.angle))
        u, v = self.a * np.cos(t) * f, self.b * np.sin(t) * f
        return self.cx + ca * u - sa * v, self.cy + sa * u + ca * v


# --- finding the head ----------------------------------------------------------------------------


def _reduced_grey(bgr: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """Grey copy whose long side is about ``side``; returns it and original pixels per its pixel.
    Large photos are first thinned by an integer stride (cheap on 12 MP), then area-averaged."""
    h, w = bgr.shape[:2]
    step = max(1, int(max(h, w) / side / 2))
    small = np.ascontiguousarray(bgr[::step, ::step]) if step > 1 else bgr
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else np.asarray(small)
    scale = side / max(grey.shape[:2])
    if scale < 1:
        size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey, w / grey.shape[1]


def _polar(grey: np.ndarray, cx: float, cy: float, r_max: float, n_r: int, n_a: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """(angles x radii) samples of ``grey`` round (cx, cy) out to ``r_max``, and a mask of the
    samples that fall inside the image."""
    flags = cv2.WARP_POLAR_LINEAR | cv2.INTER_LINEAR | cv2.WARP_FILL_OUTLIERS
    pol = cv2.warpPolar(grey.astype(np.float32), (n_r, n_a), (cx, cy), r_max, flags)
    inside = np.full(grey.shape[:2], 255, np.uint8)
    valid = cv2.warpPolar(inside, (n_r, n_a), (cx, cy), r_max, flags) > 250
    return pol, valid


def _radial_edges(pol: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Absolute radial derivative (central difference), its validity and a strength threshold
    relative to the typical derivative in the samples (texture-adaptive)."""
    d = np.zeros_like(pol)
    d[:, 1:-1] = np.abs(pol[:, 2:] - pol[:, :-2]) / 2
    ok = valid.copy()
    ok[:, 1:-1] &= valid[:, 2:] & valid[:, :-2]
    ok[:, [0, -1]] = False
    vals = d[ok]
    noise = float(np.median(vals)) if vals.size else 0.0
    return d, ok, max(4.0, 3.0 * noise)


def _ring_support(d: np.ndarray, ok: np.ndarray, thresh: float, lo: int, hi: int, half: int, ctx: int,
                  dominance: float) -> tuple[np.ndarray, float]:
    """For each radius index in [lo, hi): the fraction of (valid) angles with a *ring edge* there:
    an edge of at least ``thresh`` within +-``half`` samples that also stands out, by
    ``dominance`` times, from the mean edge strength within +-``ctx`` samples (a rim or primer
    edge is a lone sharp step; text and texture give many edges at all radii). Also returns the
    fraction of angles at which the ring is inside the photo."""
    n_a, n_r = d.shape
    lo, hi = max(0, lo), min(n_r, hi)
    if hi <= lo:
        return np.zeros(0), 0.0
    dd = np.where(ok, d, 0.0).astype(np.float32)
    peak = cv2.dilate(dd, np.ones((1, 2 * half + 1), np.uint8))
    context = cv2.blur(dd, (2 * ctx + 1, 1), borderType=cv2.BORDER_REFLECT)
    ring = (peak >= thresh) & (peak >= dominance * context)
    angle_ok = ok[:, lo:hi].any(axis=1)
    n_ok = int(angle_ok.sum())
    if n_ok == 0:
        return np.zeros(hi - lo), 0.0
    return ring[angle_ok, lo:hi].mean(axis=0), n_ok / n_a


def _boundary_path(d: np.ndarray, ok: np.ndarray, thresh: float, lo: int, hi: int, max_step: int = 2
                   ) -> np.ndarray:
    """The closed, smooth curve r(angle) of strongest radial edges between radius indices lo and
    hi (dynamic programming over the angles; the radius moves at most ``max_step`` per angle step,
    which follows ellipses and off-centre circles). Returns a radius index per angle."""
    e = np.where(ok, np.minimum(d, 3 * thresh), 0.0)[:, lo:hi]
    n_a, width = e.shape
    pad = n_a // 4
    ext = np.vstack([e[-pad:], e, e[:pad]])  # a quarter turn more at both ends closes the loop
    m = max_step
    buf = np.full(width + 2 * m, -np.inf)
    cand = np.empty((2 * m + 1, width))
    back = np.zeros(ext.shape, np.int32)
    idx = np.arange(width)
    buf[m : m + width] = ext[0]
    for i in range(1, ext.shape[0]):
        for k in range(2 * m + 1):
            cand[k] = buf[k : k + width]
        arg = cand.argmax(axis=0)
        back[i] = idx + arg - m
        buf[m : m + width] = cand[arg, idx] + ext[i]
    score = buf[m : m + width]
    path = np.zeros(ext.shape[0], np.int32)
    path[-1] = int(score.argmax())
    for i in range(ext.shape[0] - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path[pad : pad + n_a] + lo


def _sample_head(grey: np.ndarray, head: Head, n_a: int, fracs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """grey sampled on the head's ellipse grid: (angles x radius fractions), and an inside mask."""
    theta = np.linspace(0, 2 * math.pi, n_a, endpoint=False)
    xs, ys = head.point(theta[:, None], fracs[None, :])
    mx, my = xs.astype(np.float32), ys.astype(np.float32)
    pol = cv2.remap(grey.astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    h, w = grey.shape[:2]
    valid = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    return pol, valid


def _fit_ellipse(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """Robust ellipse through edge points: fit, drop the worst fifth, fit again."""
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    for _ in range(2):
        if len(pts) < 12:
            return None
        (cx, cy), (w, h), ang = cv2.fitEllipse(pts)
        if not (w > 4 and h > 4) or not math.isfinite(cx + cy + w + h):
            return None
        ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        dx, dy = pts[:, 0] - cx, pts[:, 1] - cy
        u, v = (ca * dx + sa * dy) / (w / 2), (-sa * dx + ca * dy) / (h / 2)
        resid = np.abs(np.sqrt(u * u + v * v) - 1)
        pts = pts[resid <= np.quantile(resid, 0.8)]
    return float(cx), float(cy), float(w / 2), float(h / 2), float(ang)


def _fit_rim(grey: np.ndarray, cx: float, cy: float, r_lo: float, r_hi: float, cfg: HeadstampConfig
             ) -> Head | None:
    """The rim as an ellipse between radii r_lo and r_hi round (cx, cy) on a (blurred) grey image:
    the strongest smooth closed edge, fitted robustly. None when too little of it is an edge."""
    r_max = r_hi * 1.1
    n_r = int(min(160, max(64, r_max)))
    n_a = 120
    pol, valid = _polar(grey, cx, cy, r_max, n_r, n_a)
    d, ok, thresh = _radial_edges(pol, valid)
    per = n_r / r_max
    lo, hi = max(1, int(r_lo * per)), min(n_r - 1, int(r_hi * per) + 1)
    if hi - lo < 3:
        return None
    path = _boundary_path(d, ok, thresh, lo, hi)
    rows = np.arange(n_a)
    strong = ok[rows, path] & (d[rows, path] >= thresh)
    visible = ok[:, lo:hi].any(axis=1)
    if visible.mean() < cfg.min_visible or strong.sum() < cfg.rim_support * visible.sum():
        return None
    theta = rows[strong] * (2 * math.pi / n_a)
    rad = path[strong] / per
    fit = _fit_ellipse(cx + rad * np.cos(theta), cy + rad * np.sin(theta))
    if fit is None:
        return None
    ex, ey, a, b, ang = fit
    if min(a, b) < 0.6 * max(a, b) or not r_lo * 0.8 <= (a + b) / 2 <= r_hi * 1.2:
        return None
    return Head(ex, ey, a, b, ang, 0.0, 0.0, 0.0)


def _check_head(grey: np.ndarray, head: Head, cfg: HeadstampConfig) -> Head | None:
    """Rim support at the fitted ellipse and the best concentric inner ring (the primer)."""
    n_a = 180
    step = 1.0 / max(24.0, head.radius)  # about one pixel of radius per sample
    fracs = np.arange(0.1, 1.25, step)
    pol, valid = _sample_head(grey, head, n_a, fracs)
    d, ok, thresh = _radial_edges(pol, valid)
    i_rim = round((1.0 - 0.1) / step)
    ctx = max(4, round(0.15 / step))
    rim, visible = _ring_support(d, ok, thresh, i_rim, i_rim + 1, max(1, round(0.04 / step)), ctx,
                                 cfg.dominance)
    if visible < cfg.min_visible or not rim.size or rim[0] < cfg.rim_support:
        return None
    lo = round((cfg.primer_range[0] - 0.1) / step)
    hi = round((cfg.primer_range[1] - 0.1) / step)
    inner, _ = _ring_support(d, ok, thresh, lo, hi, max(1, round(0.025 / step)), ctx, cfg.dominance)
    if not inner.size:
        return None
    best = int(inner.argmax())
    if inner[best] < cfg.primer_support:
        return None
    primer = 0.1 + (lo + best) * step
    return Head(head.cx, head.cy, head.a, head.b, head.angle, round(primer, 3), round(float(rim[0]), 3),
                round(float(inner[best]), 3))


@dataclass(frozen=True, slots=True)
class _Crop:
    """A square cut of the photo round a head, resampled: crop = (image - origin) * scale."""

    image: np.ndarray
    ox: float
    oy: float
    scale: float

    def to_crop(self, head: Head) -> Head:
        k = self.scale
        return Head((head.cx - self.ox) * k, (head.cy - self.oy) * k, head.a * k, head.b * k, head.angle,
                    head.primer, head.rim_support, head.primer_support)

    def to_image(self, head: Head) -> Head:
        k = self.scale
        return Head(head.cx / k + self.ox, head.cy / k + self.oy, head.a / k, head.b / k, head.angle,
                    head.primer, head.rim_support, head.primer_support)


def _crop_head(img: np.ndarray, head: Head, radius: float, margin: float = 1.3) -> _Crop:
    """The head's square (``margin`` rim radii each side of the centre) cut from ``img`` and
    resampled so that the rim radius becomes ``radius`` pixels."""
    h, w = img.shape[:2]
    half = margin * max(head.a, head.b)
    x0, y0 = max(0, int(head.cx - half)), max(0, int(head.cy - half))
    x1, y1 = min(w, math.ceil(head.cx + half) + 1), min(h, math.ceil(head.cy + half) + 1)
    part = img[y0:y1, x0:x1]
    k = radius / max(head.radius, 1.0)
    size = (max(1, round(part.shape[1] * k)), max(1, round(part.shape[0] * k)))
    interp = cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC
    out = cv2.resize(part, size, interpolation=interp)
    return _Crop(out, float(x0), float(y0), size[0] / max(part.shape[1], 1))


CHECK_RADIUS = 120.0  # rim radius, in pixels, at which a candidate head is refined and checked


def _grey(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img


def find_heads(bgr: np.ndarray, cfg: HeadstampConfig) -> list[Head]:
    """Checked cartridge heads in a photo (image pixels), best first.

    Circles are searched on a reduced grey copy; each is tried as the rim and, when small enough,
    as the primer (the rim then lies 1.6-4.5 radii out). A rim found there is refined and checked
    on a cut of the full-resolution photo where its radius is ``CHECK_RADIUS`` pixels."""
    grey, s = _reduced_grey(bgr, cfg.detect_side)
    blurred = cv2.GaussianBlur(grey, (0, 0), 1.5)
    short = min(grey.shape[:2])
    long = max(grey.shape[:2])
    found = cv2.HoughCircles(
        blurred, cv2.HOUGH_GRADIENT_ALT, cfg.hough_dp, short * 0.05, param1=cfg.canny_high,
        param2=cfg.circle_quality, minRadius=max(6, int(short * cfg.min_radius * 0.3)),
        maxRadius=int(short * cfg.max_radius),
    )
    if found is None:
        return []
    heads: list[Head] = []
    min_r = short * cfg.min_radius
    for x, y, r in found[0][: cfg.max_candidates]:
        cx, cy, r = float(x) * s, float(y) * s, float(r) * s
        if any(math.hypot(cx - h.cx, cy - h.cy) < 0.3 * h.radius and r < 1.2 * h.radius for h in heads):
            continue  # the primer (or the rim again) of a head already found
        tries = [(0.75, 1.3)] if r >= min_r * s else []
        if r * 1.6 < long * s * cfg.max_radius:
            tries.append((1.6, min(4.5, long * s * cfg.max_radius / r)))
        for lo, hi in tries:
            coarse = _fit_rim(blurred, cx / s, cy / s, lo * r / s, hi * r / s, cfg)
            if coarse is None:
                continue
            rim = Head(coarse.cx * s, coarse.cy * s, coarse.a * s, coarse.b * s, coarse.angle, 0, 0, 0)
            crop = _crop_head(bgr, rim, CHECK_RADIUS)
            g = cv2.GaussianBlur(_grey(crop.image), (0, 0), 1.5)
            local = crop.to_crop(rim)
            fine = _fit_rim(g, local.cx, local.cy, 0.85 * local.radius, 1.15 * local.radius, cfg) or local
            checked = _check_head(g, fine, cfg)
            if checked is not None and checked.rim_support + checked.primer_support >= cfg.min_head_score:
                heads.append(crop.to_image(checked))
                break
    heads.sort(key=lambda h: -(h.rim_support + h.primer_support))
    return heads


# --- unrolling ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Strip:
    """The band of a head unrolled: column j is angle ``2 pi j / width`` (clockwise from the
    ellipse's first axis), row i is radius fraction ``outer - i * (outer - inner) / (height - 1)``
    (outside at the top), so outward-facing text reads left to right."""

    image: np.ndarray
    head: Head  # in image pixels
    outer: float
    inner: float

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def angle(self, col: float) -> float:
        return 2 * math.pi * col / self.width

    def frac(self, row: float) -> float:
        return self.outer - row * (self.outer - self.inner) / max(self.height - 1, 1)


def unroll(bgr: np.ndarray, head: Head, cfg: HeadstampConfig) -> Strip:
    """Unroll the band between the primer and the rim into a strip; the scale is that of a head
    of ``cfg.work_radius`` pixels (resampled from the photo, area-averaged when shrinking)."""
    inner = max(cfg.band_inner_min, head.primer + 0.05)
    outer = cfg.band_outer
    crop = _crop_head(bgr, head, cfg.work_radius)
    local = crop.to_crop(head)
    r = local.radius
    mid = (inner + outer) / 2
    width = max(64, round(2 * math.pi * mid * r))
    height = max(16, round((outer - inner) * r))
    theta = np.arange(width) * (2 * math.pi / width)
    fracs = outer - np.arange(height) * ((outer - inner) / max(height - 1, 1))
    xs, ys = local.point(theta[None, :], fracs[:, None])
    image = cv2.remap(crop.image, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
    return Strip(image, head, outer, inner)


# --- segmentation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """A token's place in the strip: columns [start, end) (end may pass the width: the token then
    wraps round the seam) and rows [top, bottom)."""

    start: int
    end: int
    top: int
    bottom: int
    ink: float  # mean ink strength over the segment, relative to the strip's background


def _ink(strip: Strip) -> np.ndarray:
    """Per-pixel ink strength: horizontal gradient magnitude (character strokes cross the strip;
    the rim, primer and soot rings run along it and give little), lightly smoothed."""
    grey = cv2.GaussianBlur(_grey(strip.image).astype(np.float32), (0, 0), 1.2)
    gx = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3))
    out: np.ndarray = cv2.GaussianBlur(gx, (0, 0), 2.0)
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True in a circular 1-D mask; a run through the seam ends past the end."""
    n = len(mask)
    if mask.all():
        return [(0, n)]
    if not mask.any():
        return []
    first_false = int(np.argmin(mask))
    rolled = np.roll(mask, -first_false)
    edges = np.diff(np.concatenate([[0], rolled.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s) + first_false, int(e) + first_false) for s, e in zip(starts, ends, strict=True)]


def segment(strip: Strip, cfg: HeadstampConfig) -> tuple[list[Segment], float]:
    """Tokens along the strip: columns with ink, closed over gaps narrower than a character, then
    grouped into tokens at gaps wider than ``cfg.gap_heights`` text heights. Returns the segments
    and the text height (pixels) the gaps were measured in."""
    ink = _ink(strip)
    h, w = ink.shape
    margin = max(1, h // 12)
    core = ink[margin : h - margin]
    cols = core.mean(axis=0)
    cols = np.convolve(np.concatenate([cols[-8:], cols, cols[:8]]), np.ones(5) / 5, mode="same")[8:-8]
    base = float(np.percentile(cols, 20))
    top = float(np.percentile(cols, 98))
    if top <= base * 1.3 + 1e-6:
        return [], 0.0
    thresh = base + 0.25 * (top - base)
    inked = cols >= thresh
    # text height: rows where the inked columns carry ink
    rows = core[:, inked].mean(axis=1) if inked.any() else core.mean(axis=1)
    rows_thr = float(rows.min()) + 0.4 * float(rows.max() - rows.min())
    text_rows = np.flatnonzero(rows >= rows_thr)
    text_h = float(text_rows[-1] - text_rows[0] + 1) if text_rows.size else h * 0.5
    text_h = max(text_h, h * 0.2)
    # close gaps between strokes and letters, then split at gaps wider than a token gap
    close = max(1, round(0.35 * text_h))
    closed = cv2.morphologyEx(np.tile(inked.astype(np.uint8), 3)[None, :], cv2.MORPH_CLOSE,
                              np.ones((1, close), np.uint8))[0, w : 2 * w] > 0
    blobs = [(s, e) for s, e in _runs(closed) if e - s >= max(2, round(0.06 * text_h))]
    gap = cfg.gap_heights * text_h
    groups: list[list[int]] = []
    for s, e in blobs:
        if groups and s - groups[-1][1] < gap:
            groups[-1][1] = e
        else:
            groups.append([s, e])
    if len(groups) > 1 and groups[0][0] + w - groups[-1][1] < gap:  # merge across the seam
        groups[0] = [groups[-1][0], groups[0][1] + w]
        groups.pop()
    segs: list[Segment] = []
    for s, e in groups:
        idx = np.arange(s, e) % w
        prof = core[:, idx].mean(axis=1)
        lo, hi = float(prof.min()), float(prof.max())
        rows_in = np.flatnonzero(prof >= lo + 0.35 * (hi - lo))
        t0 = int(rows_in[0]) + margin if rows_in.size else margin
        t1 = int(rows_in[-1]) + margin + 1 if rows_in.size else h - margin
        strength = float(cols[idx].mean() / max(base, 1e-6))
        segs.append(Segment(int(s), int(e), t0, t1, round(strength, 3)))
    return segs, text_h


# --- the vocabulary of headstamps --------------------------------------------------------------

DATA_FILE = Path(__file__).resolve().parent / "data" / "headstamps.json"
_SEPARATORS = frozenset(" ")
_PIECE_COST = 0.1  # each token a read is split into costs this much: fewer, longer tokens win ties
_SMALL_MARKS = frozenset(".,·'`:;-–_")


@dataclass(frozen=True, slots=True)
class Spelling:
    """One way a token is stamped: ``text`` as it is reported, ``kind`` ('maker' or 'calibre'),
    ``code`` the entry it belongs to (the maker code or the calibre itself)."""

    text: str
    kind: str
    code: str
    key: str  # upper-case characters compared against a read (spaces dropped)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A kind of token kept as read (a year, a lot number, a Roman numeral): its characters are
    taken from the recogniser's alternatives within ``alphabet``."""

    kind: str
    regex: re.Pattern[str]
    weight: float
    alphabet: frozenset[str]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Known headstamp tokens and the character rules used to match reads against them."""

    spellings: tuple[Spelling, ...]
    reads_as: Mapping[str, tuple[str, ...]]  # upper-case letter -> how it may be read
    groups: Mapping[str, frozenset[str]]  # character -> its look-alikes (itself included)
    patterns: tuple[Pattern, ...]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Vocabulary:
        spellings: list[Spelling] = []
        for item in data["codes"]:
            for alias in item.get("aliases", [item["code"]]):
                spellings.append(Spelling(str(alias), "maker", str(item["code"]), _key(str(alias))))
        for cal in data.get("calibres", []):
            spellings.append(Spelling(str(cal), "calibre", str(cal), _key(str(cal))))
        reads_as = {str(k).upper(): tuple(str(v) for v in vs) for k, vs in data.get("reads_as", {}).items()}
        groups: dict[str, set[str]] = {}
        for group in data.get("confusions", []):
            members = set(str(group))
            for ch in members:
                groups.setdefault(ch, {ch}).update(members)
        patterns = tuple(Pattern(str(p["kind"]), re.compile(str(p["regex"])), float(p["weight"]),
                                 frozenset(str(p.get("alphabet", "")).upper()))
                         for p in data.get("patterns", []))
        return cls(tuple(spellings), reads_as, {k: frozenset(v) for k, v in groups.items()}, patterns)

    @classmethod
    def load(cls, path: Path | None = None) -> Vocabulary:
        with (path or DATA_FILE).open(encoding="utf-8") as fh:
            return cls.from_data(json.load(fh))

    @property
    def max_key(self) -> int:
        return max((len(s.key) for s in self.spellings), default=0)


@lru_cache(maxsize=4)
def default_vocabulary(path: str | None = None) -> Vocabulary:
    """The packaged vocabulary, loaded once (it is immutable and shared)."""
    return Vocabulary.load(Path(path) if path else None)


def _key(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch not in _SEPARATORS)


# --- matching reads ----------------------------------------------------------------------------

Alts = tuple[tuple[str, float], ...]


def _sub_cost(vocab: Vocabulary, code_ch: str, alts: Alts) -> float:
    """Cost of reading ``alts`` where ``code_ch`` is stamped: 0 for the same character, a little
    for a look-alike from another script the recogniser lacks (Cyrillic П read as Greek Π), more
    for a character the recogniser offered as an alternative, more again for a look-alike."""
    best, p_best = alts[0]
    b = best.upper()
    if b == code_ch:
        return 0.0
    readings = vocab.reads_as.get(code_ch, ())
    if best in readings or b in readings:
        return 0.05
    cost = 1.0
    for ch, p in alts[1:]:
        if ch.upper() == code_ch or ch in readings:
            cost = min(cost, 0.15 + 0.5 * (1.0 - min(1.0, p / max(p_best, 1e-6))))
    # a look-alike costs more the surer the recogniser was of what it saw
    group = vocab.groups.get(code_ch)
    if group is not None and b in group:
        cost = min(cost, 0.2 + 0.5 * p_best)
    elif any(r in vocab.groups and b in vocab.groups[r] for r in readings if len(r) == 1):
        cost = min(cost, 0.45 + 0.5 * p_best)  # a look-alike of a look-alike
    return cost


def _ins_cost(code_ch: str) -> float:
    """A stamped character the read lacks: small marks (a decimal point) are often lost."""
    return 0.3 if code_ch in _SMALL_MARKS else 1.0


def _del_cost(alts: Alts) -> float:
    """A read character the stamped token lacks."""
    best, p = alts[0]
    if best in _SEPARATORS:
        return 0.0
    if best in _SMALL_MARKS:
        return 0.25
    return 0.5 if p < 0.4 else 1.0


def align(vocab: Vocabulary, key: str, reads: Sequence[Alts]) -> tuple[float, list[int | None]]:
    """Weighted edit distance of a read against a spelling's key, and for each key character the
    index of the read character aligned to it (None when inserted). Two narrow read characters
    may stand for one wide stamped one (Cyrillic П read as 'II')."""
    n, m = len(key), len(reads)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            c = cost[i][j]
            if c == inf:
                continue
            if i < n:
                v = c + _ins_cost(key[i])
                if v < cost[i + 1][j]:
                    cost[i + 1][j], back[i + 1][j] = v, (i, j)
            if j < m:
                v = c + _del_cost(reads[j])
                if v < cost[i][j + 1]:
                    cost[i][j + 1], back[i][j + 1] = v, (i, j)
            if i < n and j < m:
                v = c + _sub_cost(vocab, key[i], reads[j])
                if v < cost[i + 1][j + 1]:
                    cost[i + 1][j + 1], back[i + 1][j + 1] = v, (i, j)
                if j + 1 < m:
                    pair = reads[j][0][0] + reads[j + 1][0][0]
                    if pair.upper() in vocab.reads_as.get(key[i], ()):
                        v = c + 0.1
                        if v < cost[i + 1][j + 2]:
                            cost[i + 1][j + 2], back[i + 1][j + 2] = v, (i, j)
    mapping: list[int | None] = [None] * n
    i, j = n, m
    while (i, j) != (0, 0):
        prev = back[i][j]
        if prev is None:
            break
        pi, pj = prev
        if pi == i - 1 and pj < j:
            mapping[pi] = pj
        i, j = pi, pj
    return cost[n][m], mapping


def _allowed(key_len: int) -> float:
    """Largest edit cost accepted for a spelling of ``key_len`` characters: short codes only with
    look-alikes or offered alternatives, longer ones with about one real error in four."""
    if key_len <= 2:
        return 0.4
    if key_len == 3:
        return 0.75
    return 0.25 * key_len


@dataclass(frozen=True, slots=True)
class Piece:
    """One token found in a read: positions [start, end) of the read, what it is and its text."""

    start: int
    end: int
    text: str
    kind: str  # maker, calibre, date, other
    code: str  # the maker code / calibre matched, '' for a read kept as it is
    cost: float  # edit cost against the spelling (0 for a kept read)
    gain: float  # how much the piece counts in choosing a parse
    mapping: tuple[int | None, ...]  # read position aligned to each character of ``text``


def _mean_p(reads: Sequence[Alts]) -> float:
    ps = [a[0][1] for a in reads if a[0][0] not in _SEPARATORS]
    return sum(ps) / len(ps) if ps else 0.0


class _ReadCosts:
    """Substitution costs against one read, computed once per (character, position)."""

    def __init__(self, vocab: Vocabulary, reads: Sequence[Alts]) -> None:
        self.vocab = vocab
        self.reads = reads
        self._sub: dict[tuple[str, int], float] = {}
        self.dels = [_del_cost(a) for a in reads]
        self.pairs = [(reads[j][0][0] + reads[j + 1][0][0]).upper() for j in range(len(reads) - 1)]

    def sub(self, ch: str, j: int) -> float:
        k = (ch, j)
        v = self._sub.get(k)
        if v is None:
            v = self._sub[k] = _sub_cost(self.vocab, ch, self.reads[j])
        return v

    def could_start(self, key: str, j: int) -> bool:
        """Cheap filter: the key's first real character fits read position j or j+1."""
        first = next((c for c in key if c not in _SMALL_MARKS), key[0])
        return any(self.sub(first, q) < 1.0 for q in (j, j + 1) if q < len(self.reads))

    def ends_from(self, key: str, start: int, stop: int) -> list[float]:
        """Edit cost of ``key`` against reads[start:j] for every j in [start, stop]."""
        width = stop - start
        inf = math.inf
        prev = [0.0] * (width + 1)
        for j in range(1, width + 1):
            prev[j] = prev[j - 1] + self.dels[start + j - 1]
        rows = [prev]
        for i, ch in enumerate(key):
            cur = [inf] * (width + 1)
            cur[0] = prev[0] + _ins_cost(ch)
            pair_ok = self.vocab.reads_as.get(ch, ())
            for j in range(1, width + 1):
                q = start + j - 1
                v = min(prev[j] + _ins_cost(ch), cur[j - 1] + self.dels[q], prev[j - 1] + self.sub(ch, q))
                if j >= 2 and pair_ok and self.pairs[q - 1] in pair_ok:
                    v = min(v, rows[i][j - 2] + 0.1)
                cur[j] = v
            rows.append(cur)
            prev = cur
        return prev


def _spelling_pieces(vocab: Vocabulary, costs: _ReadCosts, start: int, stop: int, min_match: float
                     ) -> dict[int, Piece]:
    """Best known spelling for each end position j (reads[start:j]), as a piece; matches whose
    confidence (read x match quality) is below ``min_match`` are not offered."""
    reads = costs.reads
    found: dict[int, Piece] = {}
    for sp in vocab.spellings:
        if not costs.could_start(sp.key, start):
            continue
        limit = _allowed(len(sp.key))
        ends = costs.ends_from(sp.key, start, min(stop, start + len(sp.key) + 2))
        for k, cost in enumerate(ends):
            j = start + k
            if cost > limit or j == start or reads[j - 1][0][0] in _SEPARATORS:
                continue
            part = reads[start:j]
            n_read = sum(1 for a in part if a[0][0] not in _SEPARATORS)
            if n_read <= 2 and n_read < len(sp.key):
                continue  # too little read to supply a missing character ("79" is a year, not 7.9)
            conf = _mean_p(part)
            if conf * (1.0 - cost / len(sp.key)) < min_match:
                continue
            gain = (min(n_read, len(sp.key)) - cost) * (0.5 + 0.5 * conf) + 0.3
            old = found.get(j)
            if old is None or gain > old.gain:
                found[j] = Piece(start, j, sp.text, sp.kind, sp.code, round(cost, 3), gain, ())
    return found


def _with_mapping(vocab: Vocabulary, reads: Sequence[Alts], piece: Piece) -> Piece:
    """The piece with each character of its text tied to the read position aligned to it."""
    _cost, mapping = align(vocab, _key(piece.text), reads[piece.start : piece.end])
    text_map: list[int | None] = []
    k = 0
    for ch in piece.text:
        if ch in _SEPARATORS:
            text_map.append(None)
            continue
        pos = mapping[k] if k < len(mapping) else None
        text_map.append(None if pos is None else piece.start + pos)
        k += 1
    # a decimal point or dash at either end that was not read is not reported (".380" read as
    # "380" stays "380"; the calibre is still known from ``code``); inside a token it is kept
    text = piece.text
    while text and text[0] in _SMALL_MARKS and text_map[0] is None:
        text, text_map = text[1:], text_map[1:]
    while text and text[-1] in _SMALL_MARKS and text_map[-1] is None:
        text, text_map = text[:-1], text_map[:-1]
    return Piece(piece.start, piece.end, text, piece.kind, piece.code, piece.cost, piece.gain, tuple(text_map))


def _in_alphabet(vocab: Vocabulary, alts: Alts, alphabet: frozenset[str]) -> tuple[str, float] | None:
    """The likeliest alternative inside ``alphabet``; failing that, a look-alike of the best
    character (at half its probability); None when neither exists."""
    for ch, p in alts:
        if ch.upper() in alphabet:
            return ch.upper(), p
    best, p_best = alts[0]
    for ch in sorted(vocab.groups.get(best.upper(), ())):
        if ch in alphabet:
            return ch, 0.5 * p_best
    return None


def _pattern_piece(vocab: Vocabulary, reads: Sequence[Alts], start: int, end: int,
                   min_conf: float) -> Piece | None:
    """A confident read kept as a token when it fits a pattern (a year, a number, a Roman numeral,
    a few capitals), each character the recogniser's likeliest within the pattern's alphabet;
    spaces the recogniser put between widely stamped characters go."""
    part = reads[start:end]
    if not part or part[0][0][0] in _SEPARATORS or part[-1][0][0] in _SEPARATORS:
        return None
    kept = [(k, a) for k, a in enumerate(part) if a[0][0] not in _SEPARATORS]
    best: Piece | None = None
    for pat in vocab.patterns:
        chosen = [_in_alphabet(vocab, a, pat.alphabet) if pat.alphabet else (a[0][0].upper(), a[0][1])
                  for _, a in kept]
        picks = [c for c in chosen if c is not None]
        if len(picks) < len(chosen):
            continue
        text = "".join(ch for ch, _ in picks)
        conf = sum(p for _, p in picks) / len(picks)
        if conf < min_conf or min(p for _, p in picks) < 0.3 or not pat.regex.match(text):
            continue
        gain = len(text) * pat.weight * conf
        if best is None or gain > best.gain:
            best = Piece(start, end, text, pat.kind, "", 0.0, gain, tuple(start + k for k, _ in kept))
    return best


def parse(vocab: Vocabulary, reads: Sequence[Alts], min_conf: float, min_match: float = 0.0
          ) -> tuple[float, list[Piece]]:
    """Best split of one read (one token crop, one direction) into known spellings, plausible raw
    tokens and skipped characters (spaces, symbols, noise): a word-break search that does not
    trust the recogniser's spaces (stamped letters are widely spaced)."""
    n = len(reads)
    max_len = vocab.max_key + 2
    costs = _ReadCosts(vocab, reads)
    best: list[float] = [-math.inf] * (n + 1)
    back: list[tuple[int, Piece | None]] = [(0, None)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] == -math.inf:
            continue
        ch, p = reads[i][0]
        skip = 0.0 if ch in _SEPARATORS else (0.1 if ch in _SMALL_MARKS or p < 0.5 else 0.6)
        if best[i] - skip > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] - skip, (i, None)
        if ch in _SEPARATORS:
            continue
        stop = min(n, i + max_len)
        candidates = list(_spelling_pieces(vocab, costs, i, stop, min_match).values())
        for j in range(i + 1, stop + 1):
            raw = _pattern_piece(vocab, reads, i, j, min_conf)
            if raw is not None:
                candidates.append(raw)
        for piece in candidates:
            value = best[i] + piece.gain - _PIECE_COST
            if value > best[piece.end]:
                best[piece.end], back[piece.end] = value, (i, piece)
    pieces: list[Piece] = []
    j = n
    while j > 0:
        i, found = back[j]
        if found is not None:
            pieces.append(found if not found.code else _with_mapping(vocab, reads, found))
        j = i
    pieces.reverse()
    return best[n], pieces


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeadstampToken:
    """A token read round the rim: its line, what it is and what it matched."""

    line: TextLine
    kind: str  # maker, calibre, date, other
    code: str  # the maker code or calibre matched; '' for a read kept as read
    read: str  # the recogniser's own text for the token
    cost: float  # edit cost of the read against ``code``


@dataclass(frozen=True, slots=True)
class HeadstampRead:
    head: Head
    tokens: tuple[HeadstampToken, ...]
    steps: tuple[Step, ...]

    @property
    def lines(self) -> tuple[TextLine, ...]:
        return tuple(t.line for t in self.tokens)

    def covers(self, quad: Quad) -> bool:
        """Whether a line found elsewhere (e.g. by the line detector) lies on this head: its centre
        inside the rim. Such lines are pieces of the circular text read straight, and give way to
        the unrolled reading."""
        xs = [p[0] for p in quad.points]
        ys = [p[1] for p in quad.points]
        return self.head.frac_at(sum(xs) / 4, sum(ys) / 4) <= 1.0

    def merged_with(self, lines: Sequence[TextLine]) -> tuple[TextLine, ...]:
        """``lines`` read elsewhere in the photo, without those on the head, then the tokens."""
        return tuple(line for line in lines if not self.covers(line.quad)) + self.lines


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


@dataclass(frozen=True, slots=True)
class _Cut:
    """Where a token crop came from in the strip: columns [c0, c1) (may pass the width) and rows
    [r0, r1); ``inward`` when it was read turned by 180 degrees."""

    c0: int
    c1: int
    r0: int
    r1: int
    inward: bool

    def column(self, f: float) -> float:
        """Strip column of a point at fraction ``f`` along the crop as read."""
        return self.c1 - f * (self.c1 - self.c0) if self.inward else self.c0 + f * (self.c1 - self.c0)


def _cut_crop(strip: Strip, seg: Segment, text_h: float) -> tuple[np.ndarray, int, int, int, int]:
    pad = max(2, round(0.35 * text_h))
    c0, c1 = seg.start - pad, seg.end + pad
    h = seg.bottom - seg.top
    m = max(2, round(0.3 * max(h, 0.6 * text_h)))
    r0, r1 = max(0, seg.top - m), min(strip.height, seg.bottom + m)
    cols = np.arange(c0, c1) % strip.width
    crop = np.ascontiguousarray(strip.image[r0:r1][:, cols])
    return crop, c0, c1, r0, r1


def _arc_quad(strip: Strip, cut: _Cut, f0: float, f1: float) -> Quad:
    """Oriented box round the arc between crop fractions f0..f1 (as read), in image pixels."""
    a, b = cut.column(f0), cut.column(f1)
    cols = np.linspace(a, b, 9)
    theta = cols * (2 * math.pi / strip.width)
    fr_top, fr_bottom = strip.frac(cut.r1 if cut.inward else cut.r0), strip.frac(cut.r0 if cut.inward else cut.r1)
    xs_t, ys_t = strip.head.point(theta, fr_top)
    xs_b, ys_b = strip.head.point(theta, fr_bottom)
    pts = np.stack([np.concatenate([xs_t, xs_b]), np.concatenate([ys_t, ys_b])], axis=1)
    mid_f = (fr_top + fr_bottom) / 2
    sx, sy = strip.head.point(theta[0], mid_f)
    ex, ey = strip.head.point(theta[-1], mid_f)
    u = np.array([float(ex - sx), float(ey - sy)])
    norm = float(np.hypot(u[0], u[1]))
    if norm < 1e-6:  # a single column: read along the tangent
        t = float(theta[0])
        u = np.array([-math.sin(t), math.cos(t)]) * (-1 if cut.inward else 1)
        norm = 1.0
    u /= norm
    n = np.array([-u[1], u[0]])
    pu, pn = pts @ u, pts @ n
    u0, u1, n0, n1 = pu.min(), pu.max(), pn.min(), pn.max()
    corners = [u0 * u + n0 * n, u1 * u + n0 * n, u1 * u + n1 * n, u0 * u + n1 * n]
    return Quad.from_points([(float(c[0]), float(c[1])) for c in corners])


def _piece_chars(piece: Piece, reads: Sequence[Alts], spans: Sequence[tuple[float, float]], top_k: int
                 ) -> tuple[tuple[CharChoice, ...], float, float]:
    """Character choices for a piece's text (dictionary spelling first, the read's alternatives
    after it) and the crop fractions the piece covers."""
    pos = [p for p in piece.mapping if p is not None] or list(range(piece.start, piece.end))
    f0 = min(spans[p][0] for p in pos)
    f1 = max(spans[p][1] for p in pos)
    width = max(f1 - f0, 1e-6)
    chars: list[CharChoice] = []
    for t, ch in enumerate(piece.text):
        p = piece.mapping[t] if t < len(piece.mapping) else None
        if p is None:
            # nearest aligned neighbours give the place of a character the read lost
            left = [piece.mapping[k] for k in range(t - 1, -1, -1) if piece.mapping[k] is not None]
            right = [piece.mapping[k] for k in range(t + 1, len(piece.mapping)) if piece.mapping[k] is not None]
            a = spans[left[0]][1] if left and left[0] is not None else f0
            b = spans[right[0]][0] if right and right[0] is not None else f1
            span = ((a - f0) / width, (max(a, b) - f0) / width)
            chars.append(CharChoice(((ch, 0.5),), (round(span[0], 4), round(span[1], 4))))
            continue
        alts = reads[p]
        span = ((spans[p][0] - f0) / width, (spans[p][1] - f0) / width)
        if alts[0][0] == ch:
            choice = alts
        else:
            p_ch = max((q for c, q in alts if c == ch), default=0.0)
            assigned = max(p_ch, 0.5 * alts[0][1])
            rest = [(c, q) for c, q in alts if c != ch]
            total = sum(q for _, q in rest)
            scale = min(1.0, (1.0 - assigned) / total) if total > 0 else 1.0
            choice = ((ch, round(assigned, 4)), *((c, round(q * scale, 4)) for c, q in rest))
        chars.append(CharChoice(tuple(choice[:max(1, top_k)]), (round(span[0], 4), round(span[1], 4))))
    return tuple(chars), f0, f1


def _groups(segs: Sequence[Segment], width: int, text_h: float, cfg: HeadstampConfig
            ) -> tuple[list[Segment], list[tuple[int, int]]]:
    """Segments in reading order starting after the widest gap (no token spans it), and the runs
    [i, j) of consecutive segments that may be one token (gaps below ``merge_heights``)."""
    order = sorted(segs, key=lambda s: s.start)
    n = len(order)
    if n == 0:
        return [], []
    gaps = [(order[(i + 1) % n].start - order[i].end) % width if n > 1 else width for i in range(n)]
    first = (int(np.argmax(gaps)) + 1) % n
    seq = order[first:] + order[:first]
    # unwrap columns so that they increase along the sequence
    out: list[Segment] = []
    offset = 0
    for k, sg in enumerate(seq):
        if k and sg.start + offset < out[-1].start:
            offset += width
        out.append(Segment(sg.start + offset, sg.end + offset, sg.top, sg.bottom, sg.ink))
    limit = cfg.merge_heights * text_h
    runs = [(i, i + 1) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, min(n, i + cfg.max_merge) + 1):
            if out[j - 1].start - out[j - 2].end > limit:
                break
            runs.append((i, j))
    return out, runs


def _merged(segs: Sequence[Segment]) -> Segment:
    return Segment(segs[0].start, segs[-1].end, min(s.top for s in segs), max(s.bottom for s in segs),
                   max(s.ink for s in segs))


@dataclass(frozen=True, slots=True)
class _Reading:
    gain: float
    pieces: list[Piece]
    reads: list[Alts]
    spans: list[tuple[float, float]]
    cut: _Cut


def _lowness(strip: Strip, cut: _Cut) -> float:
    """Where the crop lies round the head in the photo: +1 straight below the centre, -1 above."""
    col = (cut.c0 + cut.c1) / 2
    x, y = strip.head.point(col * (2 * math.pi / strip.width), 1.0)
    dx, dy = float(x) - strip.head.cx, float(y) - strip.head.cy
    return dy / max(math.hypot(dx, dy), 1e-6)


def _upright_convention(strip: Strip, options: Mapping[tuple[int, int], tuple[_Reading, _Reading]]) -> bool:
    """Headstamps follow one convention: every token faces outwards, or those in the lower half
    face inwards (upright for a person holding the case). Single segments below the centre that
    read clearly better one way decide which; True for the second."""
    evidence = 0.0
    for (i, j), (out, inn) in options.items():
        low = _lowness(strip, out.cut)
        if j == i + 1 and low > 0.3:
            evidence += (inn.gain - out.gain) * low
    return evidence >= 0


def _pick_direction(strip: Strip, out: _Reading, inn: _Reading, upright: bool, prior: float) -> _Reading:
    """The better of the two readings of a crop, the convention breaking near-ties (0, 1 and 8
    look the same turned round; 6 and 9 swap)."""
    low = _lowness(strip, out.cut)
    expect_inward = upright and low > 0
    weight = min(1.0, abs(low) / 0.3) if upright else 1.0
    g_out = out.gain + (0.0 if expect_inward else prior * weight) if out.pieces else out.gain
    g_in = inn.gain + (prior * weight if expect_inward else 0.0) if inn.pieces else inn.gain
    pick = out if g_out >= g_in else inn
    return _Reading(max(g_out, g_in), pick.pieces, pick.reads, pick.spans, pick.cut)


def _settled(reading: _Reading) -> bool:
    """A crop read as one known token of three or more characters, with nothing left over: no
    need to try it together with its neighbours."""
    if len(reading.pieces) != 1:
        return False
    piece = reading.pieces[0]
    used = sum(1 for a in reading.reads[piece.start : piece.end] if a[0][0] not in _SEPARATORS)
    total = sum(1 for a in reading.reads if a[0][0] not in _SEPARATORS)
    return bool(piece.code) and len(_key(piece.text)) >= 3 and used == total and piece.cost <= 0.35


def _read_runs(strip: Strip, seq: Sequence[Segment], runs: Sequence[tuple[int, int]], text_h: float,
               recognizer: Recognizer, vocab: Vocabulary, cfg: HeadstampConfig, top_k: int, temperature: float
               ) -> dict[tuple[int, int], tuple[_Reading, _Reading]]:
    """Each run of segments cut out and read outward and turned round, and parsed."""
    crops: list[np.ndarray] = []
    cuts: list[_Cut] = []
    for i, j in runs:
        crop, c0, c1, r0, r1 = _cut_crop(strip, _merged(seq[i:j]), text_h)
        crops += [crop, np.ascontiguousarray(crop[::-1, ::-1])]
        cuts += [_Cut(c0, c1, r0, r1, False), _Cut(c0, c1, r0, r1, True)]
    decoded = recognizer.recognize(crops, top_k=top_k, temperature=temperature) if crops else []
    options: dict[tuple[int, int], tuple[_Reading, _Reading]] = {}
    for r, run in enumerate(runs):
        pair: list[_Reading] = []
        for dec, cut in ((decoded[2 * r], cuts[2 * r]), (decoded[2 * r + 1], cuts[2 * r + 1])):
            reads = [c.alternatives for c in dec.chars]
            gain, pieces = parse(vocab, reads, cfg.min_token_conf, cfg.min_match_conf)
            pair.append(_Reading(gain, pieces, reads, [c.span for c in dec.chars], cut))
        options[run] = (pair[0], pair[1])
    return options


def read_headstamp(
    bgr: np.ndarray,
    recognizer: Recognizer,
    top_k: int = 5,
    temperature: float = 2.0,
    config: HeadstampConfig | None = None,
    vocabulary: Vocabulary | None = None,
) -> HeadstampRead | None:
    """Read the headstamp in a photo, or None when the photo shows no cartridge head or nothing
    legible on it. ``recognizer`` reads upright line crops (``TextRecognizer``)."""
    cfg = config or HeadstampConfig()
    vocab = vocabulary or default_vocabulary()
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    steps: list[Step] = []
    t0 = time.perf_counter()
    heads = find_heads(bgr, cfg)
    if not heads:
        return None
    head = heads[0]
    steps.append(Step("headstamp_find", _ms(t0), (
        ("detect_side", str(cfg.detect_side)), ("heads", str(len(heads))),
        ("rim", f"{head.cx:.1f},{head.cy:.1f} axes {head.a:.1f}x{head.b:.1f} at {head.angle:.1f} deg"),
        ("primer", f"{head.primer:.3f}"), ("rim_support", f"{head.rim_support:.2f}"),
        ("primer_support", f"{head.primer_support:.2f}"),
    )))

    t0 = time.perf_counter()
    strip = unroll(bgr, head, cfg)
    segs, text_h = segment(strip, cfg)
    segs = sorted(segs, key=lambda s: -s.ink)[: cfg.max_segments]
    seq, runs = _groups(segs, strip.width, text_h, cfg)
    steps.append(Step("headstamp_unroll", _ms(t0), (
        ("band", f"{strip.inner:.2f}-{strip.outer:.2f} of the rim radius"),
        ("strip", f"{strip.width}x{strip.height}"), ("segments", str(len(seq))),
        ("text_height", f"{text_h:.0f}"), ("gap_heights", str(cfg.gap_heights)),
        ("merge_heights", str(cfg.merge_heights)),
    )))
    if not seq:
        return None

    t0 = time.perf_counter()
    singles = [r for r in runs if r[1] == r[0] + 1]
    options = _read_runs(strip, seq, singles, text_h, recognizer, vocab, cfg, top_k, temperature)
    upright = _upright_convention(strip, options)
    readings = {run: _pick_direction(strip, out, inn, upright, cfg.upright_prior)
                for run, (out, inn) in options.items()}
    # runs of neighbours are read together only when some of them are not settled on their own
    merges = [r for r in runs if r[1] > r[0] + 1
              and sum(not _settled(readings[(k, k + 1)]) for k in range(r[0], r[1])) >= r[1] - r[0] - 1
              and not all(_settled(readings[(k, k + 1)]) for k in range(r[0], r[1]))]
    more = _read_runs(strip, seq, merges, text_h, recognizer, vocab, cfg, top_k, temperature)
    for run, (out, inn) in more.items():
        readings[run] = _pick_direction(strip, out, inn, upright, cfg.upright_prior)
    steps.append(Step("headstamp_recognise", _ms(t0), (
        ("crops", str(2 * (len(singles) + len(merges)))), ("merged_runs", str(len(merges))),
        ("directions", "outward and inward (turned 180 degrees)"),
        ("convention", "lower half inwards" if upright else "all outwards"),
        ("top_k", str(top_k)), ("temperature", str(temperature)),
    )))

    t0 = time.perf_counter()
    # which segments are read together: the partition with the largest total gain
    n = len(seq)
    limit = cfg.merge_heights * text_h
    best = [0.0] + [-math.inf] * n
    choice: list[tuple[int, int] | None] = [None] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            got = readings.get((i, j))
            if got is None:
                continue
            # neighbours closer than a token gap lean towards one token (a wide-set "VIII")
            value = best[i] + got.gain + sum(
                cfg.merge_bonus * (1.0 - (seq[k + 1].start - seq[k].end) / limit) - 0.01 for k in range(i, j - 1))
            if value > best[j]:
                best[j], choice[j] = value, (i, j)
    chosen: list[_Reading] = []
    j = n
    while j > 0:
        picked = choice[j]
        if picked is None:
            break
        chosen.append(readings[picked])
        j = picked[0]
    chosen.reverse()

    tokens: list[HeadstampToken] = []
    for reading in chosen:
        for piece in reading.pieces:
            chars, f0, f1 = _piece_chars(piece, reading.reads, reading.spans, top_k)
            part = reading.reads[piece.start : piece.end]
            read_text = "".join(a[0][0] for a in part)
            conf = _mean_p(part) * (1.0 - piece.cost / max(len(_key(piece.text)), 1))
            if piece.code and conf < cfg.min_match_conf:
                continue
            line = TextLine(piece.text, round(conf, 4), _arc_quad(strip, reading.cut, f0, f1), chars, VARIANT,
                            180 if reading.cut.inward else 0)
            tokens.append(HeadstampToken(line, piece.kind, piece.code, read_text, piece.cost))
    matched = sum(1 for t in tokens if t.code)
    steps.append(Step("headstamp_match", _ms(t0), (
        ("vocabulary", "vision/data/headstamps.json"), ("matched", str(matched)),
        ("kept_as_read", str(len(tokens) - matched)), ("min_token_conf", str(cfg.min_token_conf)),
        ("min_match_conf", str(cfg.min_match_conf)),
    )))
    # one stray character is no evidence of a headstamp (nor worth reporting as one)
    if not any(t.code or len(_key(t.line.text)) >= 2 for t in tokens):
        return None
    return HeadstampRead(head, tuple(tokens), tuple(steps))
