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
4. *Segment*: tokens are runs of ink along the angle separated by gaps wider than about a
   character height; each is cut out (wrapping round the seam) and read in both directions.
5. *Match*: each read is matched against known headstamp codes and calibres
   (``vision/data/headstamps.json``) with a look-alike-aware distance that uses the recogniser's
   own alternatives; a match is reported in its dictionary spelling (Cyrillic codes in Cyrillic),
   anything else is kept as read when it is confident and plausible (years, numbers, letters).

Coordinates of the returned lines are in pixels of the image passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from vision.ctc import DecodedText

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
    # --- unrolling ---
    work_radius: int = 240  # rim radius, in pixels, of the copy the band is unrolled from
    band_outer: float = 0.97  # outer edge of the unrolled band (of the rim radius)
    band_inner_min: float = 0.42  # the band starts just outside the primer, but not nearer the centre
    # --- segmentation and reading ---
    gap_heights: float = 0.8  # a gap wider than this many band heights x 0.5 separates tokens
    max_token_arc: float = 200.0  # degrees; wider runs are split at their weakest column
    min_token_conf: float = 0.55  # recogniser confidence needed to keep an unmatched read
    min_match_score: float = 0.5
    max_tokens: int = 8


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
            if checked is not None:
                heads.append(crop.to_image(checked))
                break
    heads.sort(key=lambda h: -(h.rim_support + h.primer_support))
    return heads
