"""Enhancement operators for line crops of metal markings.

Each operator is a pure function ``(crop, params) -> image``: it never changes its input, returns
a new 3-channel uint8 image of the same size, and takes its parameters as a frozen dataclass whose
values are recorded in the provenance (:func:`describe`). Sizes are relative to the crop's height
(about the character height), so the operators behave the same on a 20 px and a 160 px line.

Why each exists (the ablation in benchmarks/README.md says which earn their place by default):
- ``flatten``: uneven light across a line (side light on a curved barrel, a shadow) is divided out.
- ``clahe``: local contrast for shallow relief and worn marks.
- ``deglare``: specular highlights on polished metal are clipped to the local background level.
- ``relief``: stamped and engraved strokes under side light are a shadow beside a highlight; the
  morphological top-hat and black-hat keep both and turn them into one dark stroke on light.
- ``join_dots``: dot-peen characters are rows of separate dots; growing the ink joins them into
  strokes the recogniser was trained on.
- ``invert``: the other polarity (light characters on a dark ground, e.g. laser on anodised).
- ``sharpen``: unsharp masking for soft (defocused or enlarged) crops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np


def _gray(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img
    out: np.ndarray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return out


def _bgr(gray: np.ndarray) -> np.ndarray:
    out: np.ndarray = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    return out


def _odd(n: float, minimum: int = 3) -> int:
    k = max(minimum, round(n))
    return k if k % 2 else k + 1


def stretch(gray: np.ndarray, low: float = 1.0, high: float = 99.0) -> np.ndarray:
    """Percentile contrast stretch of a grey image to 0..255 (uint8)."""
    f = gray.astype(np.float32)
    lo, hi = (float(v) for v in np.percentile(f, (low, high)))
    if hi - lo < 1e-3:
        same: np.ndarray = gray.astype(np.uint8)
        return same.copy()
    out: np.ndarray = np.clip((f - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
    return out


def ink_is_dark(gray: np.ndarray) -> bool:
    """Whether the characters are darker than their ground: Otsu splits the crop, and the ink is
    the smaller class (characters cover less of a line crop than the ground around them)."""
    _t, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = float(np.count_nonzero(mask)) / max(mask.size, 1)
    return bright >= 0.5


@dataclass(frozen=True, slots=True)
class FlattenParams:
    sigma: float = 1.0  # background blur, in crop heights


def flatten(img: np.ndarray, p: FlattenParams = FlattenParams()) -> np.ndarray:
    gray = _gray(img).astype(np.float32) + 1.0
    sigma = max(1.0, p.sigma * img.shape[0])
    background = cv2.GaussianBlur(gray, (0, 0), sigma)
    ratio = gray / np.maximum(background, 1.0)
    return _bgr(stretch(ratio))


@dataclass(frozen=True, slots=True)
class ClaheParams:
    clip: float = 2.0
    tiles: int = 4  # tiles along the line; one across it


def clahe(img: np.ndarray, p: ClaheParams = ClaheParams()) -> np.ndarray:
    gray = stretch(_gray(img))
    ratio = img.shape[1] / max(img.shape[0], 1)
    cols = max(1, min(16, round(p.tiles * max(1.0, ratio / 4))))
    op = cv2.createCLAHE(clipLimit=p.clip, tileGridSize=(cols, 1))
    return _bgr(op.apply(gray))


@dataclass(frozen=True, slots=True)
class DeglareParams:
    percentile: float = 90.0  # highlights above this local level are clipped to it
    window: float = 1.5  # neighbourhood, in crop heights


def deglare(img: np.ndarray, p: DeglareParams = DeglareParams()) -> np.ndarray:
    gray = _gray(img).astype(np.float32)
    k = _odd(p.window * img.shape[0])
    # a smooth upper envelope of the ground; specular spots stand far above it
    level = float(np.percentile(gray, p.percentile))
    local = cv2.blur(gray, (k, k))
    ceiling = np.minimum(np.maximum(local, 1.0) * 1.15, level)
    clipped = np.minimum(gray, np.maximum(ceiling, local))
    return _bgr(stretch(clipped))


@dataclass(frozen=True, slots=True)
class ReliefParams:
    kernel: float = 0.35  # structuring element, in crop heights (wider than a stroke)


def relief(img: np.ndarray, p: ReliefParams = ReliefParams()) -> np.ndarray:
    gray = _gray(img)
    k = _odd(p.kernel * img.shape[0])
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    top = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, se).astype(np.float32)
    black = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, se).astype(np.float32)
    strokes = cv2.GaussianBlur(top + black, (0, 0), max(0.6, img.shape[0] / 48))
    return _bgr(255 - stretch(strokes, 5.0, 99.5))


@dataclass(frozen=True, slots=True)
class JoinDotsParams:
    radius: float = 0.06  # growth of the ink, in crop heights (about half the gap between dots)


def join_dots(img: np.ndarray, p: JoinDotsParams = JoinDotsParams()) -> np.ndarray:
    gray = stretch(_gray(img))
    dark = ink_is_dark(gray)
    ink = 255 - gray if dark else gray
    k = _odd(2 * p.radius * img.shape[0] + 1)
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    grown = cv2.dilate(ink, se)
    grown = cv2.GaussianBlur(grown, (0, 0), max(0.6, k / 3))
    out = 255 - grown if dark else grown
    return _bgr(stretch(out))


@dataclass(frozen=True, slots=True)
class InvertParams:
    pass


def invert(img: np.ndarray, p: InvertParams = InvertParams()) -> np.ndarray:
    return _bgr(255 - stretch(_gray(img)))


@dataclass(frozen=True, slots=True)
class SharpenParams:
    sigma: float = 0.04  # blur of the unsharp mask, in crop heights
    amount: float = 1.0


def sharpen(img: np.ndarray, p: SharpenParams = SharpenParams()) -> np.ndarray:
    gray = _gray(img).astype(np.float32)
    blur = cv2.GaussianBlur(gray, (0, 0), max(0.5, p.sigma * img.shape[0]))
    out = np.clip(gray + p.amount * (gray - blur), 0, 255)
    return _bgr(stretch(out))


@dataclass(frozen=True, slots=True)
class FlattenPhotoParams:
    sigma: float = 1 / 40  # background blur, as a share of the photo's long side


def flatten_photo(img: np.ndarray, p: FlattenPhotoParams = FlattenPhotoParams()) -> np.ndarray:
    """A whole photo with its illumination divided out (for detection, not for reading): shallow
    relief under uneven side light becomes a contrast the text detector responds to."""
    grey = _gray(img).astype(np.float32) + 1.0
    background = cv2.GaussianBlur(grey, (0, 0), max(1.0, p.sigma * max(img.shape[:2])))
    return _bgr(stretch(grey / background))


Operator = Callable[[np.ndarray, Any], np.ndarray]

OPERATORS: dict[str, tuple[Operator, Any]] = {
    "flatten": (flatten, FlattenParams()),
    "clahe": (clahe, ClaheParams()),
    "deglare": (deglare, DeglareParams()),
    "relief": (relief, ReliefParams()),
    "join_dots": (join_dots, JoinDotsParams()),
    "invert": (invert, InvertParams()),
    "sharpen": (sharpen, SharpenParams()),
}


@dataclass(frozen=True, slots=True)
class Variant:
    """A named chain of operators applied to a crop, left to right."""

    name: str
    chain: tuple[tuple[str, Any], ...]

    def apply(self, crop: np.ndarray) -> np.ndarray:
        out = crop
        for op_name, params in self.chain:
            fn, _default = OPERATORS[op_name]
            out = fn(out, params)
        return out

    def describe(self) -> str:
        return describe(self.chain)


def describe(chain: tuple[tuple[str, Any], ...]) -> str:
    """``flatten(sigma=1.0)+clahe(clip=2.0,tiles=4)``: the parameters as recorded in provenance."""
    parts = []
    for name, params in chain:
        args = ",".join(f"{k}={v}" for k, v in asdict(params).items())
        parts.append(f"{name}({args})")
    return "+".join(parts)


def variant(name: str, *ops: str) -> Variant:
    """A variant from operator names with their default parameters."""
    return Variant(name, tuple((op, OPERATORS[op][1]) for op in ops))


# Every variant the pipeline knows; which of them run by default is ReadOptions.variants.
VARIANTS: dict[str, Variant] = {v.name: v for v in (
    variant("flatten", "flatten"),
    variant("clahe", "clahe"),
    variant("flatten+clahe", "flatten", "clahe"),
    variant("deglare", "deglare"),
    variant("relief", "relief"),
    variant("join_dots", "join_dots"),
    variant("invert", "invert"),
    variant("sharpen", "sharpen"),
)}
