"""The photo with the regions found and the readings drawn on it (a new image; the original is untouched)."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vision.intake import decode

_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",  # Latin, Cyrillic and Greek glyphs
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
CONFIDENT = (40, 220, 90)
UNSURE = (255, 170, 0)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def render_overlay(original: bytes, result: dict[str, Any], max_side: int = 2048,
                   max_pixels: int = 60_000_000) -> bytes:
    """PNG of the upright photo (reduced to ``max_side``) with each line's quad and reading."""
    image = decode(original, max_pixels=max_pixels, max_bytes=max(len(original), 1))
    out = io.BytesIO()
    draw_overlay(image.bgr, result, max_side).save(out, "PNG", optimize=False)
    return out.getvalue()


def draw_overlay(bgr: np.ndarray, result: dict[str, Any], max_side: int = 2048) -> Image.Image:
    """A new RGB image: the upright photo ``bgr`` reduced to ``max_side``, with each line's quad
    and reading from ``result`` (``api.serialize.recognition_to_dict``) drawn on it."""
    h, w = bgr.shape[:2]
    scale = min(1.0, max_side / max(w, h))
    if scale < 1.0:
        # reduce before converting: a 12 MP photo is never copied at full size for a preview
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    rgb = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    draw = ImageDraw.Draw(rgb)
    width = max(2, round(max(rgb.width, rgb.height) / 500))
    font = _font(max(12, round(max(rgb.width, rgb.height) / 60)))
    serial_lines = {i for m in result.get("marks", []) if m.get("kind") == "serial" for i in m.get("lines", [])}
    for i, line in enumerate(result.get("lines", [])):
        pts = [(float(x) * scale, float(y) * scale) for x, y in line.get("quad", [])]
        if len(pts) != 4:
            continue
        colour = CONFIDENT if float(line.get("confidence", 0.0)) >= 0.6 else UNSURE
        draw.polygon(pts, outline=colour, width=width * (2 if i in serial_lines else 1))
        label = f"{i + 1}: {line.get('text', '')}  {float(line.get('confidence', 0.0)):.2f}"
        x = min(p[0] for p in pts)
        y = min(p[1] for p in pts)
        box = draw.textbbox((0, 0), label, font=font)
        th = box[3] - box[1]
        ty = y - th - 2 * width if y - th - 2 * width >= 0 else max(p[1] for p in pts) + width
        draw.rectangle((x, ty, x + box[2] - box[0] + 2 * width, ty + th + 2 * width), fill=(0, 0, 0))
        draw.text((x + width, ty + width - box[1]), label, font=font, fill=colour)
    return rgb
