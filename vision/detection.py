"""Text detection: PP-OCR's DB detector run on a reduced copy, regions returned as quads
in the pixels of the full-resolution image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from models.registry import OnnxModel
from vision.geometry import scale_quad, text_order
from vision.types import Quad


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    max_side: int = 1280  # long side of the reduced copy for large photos
    min_short_side: int = 736  # small photos are enlarged until the short side reaches this
    thresh: float = 0.3  # probability for a pixel to be text
    box_thresh: float = 0.5  # mean probability inside a region to keep it
    unclip_ratio: float = 1.6  # how far a region is grown around its shrunk core
    min_size: float = 3.0  # smallest region side, in reduced-copy pixels
    max_candidates: int = 1000
    # Second pass for small marks in large photos: tiles of the photo seen ``tile_zoom`` times larger
    # than in the first pass, overlapping by ``tile_overlap`` of their size.
    tile_zoom: float = 2.0
    tile_overlap: float = 0.15


@dataclass(frozen=True, slots=True)
class Region:
    quad: Quad  # in full-resolution pixels
    score: float


def reduced_size(width: int, height: int, cfg: DetectorConfig) -> tuple[int, int]:
    """Size (w, h), multiples of 32, of the copy the detector sees."""
    long_side, short_side = max(width, height), min(width, height)
    scale = min(1.0, cfg.max_side / long_side)
    if short_side * scale < cfg.min_short_side:
        scale = min(cfg.min_short_side / short_side, cfg.max_side / long_side) if long_side < cfg.max_side \
            else scale
    w = max(32, round(width * scale / 32) * 32)
    h = max(32, round(height * scale / 32) * 32)
    return w, h


class TextDetector:
    def __init__(self, model: OnnxModel, config: DetectorConfig | None = None) -> None:
        self.model = model
        self.config = config or DetectorConfig()

    def detect(self, bgr: np.ndarray, config: DetectorConfig | None = None) -> list[Region]:
        cfg = config or self.config
        height, width = bgr.shape[:2]
        rw, rh = reduced_size(width, height, cfg)
        return self._detect_at(bgr, rw, rh, cfg)

    def reduce(self, bgr: np.ndarray, config: DetectorConfig | None = None) -> np.ndarray:
        """The copy of the photo the detector sees (size from :func:`reduced_size`)."""
        cfg = config or self.config
        height, width = bgr.shape[:2]
        rw, rh = reduced_size(width, height, cfg)
        interp = cv2.INTER_AREA if rw < width else cv2.INTER_LINEAR
        small: np.ndarray = cv2.resize(bgr, (rw, rh), interpolation=interp)
        return small

    def detect_reduced(
        self, small: np.ndarray, full_size: tuple[int, int], config: DetectorConfig | None = None
    ) -> list[Region]:
        """Detect on a copy made by :meth:`reduce` (or an enhanced version of it); regions in the
        pixels of the full-resolution photo of ``full_size`` (width, height)."""
        cfg = config or self.config
        rh, rw = small.shape[:2]
        width, height = full_size
        regions = [Region(scale_quad(r.quad, width / rw, height / rh), r.score)
                   for r in self._detect_at(small, rw, rh, cfg)]
        regions.sort(key=lambda r: (round(r.quad.bounds()[1] / 16), r.quad.bounds()[0]))  # reading order
        return regions

    def _detect_at(self, bgr: np.ndarray, rw: int, rh: int, cfg: DetectorConfig) -> list[Region]:
        height, width = bgr.shape[:2]
        if (width, height) == (rw, rh):
            small = bgr
        else:
            interp = cv2.INTER_AREA if rw < width else cv2.INTER_LINEAR
            small = cv2.resize(bgr, (rw, rh), interpolation=interp)
        x = (small.astype(np.float32) / 255.0 - 0.5) / 0.5
        x = x.transpose(2, 0, 1)[None]
        prob = self.model.run(np.ascontiguousarray(x))[0, 0]
        return regions_from_probability(prob, width / rw, height / rh, cfg)

    def tile_grid(self, width: int, height: int, cfg: DetectorConfig) -> list[tuple[int, int, int, int]]:
        """Tiles (x0, y0, x1, y1) in full-resolution pixels for the second pass: enough tiles that
        each, enlarged ``tile_zoom`` times relative to the first pass, stays within ``max_side``."""
        rw, _ = reduced_size(width, height, cfg)
        zoom_scale = min(1.0, rw / width * cfg.tile_zoom)
        nx = max(1, math.ceil(width * zoom_scale / cfg.max_side))
        ny = max(1, math.ceil(height * zoom_scale / cfg.max_side))
        tw = min(width, math.ceil(width / nx * (1 + cfg.tile_overlap))) if nx > 1 else width
        th = min(height, math.ceil(height / ny * (1 + cfg.tile_overlap))) if ny > 1 else height
        xs = [round(i * (width - tw) / (nx - 1)) for i in range(nx)] if nx > 1 else [0]
        ys = [round(j * (height - th) / (ny - 1)) for j in range(ny)] if ny > 1 else [0]
        return [(x0, y0, x0 + tw, y0 + th) for y0 in ys for x0 in xs]

    def refine(
        self, bgr: np.ndarray, regions: list[Region], det_scale: float,
        config: DetectorConfig | None = None, refine: RefineConfig | None = None,
    ) -> tuple[list[Region], int]:
        """``regions`` (found on a copy reduced by ``det_scale``) with each small one detected
        again up close (:class:`RefineConfig`): the regions found in its window that overlap it
        replace it and the other small regions they overlap (pieces of the same line found
        apart), and those that overlap no region join them. Returns the regions and how many were
        looked at again."""
        cfg = config or self.config
        rc = refine or RefineConfig()
        height, width = bgr.shape[:2]
        kept = list(regions)
        looked = 0
        for region in regions:
            line_h = region.quad.height
            if line_h <= 0 or line_h * det_scale >= rc.below or not any(k is region for k in kept):
                continue
            scale = min(1.0, rc.target / line_h)
            x0, y0, x1, y1 = _window(region.quad, rc.reach, width, height)
            # the window as the detector sees it stays within max_side
            scale = min(scale, cfg.max_side / max(1, x1 - x0), cfg.max_side / max(1, y1 - y0))
            if scale < rc.min_zoom * det_scale:
                continue
            looked += 1
            ww = max(32, round((x1 - x0) * scale / 32) * 32)
            wh = max(32, round((y1 - y0) * scale / 32) * 32)
            found = [Region(Quad.from_points([(x + x0, y + y0) for x, y in r.quad.points]), r.score)
                     for r in self._detect_at(bgr[y0:y1, x0:x1], ww, wh, cfg)]
            same = [r for r in found if overlapping(r.quad, region.quad)]
            if not same:
                continue  # seen up close there is no line: keep what the first look found
            # the line seen up close replaces it and the small pieces of it found apart
            kept = [k for k in kept if k is not region and not (
                k.quad.height * det_scale < rc.below and any(overlapping(k.quad, r.quad) for r in same))]
            kept = merge_regions(kept, same)
            kept = merge_regions(kept, [r for r in found if not any(r is x for x in same)])
        kept.sort(key=lambda r: (round(r.quad.bounds()[1] / 16), r.quad.bounds()[0]))
        return kept, looked

    def detect_tiles(self, bgr: np.ndarray, config: DetectorConfig | None = None) -> list[Region]:
        """Second pass: detect on overlapping tiles seen larger than in the first pass, so that
        marks a few pixels high in the reduced copy are found; duplicates across tiles merged."""
        cfg = config or self.config
        height, width = bgr.shape[:2]
        rw, _ = reduced_size(width, height, cfg)
        zoom_scale = min(1.0, rw / width * cfg.tile_zoom)
        found: list[Region] = []
        for x0, y0, x1, y1 in self.tile_grid(width, height, cfg):
            tile = bgr[y0:y1, x0:x1]
            tw = max(32, round((x1 - x0) * zoom_scale / 32) * 32)
            th = max(32, round((y1 - y0) * zoom_scale / 32) * 32)
            for r in self._detect_at(tile, tw, th, cfg):
                found.append(Region(Quad.from_points([(x + x0, y + y0) for x, y in r.quad.points]), r.score))
        return merge_regions([], found)


@dataclass(frozen=True, slots=True)
class RefineConfig:
    """Small lines of a large photo, seen again up close. In a 12 MP photo reduced to 1280 pixels
    a serial 40 pixels high is 13 pixels high for the detector, and 26 in the tiles of the second
    pass: found, but its box is loose and often ends inside the line (a prefix or the last
    characters are lost); the detector draws lines 30-50 pixels high best. Each region under
    ``below`` pixels high in the reduced copy is detected again in a window of the photo around it,
    reaching ``reach`` line heights beyond it on every side, at the scale that makes the line
    ``target`` pixels high (never above the photo's own pixels)."""

    below: float = 24.0
    target: float = 40.0
    reach: float = 12.0
    min_zoom: float = 1.5  # nothing to gain from a window seen less than this much larger


def _window(quad: Quad, reach: float, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = quad.bounds()
    pad = reach * quad.height
    return (max(0, math.floor(x0 - pad)), max(0, math.floor(y0 - pad)),
            min(width, math.ceil(x1 + pad)), min(height, math.ceil(y1 + pad)))


def _contains_centre(outer: Quad, inner: Quad) -> bool:
    cx = sum(p[0] for p in inner.points) / 4
    cy = sum(p[1] for p in inner.points) / 4
    contour = np.array(outer.points, dtype=np.float32).reshape(-1, 1, 2)
    return bool(cv2.pointPolygonTest(contour, (cx, cy), False) >= 0)


def overlapping(a: Quad, b: Quad) -> bool:
    """One quad's centre lies inside the other."""
    return _contains_centre(a, b) or _contains_centre(b, a)


@dataclass(frozen=True, slots=True)
class CoarseRegion:
    """When a region is not a line of text but a patch: textured backgrounds (sand, cloth, cast or
    blasted metal) give the detector a blob around the marking, many lines high and about as tall
    as it is long, which swallows the lines inside it. Such a region is read as one or two
    characters of nonsense, and it hid the lines a closer look found inside it."""

    min_height: float = 0.2  # of the photo's short side
    max_aspect: float = 3.0  # length over height
    finer: float = 2.5  # a region this many times lower inside it is one of its lines

    def __call__(self, region: Region, image_size: tuple[int, int]) -> bool:
        q = region.quad
        short = max(1.0, float(min(image_size)))
        return q.height >= self.min_height * short and q.width < self.max_aspect * q.height


COARSE = CoarseRegion()


def merge_regions(primary: list[Region], extra: list[Region],
                  image_size: tuple[int, int] | None = None) -> list[Region]:
    """``primary`` plus the regions of ``extra`` that overlap none already kept (one region's
    centre inside the other), larger extra regions first (a line cut by a tile edge loses to
    the whole line from the neighbouring tile). With ``image_size`` (width, height), a kept region
    that is a coarse patch (:class:`CoarseRegion`) gives way to the lines found inside it."""
    kept = list(primary)
    for r in sorted(extra, key=lambda r: -(r.quad.width * r.quad.height)):
        clash = [k for k in kept if _contains_centre(k.quad, r.quad) or _contains_centre(r.quad, k.quad)]
        if clash and image_size is not None and all(
            COARSE(k, image_size) and k.quad.height > COARSE.finer * r.quad.height for k in clash
        ):
            kept = [k for k in kept if not any(k is c for c in clash)]
            clash = []
        if not clash:
            kept.append(r)
    kept.sort(key=lambda r: (round(r.quad.bounds()[1] / 16), r.quad.bounds()[0]))
    return kept


def _region_score(prob: np.ndarray, polygon: np.ndarray) -> float:
    """Mean text probability inside the region's own outline (not its bounding box, whose
    corners and inter-word gaps would dilute the score of a thin or sparse line)."""
    box = polygon.reshape(-1, 2).astype(np.float64)
    h, w = prob.shape
    xmin = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = (box - np.array([xmin, ymin])).round().astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(prob[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def regions_from_probability(
    prob: np.ndarray, scale_x: float, scale_y: float, cfg: DetectorConfig
) -> list[Region]:
    """DB post-processing: threshold, contours, rotated boxes grown by the unclip ratio."""
    bitmap = cv2.dilate((prob > cfg.thresh).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    regions: list[Region] = []
    for contour in contours[: cfg.max_candidates]:
        rect = cv2.minAreaRect(contour)
        (cx, cy), (rw, rh), angle = rect
        if min(rw, rh) < cfg.min_size:
            continue
        score = _region_score(prob, contour)
        if score < cfg.box_thresh:
            continue
        # Grow the shrunk text core back to the text's extent: offset = area * ratio / perimeter.
        distance = rw * rh * cfg.unclip_ratio / (2 * (rw + rh))
        grown = ((cx, cy), (rw + 2 * distance, rh + 2 * distance), angle)
        if min(grown[1]) < cfg.min_size + 2:
            continue
        pts = text_order(cv2.boxPoints(grown))
        pts[:, 0] = np.clip(pts[:, 0] * scale_x, 0, prob.shape[1] * scale_x)
        pts[:, 1] = np.clip(pts[:, 1] * scale_y, 0, prob.shape[0] * scale_y)
        regions.append(Region(Quad.from_points(pts.tolist()), score))
    # reading order: top to bottom, then left to right
    regions.sort(key=lambda r: (round(r.quad.bounds()[1] / 16), r.quad.bounds()[0]))
    return regions


@dataclass(frozen=True, slots=True)
class LineGrouping:
    """When neighbouring regions are one line: widely spaced stamped characters and words are
    often found as separate regions; a serial cut in two loses its prefix."""

    max_gap: float = 1.0  # gap along the line, in line heights
    max_offset: float = 0.35  # offset across the line between the two centre lines, in line heights
    min_height_ratio: float = 0.65  # smaller over larger line height
    max_angle: float = 8.0  # degrees between the two lines' directions


def _frame(q: Quad) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    p = np.asarray(q.points, dtype=np.float64)
    u = (p[1] - p[0]) + (p[2] - p[3])
    u /= max(float(np.hypot(u[0], u[1])), 1e-9)
    n = np.array([-u[1], u[0]])
    return p, u, n, q.height


def _joinable(a: Quad, b: Quad, g: LineGrouping) -> bool:
    pa, ua, na, ha = _frame(a)
    pb, ub, _nb, hb = _frame(b)
    if min(ha, hb) < g.min_height_ratio * max(ha, hb):
        return False
    if float(np.dot(ua, ub)) < math.cos(math.radians(g.max_angle)):
        return False
    h = (ha + hb) / 2
    if abs(float(np.dot(pb.mean(axis=0) - pa.mean(axis=0), na))) > g.max_offset * h:
        return False
    sa, sb = pa @ ua, pb @ ua
    gap = max(float(sb.min() - sa.max()), float(sa.min() - sb.max()))
    return gap <= g.max_gap * h


def _joined(regions: list[Region]) -> Region:
    pts = np.concatenate([np.asarray(r.quad.points, dtype=np.float64) for r in regions])
    weights = [r.quad.width for r in regions]
    u = sum(w * _frame(r.quad)[1] for w, r in zip(weights, regions, strict=True))
    u = np.asarray(u, dtype=np.float64)
    u /= max(float(np.hypot(u[0], u[1])), 1e-9)
    n = np.array([-u[1], u[0]])
    s, t = pts @ u, pts @ n
    corners = [u * s.min() + n * t.min(), u * s.max() + n * t.min(), u * s.max() + n * t.max(),
               u * s.min() + n * t.max()]
    score = sum(r.score * w for r, w in zip(regions, weights, strict=True)) / max(sum(weights), 1e-9)
    return Region(Quad.from_points([(float(x), float(y)) for x, y in corners]), score)


def group_lines(regions: list[Region], grouping: LineGrouping | None = None) -> list[Region]:
    """Join regions that continue one another along one line (same direction and height, centre
    lines aligned, a gap of at most ``max_gap`` line heights) into one region."""
    g = grouping or LineGrouping()
    parent = list(range(len(regions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(regions)):
        for j in range(i + 1, len(regions)):
            if find(i) != find(j) and _joinable(regions[i].quad, regions[j].quad, g):
                parent[find(j)] = find(i)
    groups: dict[int, list[Region]] = {}
    for i, r in enumerate(regions):
        groups.setdefault(find(i), []).append(r)
    out = [members[0] if len(members) == 1 else _joined(members) for members in groups.values()]
    out.sort(key=lambda r: (round(r.quad.bounds()[1] / 16), r.quad.bounds()[0]))
    return out
