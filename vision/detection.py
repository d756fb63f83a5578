"""Text detection: PP-OCR's DB detector run on a reduced copy, regions returned as quads
in the pixels of the full-resolution image."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.registry import OnnxModel
from vision.geometry import text_order
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
        interp = cv2.INTER_AREA if rw < width else cv2.INTER_LINEAR
        small = cv2.resize(bgr, (rw, rh), interpolation=interp)
        x = (small.astype(np.float32) / 255.0 - 0.5) / 0.5
        x = x.transpose(2, 0, 1)[None]
        prob = self.model.run(np.ascontiguousarray(x))[0, 0]
        return regions_from_probability(prob, width / rw, height / rh, cfg)


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
