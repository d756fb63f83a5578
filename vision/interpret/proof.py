"""Proof and import marks: nearest-neighbour matching of symbol crops against a reference gallery.

The gallery is a folder with one sub-folder per mark::

    gallery/
      gallery.json                 optional: {"threshold": 0.82, "margin": 0.02,
                                   "relaxed_threshold": 0.76, "clear_margin": 0.15}
      de-eagle-n/
        mark.json                  {"name": ..., "country": "DE", "kind": "proof", "letters": "N", ...}
        ref-1.png, ref-2.png ...   reference crops (any size, dark or light symbol)

Users add a mark by adding a folder; no code changes. The descriptor is a HOG of the symbol
binarised (Otsu, polarity chosen so the symbol is foreground), cropped to its extent, padded square
and resized, plus a coarse occupancy grid; both are unit vectors, compared by cosine similarity.
References are augmented with small rotations and stroke-width changes when loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vision.types import MarkCandidate, MarkKind, Quad, TextLine

_SIZE = 48
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
UNKNOWN_MARK = "unrecognised mark"

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class MarkInfo:
    id: str
    name: str
    country: str
    kind: str = "proof"
    letters: str = ""
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SymbolMatch:
    mark: MarkInfo | None  # None: unrecognised
    similarity: float
    ranked: tuple[tuple[str, float], ...]  # (mark id, best similarity) best first


def hog(img: npt.NDArray[np.uint8], cell: int = 8, bins: int = 9) -> FloatArray:
    """Histogram of oriented gradients (unsigned, ``bins`` orientations per ``cell`` x ``cell`` cell),
    each 2x2 block of cells L2-normalised and clipped at 0.2 (Dalal-Triggs)."""
    f = img.astype(np.float32) / 255.0
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.sqrt(gx * gx + gy * gy)
    ang = (np.degrees(np.arctan2(gy, gx)) % 180.0) / (180.0 / bins)
    lo = np.floor(ang).astype(np.int64) % bins
    hi = (lo + 1) % bins
    w_hi = ang - np.floor(ang)
    ch, cw = f.shape[0] // cell, f.shape[1] // cell
    hist = np.zeros((ch, cw, bins), np.float32)
    cy = np.minimum(np.arange(f.shape[0]) // cell, ch - 1)
    cx = np.minimum(np.arange(f.shape[1]) // cell, cw - 1)
    yy, xx = np.meshgrid(cy, cx, indexing="ij")
    np.add.at(hist, (yy, xx, lo), mag * (1.0 - w_hi))
    np.add.at(hist, (yy, xx, hi), mag * w_hi)
    blocks = []
    for by in range(ch - 1):
        for bx in range(cw - 1):
            v = hist[by: by + 2, bx: bx + 2].ravel()
            v = v / (float(np.linalg.norm(v)) + 1e-6)
            v = np.minimum(v, 0.2)
            blocks.append(v / (float(np.linalg.norm(v)) + 1e-6))
    return np.concatenate(blocks).astype(np.float32)


def symbol_mask(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Binary mask (255 = symbol) of a crop; polarity chosen so the border is mostly background."""
    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    _, bw = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = np.concatenate([bw[0, :], bw[-1, :], bw[:, 0], bw[:, -1]])
    if float(np.mean(border > 0)) > 0.5:
        bw = cv2.bitwise_not(bw)
    return np.asarray(bw, dtype=np.uint8)


def normalise_symbol(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8] | None:
    """Crop a mask to its symbol, pad to a square and resize to the descriptor size."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep_min = max(4.0, 0.02 * float(areas.max()))
    keep = [i + 1 for i, a in enumerate(areas) if a >= keep_min]
    clean = np.isin(labels, keep).astype(np.uint8) * 255
    ys, xs = np.nonzero(clean)
    if len(xs) == 0:
        return None
    crop = clean[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    h, w = crop.shape
    side = int(max(h, w) * 1.15) + 2
    canvas = np.zeros((side, side), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    canvas[y0: y0 + h, x0: x0 + w] = crop
    return np.asarray(cv2.resize(canvas, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def describe_mask(norm: npt.NDArray[np.uint8]) -> FloatArray:
    smooth = cv2.GaussianBlur(norm, (3, 3), 0)
    hog_v = hog(np.asarray(smooth, dtype=np.uint8))
    grid = cv2.resize(norm, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    parts = []
    for v in (hog_v, grid):
        nrm = float(np.linalg.norm(v))
        parts.append(v / nrm if nrm > 0 else v)
    out = np.concatenate([parts[0] * 0.8, parts[1] * 0.6]).astype(np.float32)
    nrm = float(np.linalg.norm(out))
    return out / nrm if nrm > 0 else out


def describe(crop: npt.NDArray[np.uint8]) -> FloatArray | None:
    """Descriptor of a symbol crop (grey or BGR); None when the crop holds no symbol."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    if gray.shape[0] < 8 or gray.shape[1] < 8 or int(gray.max()) - int(gray.min()) < 20:
        return None
    norm = normalise_symbol(symbol_mask(np.asarray(gray, dtype=np.uint8)))
    return None if norm is None else describe_mask(norm)


def _augment(mask: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint8]]:
    """Variants of a reference mask: small rotations (applied before cropping, so the symbol's
    extent changes as it would in a photo) and thinner/thicker strokes."""
    out: list[npt.NDArray[np.uint8]] = []
    h, w = mask.shape
    pad = max(h, w) // 4
    padded = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    ph, pw = padded.shape
    kernel = np.ones((3, 3), np.uint8)
    for angle in (-12.0, -6.0, 0.0, 6.0, 12.0):
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
        rotated = np.asarray(cv2.warpAffine(padded, m, (pw, ph), flags=cv2.INTER_LINEAR), dtype=np.uint8)
        variants = [rotated]
        if angle == 0.0:
            variants += [np.asarray(cv2.erode(rotated, kernel), np.uint8),
                         np.asarray(cv2.dilate(rotated, kernel), np.uint8)]
        for v in variants:
            norm = normalise_symbol(np.where(v > 127, 255, 0).astype(np.uint8))
            if norm is not None:
                out.append(norm)
    return out


class ProofMarkMatcher:
    """Immutable after construction; thread-safe (matching reads the gallery matrix only)."""

    def __init__(
        self,
        marks: Sequence[MarkInfo],
        descriptors: FloatArray,
        owners: Sequence[int],
        threshold: float = 0.82,
        margin: float = 0.02,
        relaxed_threshold: float = 0.76,
        clear_margin: float = 0.15,
    ):
        if len(descriptors) != len(owners):
            raise ValueError("one owner per descriptor")
        self.references = tuple(marks)
        self._desc = descriptors
        self._owners = np.asarray(owners, dtype=np.int64)
        self.threshold = threshold
        self.margin = margin
        self.relaxed_threshold = relaxed_threshold
        self.clear_margin = clear_margin

    @classmethod
    def from_folder(cls, folder: Path) -> ProofMarkMatcher:
        settings: dict[str, Any] = {}
        if (folder / "gallery.json").is_file():
            settings = json.loads((folder / "gallery.json").read_text(encoding="utf-8"))
        marks: list[MarkInfo] = []
        descs: list[FloatArray] = []
        owners: list[int] = []
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
            meta_path = sub / "mark.json"
            if not meta_path.is_file():
                continue
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            info = MarkInfo(
                id=sub.name,
                name=str(meta.get("name", sub.name)),
                country=str(meta.get("country", "")),
                kind=str(meta.get("kind", "proof")),
                letters=str(meta.get("letters", "")),
                attrs={k: str(v) for k, v in meta.items() if k not in {"name", "country", "kind", "letters"}},
            )
            refs = [p for p in sorted(sub.iterdir()) if p.suffix.lower() in _IMAGE_SUFFIXES]
            added = 0
            for ref in refs:
                img = cv2.imread(str(ref), cv2.IMREAD_GRAYSCALE)
                if img is None:
                    continue
                for variant in _augment(symbol_mask(np.asarray(img, dtype=np.uint8))):
                    descs.append(describe_mask(variant))
                    owners.append(len(marks))
                    added += 1
            if added:
                marks.append(info)
        matrix = np.stack(descs) if descs else np.zeros((0, 1), np.float32)
        return cls(marks, matrix.astype(np.float32), owners,
                   threshold=float(settings.get("threshold", 0.82)), margin=float(settings.get("margin", 0.02)),
                   relaxed_threshold=float(settings.get("relaxed_threshold", 0.76)),
                   clear_margin=float(settings.get("clear_margin", 0.15)))

    # --- matching -------------------------------------------------------------------------------

    def match(self, crop: npt.NDArray[np.uint8]) -> SymbolMatch | None:
        """Best gallery mark for a crop; ``mark`` None when nothing is close enough; None when the
        crop holds no symbol at all."""
        d = describe(crop)
        if d is None:
            return None
        if len(self.references) == 0:
            return SymbolMatch(None, 0.0, ())
        sims = self._desc @ d
        best: dict[int, float] = {}
        for owner, s in zip(self._owners.tolist(), sims.tolist(), strict=True):
            if s > best.get(owner, -1.0):
                best[owner] = float(s)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        named = tuple((self.references[i].id, round(s, 4)) for i, s in ranked)
        top, top_sim = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else -1.0
        close = top_sim >= self.threshold and top_sim - second >= self.margin
        clear = top_sim >= self.relaxed_threshold and top_sim - second >= self.clear_margin
        if close or clear:
            return SymbolMatch(self.references[top], top_sim, named)
        return SymbolMatch(None, top_sim, named)

    def marks(
        self,
        image: npt.NDArray[np.uint8],
        lines: Sequence[TextLine] = (),
        regions: Sequence[Quad] = (),
    ) -> list[MarkCandidate]:
        """Proof/import marks for explicit symbol regions and for lines that look like symbols
        (short, unreadable). Unknown symbols are reported as 'unrecognised mark' with their box."""
        todo: list[tuple[Quad, tuple[int, ...]]] = [(q, ()) for q in regions]
        for i, line in enumerate(lines):
            if looks_like_symbol(line):
                todo.append((line.quad, (i,)))
        out: list[MarkCandidate] = []
        for quad, idx in todo:
            box = crop_box(image.shape[:2], quad)
            x0, y0, x1, y1 = box
            crop = image[y0:y1, x0:x1]
            if crop.size == 0:
                continue
            m = self.match(np.asarray(crop, dtype=np.uint8))
            if m is None:
                continue
            box_text = f"box={x0},{y0},{x1},{y1}"
            names = {mk.id: mk for mk in self.references}
            alts = tuple((names[i].name, s) for i, s in m.ranked[1:4])
            if m.mark is None:
                nearest = f"; nearest={m.ranked[0][0]} {m.ranked[0][1]:.2f}" if m.ranked else ""
                out.append(MarkCandidate(MarkKind.PROOF, UNKNOWN_MARK, 0.3,
                                         alts, idx, box_text + nearest))
                continue
            kind = MarkKind.IMPORTER if m.mark.kind == "import" else MarkKind.PROOF
            detail = f"id={m.mark.id}; country={m.mark.country}; kind={m.mark.kind}; {box_text}"
            if m.mark.letters:
                detail += f"; letters={m.mark.letters}"
            out.append(MarkCandidate(kind, m.mark.name, round(m.similarity, 4), alts, idx, detail))
        return out


def looks_like_symbol(line: TextLine) -> bool:
    """A detected region whose text is not really text: at most two characters read poorly, or
    nothing alphanumeric at all."""
    alnum = [c for c in line.text if c.isalnum()]
    if not alnum:
        return True
    return len(alnum) <= 2 and line.confidence < 0.4


def crop_box(shape: tuple[int, ...], quad: Quad, pad: float = 0.1) -> tuple[int, int, int, int]:
    """Axis-aligned box (x0, y0, x1, y1) around a quad with a small margin, clipped to the image."""
    h, w = int(shape[0]), int(shape[1])
    x0, y0, x1, y1 = quad.bounds()
    px, py = (x1 - x0) * pad, (y1 - y0) * pad
    return (max(0, int(x0 - px)), max(0, int(y0 - py)), min(w, int(x1 + px + 1)), min(h, int(y1 + py + 1)))
