"""Text masks and marking methods: how letters become relief, colour and gloss on a plate.

A *mask* is a float32 array in 0..1 where the tool touched the surface. A method turns it into
changes of the surface maps; :func:`shade` lights the maps into an RGB picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw

from benchmarks.synth import fonts
from benchmarks.synth.surfaces import SurfaceMaps

Rng = np.random.Generator
F32 = np.float32

METHODS = ("stamped", "engraved", "laser", "dot-peen", "moulded", "printed")
HERSHEY = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_PLAIN)


@dataclass(frozen=True, slots=True)
class TextStyle:
    """How one line is drawn."""

    font: str  # path of a TrueType face ('' = Hershey single-stroke)
    size: int  # pixels, roughly the cap height plus a little
    spacing: float  # extra advance between characters, in pixels
    kind: str = "font"  # font | hand | dots | hershey
    hershey: int = 0
    thickness: int = 1  # hershey stroke width
    jitter: float = 0.0  # hand stamping: per-character misalignment (fraction of size)
    pad: int = 4  # margin kept around the ink (room for relief shading)


@dataclass(frozen=True, slots=True)
class LineMask:
    mask: np.ndarray  # float32, the whole array is the line's box (ink plus pad)


def _draw_glyph(ch: str, font_path: str, size: int) -> tuple[np.ndarray, float, int]:
    """One character as float mask on a box of height ~1.5 size; returns (mask, advance, top)."""
    font = fonts.load(font_path, size)
    adv = float(font.getlength(ch))
    h = int(size * 1.6) + 4
    w = max(1, int(adv + size * 0.6) + 4)
    img = Image.new("L", (w, h), 0)
    ImageDraw.Draw(img).text((2, 2), ch, font=font, fill=255)
    return np.asarray(img, dtype=F32) / 255.0, adv, 2


# A classic 5x7 dot-matrix alphabet (rows top to bottom, 5 columns each); other characters are
# derived from a TrueType glyph by :func:`dot_cells`.
DOT_MATRIX: dict[str, str] = {
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000",
    "П": "11111 10001 10001 10001 10001 10001 10001",
    "Д": "00110 01010 01010 01010 01010 11111 10001",
    "Л": "00111 01001 01001 01001 01001 01001 10001",
    "Б": "11111 10000 10000 11110 10001 10001 11110",
    "Г": "11111 10000 10000 10000 10000 10000 10000",
    "Ц": "10010 10010 10010 10010 10010 11111 00001",
    "Ч": "10001 10001 10001 01111 00001 00001 00001",
    "Ш": "10101 10101 10101 10101 10101 10101 11111",
    "У": "10001 10001 10001 01111 00001 10001 01110",
    "И": "10001 10001 10011 10101 11001 10001 10001",
    "Ф": "00100 01110 10101 10101 10101 01110 00100",
    "Ж": "10101 10101 01110 00100 01110 10101 10101",
    "З": "01110 10001 00001 00110 00001 10001 01110",
}
# Cyrillic letters drawn like their Latin look-alikes
for _cyr, _lat in zip("АВЕКМНОРСТХ", "ABEKMHOPCTX", strict=True):
    DOT_MATRIX[_cyr] = DOT_MATRIX[_lat]


@lru_cache(maxsize=512)
def dot_cells(ch: str, font_path: str) -> tuple[tuple[int, int], ...]:
    """Cells (col, row) of a 5x7 dot-matrix glyph: from :data:`DOT_MATRIX`, else derived from
    a TrueType glyph."""
    pattern = DOT_MATRIX.get(ch.upper() if ch.isalpha() and ch.upper() in DOT_MATRIX else ch)
    if pattern is not None:
        return tuple((c, r) for r, row in enumerate(pattern.split()) for c, bit in enumerate(row) if bit == "1")
    font = fonts.load(font_path, 70)
    img = Image.new("L", (120, 120), 0)
    ImageDraw.Draw(img).text((20, 10), ch, font=font, fill=255)
    a = np.asarray(img, dtype=F32) / 255.0
    _l, top, _r, bottom = font.getbbox("H")
    y0, y1 = 10 + top, 10 + bottom
    _ys, xs = np.nonzero(a > 0.3)
    if xs.size == 0:
        return ()
    cx = (xs.min() + xs.max()) / 2
    half = (y1 - y0) * 5 / 14
    x0 = round(cx - half)
    box = a[y0:y1, max(0, x0) : max(0, x0) + int(2 * half)]
    if box.size == 0:
        return ()
    grid = cv2.resize(box, (5, 7), interpolation=cv2.INTER_AREA)
    return tuple((int(c), int(r)) for r, c in zip(*np.nonzero(grid > 0.28), strict=True))


def render_line(text: str, style: TextStyle, rng: Rng) -> LineMask:
    """Draw one line into its own array; the array is trimmed to the ink plus ``style.pad``."""
    size = style.size
    est_w = int(len(text) * (size * 1.2 + style.spacing + 4)) + 4 * size + 8
    h = int(size * 2.2) + 8
    canvas = np.zeros((h, est_w), F32)
    x = float(size * 0.5)
    base_y = int(size * 0.4)
    for ch in text:
        if ch == " ":
            x += size * 0.35 + style.spacing * 1.5
            continue
        if style.kind == "dots":
            pitch = size / 7.0
            r = max(1, round(pitch * 0.42))
            layer = np.zeros((h, int(pitch * 6) + 4 * r + 4), np.uint8)
            for c, row in dot_cells(ch, style.font):
                cx = round(2 * r + c * pitch)
                cy = round(base_y + row * pitch + r)
                cv2.circle(layer, (cx, cy), r, 255, -1, cv2.LINE_AA)
            glyph = layer.astype(F32) / 255.0
            adv = pitch * 6
            gx, gy = int(x), 0
        elif style.kind == "hershey":
            scale = size / 22.0
            (tw, _th), _ = cv2.getTextSize(ch, style.hershey, scale, style.thickness)
            layer = np.zeros((h, tw + 2 * style.thickness + 6), np.uint8)
            cv2.putText(layer, ch, (3, base_y + size), style.hershey, scale, 255, style.thickness,
                        cv2.LINE_AA)
            glyph = layer.astype(F32) / 255.0
            adv = float(tw)
            gx, gy = int(x), 0
        else:
            glyph, adv, top = _draw_glyph(ch, style.font, size)
            gx, gy = int(x), base_y - top
            if style.kind == "hand" and style.jitter > 0:
                ang = float(rng.normal(0, 4.0 * style.jitter / 0.1))
                gh, gw = glyph.shape
                m = cv2.getRotationMatrix2D((gw / 2, gh / 2), ang, 1.0)
                glyph = np.asarray(cv2.warpAffine(glyph, m, (gw, gh)), F32)
                gy += round(rng.normal(0, style.jitter * size))
                gx += round(rng.normal(0, style.jitter * size * 0.5))
        gh, gw = glyph.shape
        gy = max(0, min(gy, h - gh))
        gx = max(0, gx)
        if gx + gw > canvas.shape[1]:
            canvas = np.pad(canvas, ((0, 0), (0, gx + gw - canvas.shape[1] + size)))
        region = canvas[gy : gy + gh, gx : gx + gw]
        np.maximum(region, glyph[: region.shape[0], : region.shape[1]], out=region)
        x += adv + style.spacing
    ys, xs = np.nonzero(canvas > 0.02)
    if xs.size == 0:
        return LineMask(np.zeros((2 * style.pad + 2, 2 * style.pad + 2), F32))
    crop = canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return LineMask(np.pad(crop, style.pad))


def paste(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """``dst = max(dst, src)`` at (x, y), clipped to ``dst``."""
    h, w = src.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(dst.shape[1], x + w), min(dst.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    region = dst[y0:y1, x0:x1]
    np.maximum(region, src[y0 - y : y1 - y, x0 - x : x1 - x], out=region)


# --- marking methods ------------------------------------------------------------------------------
def relief_extent(method: str, size: int) -> int:
    """How far (pixels) the method's relief and shading reach beyond the ink."""
    if method in ("stamped", "moulded"):
        return int(np.ceil(0.12 * size)) + 3
    if method in ("engraved", "dot-peen"):
        return int(np.ceil(0.06 * size)) + 2
    return 2


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.1:
        return a
    return np.asarray(cv2.GaussianBlur(a, (0, 0), sigma), F32)


def apply_method(maps: SurfaceMaps, mask: np.ndarray, method: str, size: int, rng: Rng,
                 variant: str = "") -> str:
    """Change ``maps`` where ``mask`` is set; returns the variant used (e.g. laser dark/frosted)."""
    m = mask.astype(F32)
    if method == "stamped":
        sigma = max(0.6, 0.03 * size)
        depth = float(rng.uniform(0.6, 1.6)) * max(1.0, 0.05 * size)
        soft = _blur(m, sigma)
        ring = _blur(cv2.dilate(m, np.ones((3, 3), np.uint8), iterations=max(1, size // 25)), sigma * 1.5)
        maps.height -= depth * soft
        maps.height += 0.25 * depth * np.clip(ring - soft, 0, 1)  # raised burr along the edges
        dirt = float(rng.uniform(0.45, 1.0))  # oil and dirt collect in the letters
        maps.albedo *= (1 - (1 - dirt) * soft)[..., None]
        maps.spec *= 1 - 0.5 * soft
        return variant or "relief"
    if method == "engraved":
        dist = cv2.distanceTransform((m > 0.5).astype(np.uint8), cv2.DIST_L2, 3).astype(F32)
        groove = np.clip(dist / max(1.0, float(dist.max()) * 0.8), 0, 1)
        groove = _blur(np.maximum(groove, 0.6 * m), 0.7)
        depth = float(rng.uniform(0.8, 2.0)) * max(1.0, 0.03 * size)
        maps.height -= depth * groove
        cut = np.array(maps.metal_bright, F32)
        if maps.name in ("stainless", "brushed"):
            # on bright metal the cut shows by its relief and the dirt left in the groove
            maps.albedo *= (1 - float(rng.uniform(0.15, 0.5)) * _blur(m, 0.5))[..., None]
        else:
            amount = float(rng.uniform(0.4, 0.9))
            maps.albedo += (cut - maps.albedo) * (amount * _blur(m, 0.5))[..., None]
        return variant or "cut"
    if method == "laser":
        # light (frosted) marks where they contrast: anodised, blued, polymer; dark elsewhere
        light_share = 0.8 if maps.name in ("anodised", "blued", "polymer") else 0.2
        v = variant or ("frosted" if rng.random() < light_share else "dark")
        s = _blur(m, 0.5)
        if v == "dark":
            level = float(rng.uniform(0.08, 0.35))
            maps.albedo *= (1 - (1 - level) * s)[..., None]
            maps.spec *= 1 - 0.7 * s
        else:
            tone = float(rng.uniform(0.55, 0.9))
            grain = rng.standard_normal(m.shape).astype(F32) * 0.05
            target = np.clip(tone + grain, 0, 1)[..., None] * np.array([1.0, 1.0, 1.02], F32)
            maps.albedo += (target - maps.albedo) * (float(rng.uniform(0.5, 0.95)) * s)[..., None]
            maps.spec *= 1 - 0.8 * s
        maps.height -= 0.25 * s
        return v
    if method == "dot-peen":
        depth = float(rng.uniform(0.6, 1.4)) * max(1.0, 0.04 * size)
        crater = _blur(m, max(0.6, 0.02 * size))
        maps.height -= depth * crater
        maps.albedo *= (1 - float(rng.uniform(0.1, 0.5)) * crater)[..., None]
        return variant or "dots"
    if method == "moulded":
        sigma = max(0.6, 0.025 * size)
        height = float(rng.uniform(0.6, 1.5)) * max(1.0, 0.05 * size)
        soft = _blur(m, sigma)
        maps.height += height * soft
        maps.albedo *= (1 + float(rng.uniform(0.0, 0.25)) * soft)[..., None]  # worn tops
        return variant or "raised"
    if method == "printed":
        ink = np.array([0.05, 0.05, 0.06], F32) if variant != "white" else np.array([0.92] * 3, F32)
        s = _blur(m, 0.4)
        maps.albedo += (ink - maps.albedo) * (0.95 * s)[..., None]
        maps.spec *= 1 - 0.5 * s
        return variant or "black"
    raise ValueError(f"unknown method {method!r}")


def shade(maps: SurfaceMaps, azimuth: float, elevation: float, ambient: float,
          light: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Light the plate from one side (``azimuth`` radians in the image plane, ``elevation`` above
    it): relief shows as shadow on one side and highlight on the other."""
    gx = cv2.Sobel(maps.height, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(maps.height, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    norm = np.sqrt(gx * gx + gy * gy + 1.0)
    lx = np.cos(elevation) * np.cos(azimuth)
    ly = np.cos(elevation) * np.sin(azimuth)
    lz = np.sin(elevation)
    ndotl = (-gx * lx - gy * ly + lz) / norm
    diffuse = np.clip(ndotl, 0, None) * ((1 - ambient) / max(lz, 0.2) * 0.85)
    hx, hy, hz = lx, ly, lz + 1.0
    hn = np.sqrt(hx * hx + hy * hy + hz * hz)
    ndoth = np.clip((-gx * hx - gy * hy + hz) / (norm * hn), 0, 1)
    spec = maps.spec * cv2.pow(np.asarray(ndoth, F32), float(maps.shininess))
    col = np.array(light, F32)
    out = maps.albedo * (ambient + diffuse)[..., None] * col + (spec[..., None] * col)
    return np.asarray(out, F32)
